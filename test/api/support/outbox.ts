import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Decodes quoted-printable (soft line breaks and =XX escapes). */
export function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Where to look for a mail: a node's DATA_DIR, or every node's when several share one database — any
 * node's outbox sweep may send a mail another node queued (it is due at once), and the file
 * transport writes it into the sender's `$DATA_DIR/outbox`.
 */
export type MailDirs = string | readonly string[];

/** Every mail in `$DATA_DIR/outbox` (of each of `dataDirs`) to `email`, oldest first, as raw text. */
export function mailsTo(dataDirs: MailDirs, email: string): string[] {
  const files: { name: string; path: string }[] = [];
  for (const dataDir of typeof dataDirs === 'string' ? [dataDirs] : dataDirs) {
    const dir = join(dataDir, 'outbox');
    try {
      for (const name of readdirSync(dir)) if (name.endsWith('.eml')) files.push({ name, path: join(dir, name) });
    } catch {
      // No outbox yet on that node.
    }
  }
  files.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return files.map((file) => readFileSync(file.path, 'utf8')).filter((mail) => new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}$`, 'im').test(mail));
}

/** The invitation token of the newest invitation mail to `email`, read from the real `.eml` file. */
export function invitationToken(dataDir: MailDirs, email: string): string {
  if (mailsTo(dataDir, email).length === 0) throw new Error(`no mail to ${email} in the outbox`);
  const token = linkToken(dataDir, email, '/invite/');
  if (!token) throw new Error(`no invitation link in the mails to ${email}`);
  return token;
}

/**
 * `invitationToken` once the mail is there: an invitation answers after its mail is sent or after
 * 5 s, whichever comes first (the mail goes on in the background, `MailOutbox.deliverNow`), so on a
 * busy machine the 201 can come before the `.eml` file (CI once, PostgreSQL). Waits up to `ms`.
 */
export async function awaitInvitationToken(dataDir: MailDirs, email: string, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (mailsTo(dataDir, email).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return invitationToken(dataDir, email);
}

/**
 * The token of the newest mailed link under `path` (`/verify-email/`, `/reset-password/`) to
 * `email`, read from the real `.eml` file; null when no such mail was sent.
 */
export function linkToken(dataDir: MailDirs, email: string, path: string): string | null {
  const pattern = new RegExp(`${path.replace(/\//g, '\\/')}([A-Za-z0-9_-]{43})`);
  for (const mail of mailsTo(dataDir, email).reverse()) {
    const match = pattern.exec(decodeQuotedPrintable(mail));
    if (match) return match[1]!;
  }
  return null;
}

/**
 * Waits for a mailed link's token under `path` to `email`, other than `not` (an older link): some
 * mails (the password reset) are sent after the answer. Throws after `timeoutMs`.
 */
export async function waitForLinkToken(dataDir: MailDirs, email: string, path: string, options: { not?: string; timeoutMs?: number } = {}): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    const token = linkToken(dataDir, email, path);
    if (token !== null && token !== options.not) return token;
    if (Date.now() > deadline) throw new Error(`no ${path} link mailed to ${email}${options.not ? ' (besides the older one)' : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
