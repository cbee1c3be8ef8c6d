import type { MemberDetailDto } from '@rolecall/contracts';
import Sqlite from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, usingPostgres } from './support/app.js';
import { query } from './support/db.js';
import { createAccount, ifMatch, invite, uniqueEmail } from './support/factories.js';
import { client } from './support/http.js';
import { freePort, sharedDatabase, startNode, type ApiNode } from './support/nodes.js';
import { invitationToken, mailsTo } from './support/outbox.js';
import { startTcpProxy } from './support/tcp-proxy.js';

/**
 * The mail outbox (issue 14 §3): transactional mails are written in the transaction of the change
 * and sent after commit, retried with back-off and on start-up. Real API processes (the built
 * `apps/api/dist/main.js`), a real SMTP server behind a TCP proxy the test cuts, a real `kill -9`.
 * With DATABASE_URL the nodes share a fresh PostgreSQL database (and two nodes race for the mails).
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function database(): Promise<Record<string, string>> {
  if (!usingPostgres) return {};
  const db = await sharedDatabase(process.env['DATABASE_URL']!);
  cleanups.push(db.drop);
  return { DATABASE_URL: db.url };
}

async function node(env: Record<string, string>): Promise<ApiNode> {
  const started = await startNode(env);
  cleanups.push(() => started.stop());
  return started;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every row of the outbox, read straight from the database (SQLite file or PostgreSQL). */
