import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Decodes quoted-printable (soft line breaks and =XX escapes). */
export function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Every mail in `$DATA_DIR/outbox` to `email`, oldest first, as raw text. */
export function mailsTo(dataDir: string, email: string): string[] {
  const dir = join(dataDir, 'outbox');
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  return files.map((file) => readFileSync(join(dir, file), 'utf8')).filter((mail) => new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}$`, 'im').test(mail));
}

/** The invitation token of the newest invitation mail to `email`, read from the real `.eml` file. */
export function invitationToken(dataDir: string, email: string): string {
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
export async function awaitInvitationToken(dataDir: string, email: string, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (mailsTo(dataDir, email).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return invitationToken(dataDir, email);
}

/**
 * The token of the newest mailed link under `path` (`/verify-email/`, `/reset-password/`) to
 * `email`, read from the real `.eml` file; null when no such mail was sent.
 */
export function linkToken(dataDir: string, email: string, path: string): string | null {
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
export async function waitForLinkToken(dataDir: string, email: string, path: string, options: { not?: string; timeoutMs?: number } = {}): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    const token = linkToken(dataDir, email, path);
    if (token !== null && token !== options.not) return token;
    if (Date.now() > deadline) throw new Error(`no ${path} link mailed to ${email}${options.not ? ' (besides the older one)' : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
