/**
 * The live handshake's session read is batched (issue 18): handshakes arriving together share one
 * statement. Each must get exactly the answer it gets alone, nothing may be kept between batches (an
 * ended session is never accepted from a cache), and a batch whose read fails refuses its
 * handshakes `UNAVAILABLE` — no crash, and the next batch reads afresh.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../apps/api/src/common/domain-error.js';
import { sha256Hex } from '../../apps/api/src/common/tokens.js';
import { Database } from '../../apps/api/src/database/database.service.js';
import { MemberEntity } from '../../apps/api/src/database/entities/member.entity.js';
import { SessionEntity } from '../../apps/api/src/database/entities/session.entity.js';
import { SessionsService, type LiveSessionAuth } from '../../apps/api/src/database/sessions.service.js';
import { startApp, type TestApp } from './support/app.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { connect, connected } from './support/live.js';

let app: TestApp;
let api: Client;
let sessions: SessionsService;
let db: Database;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
  sessions = app.app.get(SessionsService);
  db = app.app.get(Database);
});
afterAll(() => app.close());
afterEach(() => vi.restoreAllMocks());

type Verdict =
  | { ok: true; sessionId: string; memberId: string; roleId: string; status: string }
  | { ok: false; code: string; message: string; details: unknown }
  | { ok: false; crashed: string };

const verdict = (attempt: Promise<LiveSessionAuth>): Promise<Verdict> =>
  attempt.then(
    (auth) => ({
      ok: true,
      sessionId: auth.session.id,
      memberId: auth.member.id,
      roleId: auth.member.roleId,
      status: auth.member.status,
    }),
    (error: unknown) =>
      error instanceof DomainError
        ? { ok: false, code: error.code, message: error.message, details: error.details }
        : { ok: false, crashed: String(error) },
  );

/**
 * The batcher's own statement (`readLiveRows`), spied on: a spy on `db.read` also meets the app's
 * background polls (webhooks, the mail outbox), which on a busy machine land inside the window — a
 * fourth read counted, or a failure meant for the batch taken by a poll (both failed once in CI).
 */
const liveReads = () =>
  vi.spyOn(sessions as unknown as { readLiveRows: (hashes: readonly string[]) => Promise<unknown> }, 'readLiveRows');

const signIn = async (email: string): Promise<string> =>
  (await api.post<{ token: string }>('/auth/sign-in', { email, password: PASSWORD })).body.token;

/** Five sessions, each refused (or not) for a different reason. */
async function fiveSessions(): Promise<Record<string, string>> {
  const owner = await createAccount(api, { plan: 'business' });
  const signedOut = await signIn(owner.email);
  expect((await api.post('/auth/sign-out', undefined, { token: signedOut })).status).toBeLessThan(300);
  const idle = await signIn(owner.email);
  await db.dataSource
    .getRepository(SessionEntity)
    .update({ tokenHash: sha256Hex(idle) }, { lastSeenAt: new Date(Date.now() - 30 * 86_400_000).toISOString() });
  const revoked = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor });
  const revoke = await api.post(`/users/${revoked.member.id}/revoke`, undefined, {
    token: owner.token,
    headers: ifMatch(revoked.member.version),
  });
  expect(revoke.status).toBe(200);
  // A membership no longer active whose session was not ended (the check of its own).
  const inactive = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.readonly });
  await db.dataSource.getRepository(MemberEntity).update({ id: inactive.member.id }, { status: 'revoked' });
  return {
    valid: owner.token,
    signedOut,
    idle,
    memberRevoked: revoked.token,
    memberInactive: inactive.token,
    unknown: 'u'.repeat(43),
  };
}