async function outboxRows(env: Record<string, string>, dataDir: string): Promise<Record<string, unknown>[]> {
  if (env['DATABASE_URL']) {
    const connection = new pg.Client({ connectionString: env['DATABASE_URL'] });
    await connection.connect();
    try {
      return (await connection.query('SELECT * FROM mail_outbox')).rows as Record<string, unknown>[];
    } finally {
      await connection.end();
    }
  }
  const sqlite = new Sqlite(join(dataDir, 'rolecall.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return sqlite.prepare('SELECT * FROM mail_outbox').all() as Record<string, unknown>[];
  } finally {
    sqlite.close();
  }
}

async function memberDetail(url: string, token: string, id: string): Promise<MemberDetailDto> {
  const reply = await client(url).get<MemberDetailDto>(`/users/${id}`, { token });
  expect(reply.status).toBe(200);
  return reply.body;
}

/** A real SMTP server that records each message's recipients and raw text. */
async function smtpServer(): Promise<{ port: number; received: { to: string[]; data: string }[]; close: () => Promise<void> }> {
  const received: { to: string[]; data: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        callback();
      });
    },
  });
  // The TCP proxy in front of it resets connections on purpose: a peer's reset is the fault under
  // test, not the server's (an SMTPServer without an 'error' listener throws it out of the process).
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('mail outbox', () => {
  it('says sent as soon as the invitation answers, and a resend replaces the mail and its link', async () => {
    const app = await startApp();
    cleanups.push(() => app.close());
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business' });
    const email = uniqueEmail('inline');
    const invited = await invite(api, owner, [email]);
    expect(invited.status).toBe(201);
    const member = invited.body.items[0]!;
    const first = await memberDetail(app.url, owner.token, member.id);
    expect(first.invitationMail).toMatchObject({ status: 'sent', attempts: 1, lastError: null, nextAttemptAt: null });
    const oldToken = invitationToken(app.config.dataDir, email);
    const resent = await api.post(`/users/${member.id}/resend-invitation`, undefined, { token: owner.token, headers: ifMatch(first.version) });
    expect(resent.status).toBe(200);
    const newToken = invitationToken(app.config.dataDir, email);
    expect(newToken).not.toBe(oldToken);
    expect((await memberDetail(app.url, owner.token, member.id)).invitationMail).toMatchObject({ status: 'sent', attempts: 1 });
    // One row per invited member (the resend replaced it), bodies wiped once sent.
    const rows = await query<{ status: string; text: string | null }>(app, 'SELECT status, text FROM mail_outbox WHERE member_id = ?', [member.id]);
    expect(rows).toEqual([{ status: 'sent', text: null }]);
    // Verification and reset mails leave nothing behind once sent.
    await app.mailSettled();
    expect(await query(app, "SELECT id FROM mail_outbox WHERE kind <> 'invitation'")).toEqual([]);
  });

  it('delivers an invitation committed just before a crash (kill -9) once the API is back', async () => {
    const db = await database();
    // Nothing listens on this port: every SMTP attempt of the first process fails at once.
    const deadSmtp = `smtp://127.0.0.1:${await freePort()}`;
    const first = await node({ ...db, SMTP_URL: deadSmtp });
    const api = client(first.url);
    const owner = await createAccount(api, { accountName: 'Crashco', plan: 'business' });
    const email = uniqueEmail('crash');
    const invited = await invite(api, owner, [email]);
    expect(invited.status).toBe(201);
    const memberId = invited.body.items[0]!.id;

    first.process.kill('SIGKILL');
    await until('the first process to die', () => first.process.exitCode !== null || first.process.signalCode !== null);
    expect(mailsTo(first.dataDir, email)).toHaveLength(0);

    // Same data, working mail (the outbox folder): the start-up sweep sends what was left.
    const second = await node({ ...db, DATA_DIR: first.dataDir });
    const token = await until('the invitation mail', () => (mailsTo(first.dataDir, email).length > 0 ? invitationToken(first.dataDir, email) : null));
    expect((await client(second.url).get(`/invitations/${token}`)).status).toBe(200);
    const detail = await until('GET /users/:id to say sent', async () => {
      const member = await memberDetail(second.url, owner.token, memberId);
      return member.invitationMail?.status === 'sent' ? member : null;
    });
    expect(detail.invitationMail).toMatchObject({ status: 'sent', attempts: 2 });
    expect(Date.parse(detail.invitationMail!.sentAt!)).not.toBeNaN();
    expect(mailsTo(first.dataDir, email)).toHaveLength(1);
    // Once sent, no copy of the link is left in the database (tokens are stored only hashed).
    const rows = await outboxRows(db, first.dataDir);
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(token);
  }, 60_000);

  it('retries with back-off while the SMTP server is down, delivers once it is back, and says so', async () => {
    const db = await database();
    const smtp = await smtpServer();
    cleanups.push(smtp.close);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: smtp.port });
    cleanups.push(() => proxy.close());
    const apiNode = await node({ ...db, SMTP_URL: `smtp://127.0.0.1:${proxy.port}`, MAIL_RETRY_BASE_MS: '200', MAIL_MAX_ATTEMPTS: '50' });
    const api = client(apiNode.url);
    const owner = await createAccount(api, { accountName: 'Downco', plan: 'business' });
    await until('the sign-up verification mail', () => smtp.received.some((mail) => mail.to.includes(owner.email)));

    await proxy.refuse();
    const email = uniqueEmail('down');
    const invited = await invite(api, owner, [email]);
    expect(invited.status).toBe(201);
    const memberId = invited.body.items[0]!.id;
    const failing = await until('a failed attempt to show', async () => {
      const member = await memberDetail(apiNode.url, owner.token, memberId);
      return (member.invitationMail?.attempts ?? 0) >= 2 ? member : null;
    });
    expect(failing.invitationMail).toMatchObject({ status: 'pending', sentAt: null });
    expect(failing.invitationMail!.lastError).toMatch(/ECONNREFUSED|connect/i);

    await proxy.restore();
    const sent = await until('the retried mail to be sent', async () => {
      const member = await memberDetail(apiNode.url, owner.token, memberId);
      return member.invitationMail?.status === 'sent' ? member : null;
    });
    expect(sent.invitationMail!.lastError).toBeNull();
    const toInvitee = smtp.received.filter((mail) => mail.to.includes(email));
    expect(toInvitee).toHaveLength(1);
    expect(toInvitee[0]!.data).toContain('Downco');
  }, 60_000);

  it('gives up after the last attempt, marks the mail failed and wipes its link', async () => {
    const db = await database();
    const apiNode = await node({ ...db, SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, MAIL_RETRY_BASE_MS: '100', MAIL_MAX_ATTEMPTS: '3' });
    const api = client(apiNode.url);
    const owner = await createAccount(api, { plan: 'business' });
    const invited = await invite(api, owner, [uniqueEmail('never')]);
    expect(invited.status).toBe(201);
    const memberId = invited.body.items[0]!.id;
    const failed = await until('the mail to fail for good', async () => {
      const member = await memberDetail(apiNode.url, owner.token, memberId);
      return member.invitationMail?.status === 'failed' ? member : null;
    });
    expect(failed.invitationMail).toMatchObject({ status: 'failed', attempts: 3, sentAt: null });
    expect(failed.invitationMail!.lastError).toMatch(/ECONNREFUSED|connect/i);
    const rows = (await outboxRows(db, apiNode.dataDir)).filter((row) => row['member_id'] === memberId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failed', text: null, html: null });
    expect(apiNode.output.join('')).toMatch(/gave up/i);
    // A member who is no longer invited has no invitation mail to show.
    const owners = await memberDetail(apiNode.url, owner.token, owner.member.id);
    expect(owners.invitationMail).toBeNull();
  }, 60_000);

  describe.skipIf(!usingPostgres)('two nodes on one PostgreSQL database', () => {
    it('send each mail once when both retry the same outbox', async () => {
      const db = await database();
      const smtp = await smtpServer();
      cleanups.push(smtp.close);
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: smtp.port });
      cleanups.push(() => proxy.close());
      const env = { ...db, SMTP_URL: `smtp://127.0.0.1:${proxy.port}`, MAIL_RETRY_BASE_MS: '100', MAIL_MAX_ATTEMPTS: '100' };
      const a = await node(env);
      await node(env);
      const owner = await createAccount(client(a.url), { plan: 'business' });
      await proxy.refuse();
      const emails = Array.from({ length: 8 }, () => uniqueEmail('twice'));
      expect((await invite(client(a.url), owner, emails)).status).toBe(201);
      // Let both nodes fail a few rounds, then let the mail through while both sweep every ~100 ms.
      await new Promise((resolve) => setTimeout(resolve, 800));
      await proxy.restore();
      await until('every invitation to be delivered', () => emails.every((email) => smtp.received.some((mail) => mail.to.includes(email))));
      // Give a duplicate the time to show up, then count.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const email of emails) expect(smtp.received.filter((mail) => mail.to.includes(email))).toHaveLength(1);
    }, 60_000);
  });
  if (!usingPostgres) console.log('[mail-outbox] two-node test skipped: set DATABASE_URL to run two API nodes on one PostgreSQL database');
});