describe('SessionsService.authenticateLive, batched', () => {
  it('answers each handshake of one batch exactly as it is answered alone, in one statement', async () => {
    const tokens = await fiveSessions();
    const hashes = Object.values(tokens).map(sha256Hex);
    const alone: Verdict[] = [];
    for (const hash of hashes) alone.push(await verdict(sessions.authenticateLive(hash)));
    // Each alone gets its own answer (so a batch that mixed them up would show).
    expect(alone.map((v) => ('code' in v ? `${v.code}:${JSON.stringify(v.details ?? null)}` : v.ok))).toEqual([
      true,
      'SESSION_REVOKED:{"reason":"signed_out"}',
      'UNAUTHENTICATED:{"reason":"expired"}',
      expect.stringMatching(/^SESSION_REVOKED:/),
      'SESSION_REVOKED:{"reason":"member_revoked"}',
      'UNAUTHENTICATED:null',
    ]);

    const reads = liveReads();
    const together = await Promise.all(hashes.map((hash) => verdict(sessions.authenticateLive(hash))));
    expect(reads).toHaveBeenCalledTimes(1);
    expect(together).toEqual(alone);
    // In another order, with the valid one twice: the same answers.
    const shuffled = [hashes[5]!, hashes[0]!, hashes[3]!, hashes[0]!, hashes[1]!, hashes[4]!, hashes[2]!];
    const again = await Promise.all(shuffled.map((hash) => verdict(sessions.authenticateLive(hash))));
    expect(reads).toHaveBeenCalledTimes(2);
    expect(again).toEqual([alone[5], alone[0], alone[3], alone[0], alone[1], alone[4], alone[2]]);
  });

  it('keeps nothing between batches: a session ended just before its batch is refused', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const other = await signIn(owner.email);
    const first = await Promise.all([owner.token, other].map((t) => verdict(sessions.authenticateLive(sha256Hex(t)))));
    expect(first.map((v) => v.ok)).toEqual([true, true]);
    expect((await api.post('/auth/sign-out', undefined, { token: other })).status).toBeLessThan(300);
    const second = await Promise.all([owner.token, other].map((t) => verdict(sessions.authenticateLive(sha256Hex(t)))));
    expect(second[0]).toEqual(first[0]);
    expect(second[1]).toMatchObject({ ok: false, code: 'SESSION_REVOKED' });
  });

  it('reads at most 200 handshakes a statement', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const reads = liveReads();
    const answers = await Promise.all(
      Array.from({ length: 450 }, (_, i) =>
        verdict(sessions.authenticateLive(i % 2 ? sha256Hex(owner.token) : sha256Hex(`x${i}`.padEnd(43, 'x')))),
      ),
    );
    // 200 handshakes a statement (the owner's hash, asked by half of them, once per statement).
    expect(reads.mock.calls.map(([hashes]) => hashes.length)).toEqual([101, 101, 26]);
    expect(answers.filter((v) => v.ok)).toHaveLength(225);
    expect(answers.filter((v) => 'code' in v && v.code === 'UNAUTHENTICATED')).toHaveLength(225);
  });

  it('refuses every handshake of a batch whose read fails UNAVAILABLE, and reads the next batch afresh', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const other = await signIn(owner.email);
    liveReads().mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    const failed = await Promise.all([owner.token, other].map((t) => verdict(sessions.authenticateLive(sha256Hex(t)))));
    expect(failed).toEqual([
      expect.objectContaining({ ok: false, code: 'UNAVAILABLE', details: { retryAfterSeconds: 1 } }),
      expect.objectContaining({ ok: false, code: 'UNAVAILABLE', details: { retryAfterSeconds: 1 } }),
    ]);
    const next = await Promise.all([owner.token, other].map((t) => verdict(sessions.authenticateLive(sha256Hex(t)))));
    expect(next.map((v) => v.ok)).toEqual([true, true]);
  });
});

describe('live handshakes arriving together', () => {
  it('each socket gets the refusal (or the welcome) it gets alone', async () => {
    const tokens = Object.values(await fiveSessions());
    const outcome = (token: string) =>
      connected(connect(app.url, token)).then(
        (socket) => {
          socket.disconnect();
          return 'connected';
        },
        (error: Error) => error.message,
      );
    const alone: string[] = [];
    for (const token of tokens) alone.push(await outcome(token));
    expect(alone).toEqual([
      'connected',
      'SESSION_REVOKED',
      'UNAUTHENTICATED',
      'SESSION_REVOKED',
      'SESSION_REVOKED',
      'UNAUTHENTICATED',
    ]);
    expect(await Promise.all(tokens.map(outcome))).toEqual(alone);
  });

  it('a failed read refuses its handshakes UNAVAILABLE (clients retry) and the node keeps serving', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    liveReads().mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    await expect(connected(connect(app.url, owner.token))).rejects.toThrow('UNAVAILABLE');
    const socket = await connected(connect(app.url, owner.token));
    expect(socket.connected).toBe(true);
    socket.disconnect();
    expect((await api.get('/me', { token: owner.token })).status).toBe(200);
  });
});
