import type {
  AccountDto,
  ActivityEntryDto,
  ActivityVerifyDto,
  AuthResultDto,
  InvitationPreviewDto,
  MemberDetailDto,
  MemberDto,
  MemberPageDto,
  PageDto,
} from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, usingPostgres, type TestApp } from './support/app.js';
import { query } from './support/db.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  uniqueEmail,
  type Joined,
  type SignedUp,
} from './support/factories.js';
import { client, isErrorShape, type Client, type Reply } from './support/http.js';
import { invitationToken, mailsTo } from './support/outbox.js';

/**
 * Concurrency guarantees of the user-management API, over real HTTP with requests fired at the
 * same time (`Promise.all`): optimistic concurrency never loses an update, plan limits hold when
 * invitations race, there is always exactly one owner and one billing contact, an invitation token
 * is accepted exactly once, and the activity chain stays gap-free and verifiable throughout.
 *
 * On SQLite every database access is serialised by one mutex; on PostgreSQL every account mutation
 * holds `SELECT … FOR UPDATE` on the account row. The same file runs against both (DATABASE_URL).
 *
 * Random choices come from a seeded generator; a failure message carries the seed, and
 * `CONCURRENCY_SEED=<n>` replays the same choices.
 */
let app: TestApp;
let api: Client;
let dataDir: string;

const SEED = Number(process.env['CONCURRENCY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const shuffle = <T>(items: T[]): T[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
};
const say = (what: string) => `${what} (CONCURRENCY_SEED=${SEED})`;

/** Every account this file touched, with a token of one of its current Admins, for the final check. */
const touched: { label: string; token: () => string }[] = [];

beforeAll(async () => {
  app = await startApp({
    rateLimits: {
      signInPerIp: 100_000,
      signInPerEmail: 100_000,
      invitationsPerAccount: 100_000,
      acceptancePerIp: 100_000,
    },
  });
  api = client(app.url);
  dataDir = app.config.dataDir;
});
afterAll(() => app?.close());

// ── helpers ────────────────────────────────────────────────────────────────────────────────

function expectError(reply: Reply, status: number, code: string, context = ''): void {
  expect(
    reply.status,
    say(`${context} expected ${status} ${code}, got ${reply.status} ${JSON.stringify(reply.body)}`),
  ).toBe(status);
  expect(isErrorShape(reply.body), say(`${context} error shape: ${JSON.stringify(reply.body)}`)).toBe(true);
  expect((reply.body as { error: { code: string } }).error.code).toBe(code);
}

function detailsOf(reply: Reply): Record<string, unknown> {
  return ((reply.body as { error: { details?: Record<string, unknown> } }).error.details ?? {}) as Record<
    string,
    unknown
  >;
}

async function getAccount(token: string): Promise<AccountDto> {
  const reply = await api.get<AccountDto>('/account', { token });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  expect(reply.headers.get('etag')).toBe(`"${reply.body.version}"`);
  return reply.body;
}

async function getMember(token: string, id: string): Promise<MemberDetailDto> {
  const reply = await api.get<MemberDetailDto>(`/users/${id}`, { token });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  expect(reply.headers.get('etag')).toBe(`"${reply.body.version}"`);
  return reply.body;
}

/** Every member of the account (all pages). */
async function allMembers(token: string, search = ''): Promise<MemberDto[]> {
  const items: MemberDto[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ limit: '200', ...(cursor ? { cursor } : {}) });
    if (search) params.set('q', search);
    const reply: Reply<MemberPageDto> = await api.get<MemberPageDto>(`/users?${params}`, { token });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    items.push(...reply.body.items);
    cursor = reply.body.nextCursor;
  } while (cursor);
  return items;
}

/** Every activity entry matching the filter, newest first (all pages). */
async function allActivity(token: string, filter: Record<string, string> = {}): Promise<ActivityEntryDto[]> {
  const items: ActivityEntryDto[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ limit: '200', ...filter, ...(cursor ? { cursor } : {}) });
    const reply: Reply<PageDto<ActivityEntryDto>> = await api.get<PageDto<ActivityEntryDto>>(`/activity?${params}`, {
      token,
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    items.push(...reply.body.items);
    cursor = reply.body.nextCursor;
  } while (cursor);
  return items;
}

const countActions = async (token: string, action: string, member?: string) =>
  (await allActivity(token, { action, ...(member ? { member } : {}) })).length;

/** `GET /activity/verify` is ok, and the listed seqs are exactly n, n-1, …, 1 with linked hashes. */
async function expectIntactChain(token: string, label: string): Promise<number> {
  const verify = await api.get<ActivityVerifyDto>('/activity/verify', { token });
  expect(verify.status, JSON.stringify(verify.body)).toBe(200);
  expect(verify.body, say(`${label}: activity chain`)).toEqual({
    ok: true,
    checked: expect.any(Number),
    firstBadSeq: null,
  });
  const entries = await allActivity(token);
  const seqs = entries.map((entry) => entry.seq);
  const n = seqs.length;
  expect(n, `${label}: entries listed vs verified`).toBe(verify.body.checked);
  expect(seqs, say(`${label}: seqs must be n..1 with no gap or duplicate`)).toEqual(
    Array.from({ length: n }, (_, i) => n - i),
  );
  for (let i = 0; i + 1 < n; i++)
    expect(entries[i]!.prevHash, `${label}: prevHash of seq ${entries[i]!.seq}`).toBe(entries[i + 1]!.hash);
  expect(entries.at(-1)?.prevHash).toBe('');
  return n;
}

async function signIn(email: string): Promise<string> {
  const reply = await api.post<AuthResultDto>('/auth/sign-in', { email, password: PASSWORD });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.token;
}

// ── 1. Optimistic concurrency on a member ──────────────────────────────────────────────────

describe('two admins racing on one member', () => {
  it('never lose an update: 200 rounds of fresh, ahead, stale and missing If-Match', { timeout: 300_000 }, async () => {
    const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Race Co' });
    const second = await inviteAndAccept(api, dataDir, owner, { roleId: ROLE.admin, name: 'Second Admin' });
    const target = await inviteAndAccept(api, dataDir, owner, { roleId: ROLE.editor, name: 'Tara Target' });
    touched.push({ label: 'member race', token: () => owner.token });
    const admins = [owner.token, second.token] as const;
    const id = target.member.id;

    const initial = await getMember(owner.token, id);
    const v0 = initial.version;
    // Every write flips agentAccess relative to the version it names, so the agent access at any
    // version is known (parity) and every successful write changes something (version + 1).
    const agentAt = (version: number) => ((version - v0) % 2 === 0 ? initial.agentAccess : !initial.agentAccess);
    const history = new Map<number, { roleId: string; agentAccess: boolean }>([
      [v0, { roleId: initial.role.id, agentAccess: initial.agentAccess }],
    ]);

    type Kind = 'fresh' | 'ahead' | 'stale' | 'missing';
    interface Shot {
      kind: Kind;
      admin: number;
      ifMatch: number | null;
      body: { agentAccess: boolean; roleId?: string };
    }
    let version = v0;
    let successes = 0;
    let roleChanges = 0;
    const tally: Record<string, number> = {};

    for (let round = 0; round < 200; round++) {
      const bodyFor = (at: number): Shot['body'] => {
        const roll = random();
        return roll < 0.4
          ? { agentAccess: !agentAt(at) }
          : { agentAccess: !agentAt(at), roleId: roll < 0.7 ? ROLE.editor : ROLE.readonly };
      };
      const shots: Shot[] = [
        { kind: 'fresh', admin: 0, ifMatch: version, body: bodyFor(version) },
        { kind: 'fresh', admin: 1, ifMatch: version, body: bodyFor(version) },
        { kind: 'ahead', admin: pick([0, 1]), ifMatch: version + 1, body: bodyFor(version + 1) },
        { kind: 'missing', admin: pick([0, 1]), ifMatch: null, body: bodyFor(version) },
      ];
      if (version > v0) {
        const stale = version - 1 - Math.floor(random() * Math.min(3, version - v0));
        shots.push({ kind: 'stale', admin: pick([0, 1]), ifMatch: stale, body: bodyFor(stale) });
      }
      shuffle(shots);
      const replies = await Promise.all(
        shots.map((shot) =>
          api.patch<MemberDto>(`/users/${id}`, shot.body, {
            token: admins[shot.admin]!,
            headers: shot.ifMatch === null ? {} : ifMatch(shot.ifMatch),
          }),
        ),
      );

      const won: { shot: Shot; member: MemberDto }[] = [];
      const lost: { shot: Shot; reply: Reply }[] = [];
      shots.forEach((shot, i) => {
        const reply = replies[i]!;
        tally[`${shot.kind} ${reply.status}`] = (tally[`${shot.kind} ${reply.status}`] ?? 0) + 1;
        const context = `round ${round}, ${shot.kind} If-Match ${shot.ifMatch} (current ${version}):`;
        if (shot.kind === 'missing') return expectError(reply, 428, 'PRECONDITION_REQUIRED', context);
        if (shot.kind === 'stale') return expectError(reply, 412, 'VERSION_MISMATCH', context);
        if (reply.status === 200) {
          const member = reply.body as MemberDto;
          expect(member.version, say(`${context} a write moves the version by exactly one`)).toBe(shot.ifMatch! + 1);
          expect(reply.headers.get('etag')).toBe(`"${member.version}"`);
          expect(member.agentAccess).toBe(shot.body.agentAccess);
          if (shot.body.roleId) expect(member.role.id).toBe(shot.body.roleId);
          won.push({ shot, member });
        } else {
          expectError(reply, 412, 'VERSION_MISMATCH', context);
          lost.push({ shot, reply });
        }
      });

      // Exactly one of the two fresh writes wins; an "ahead" write can only win after it.
      const freshWins = won.filter((w) => w.shot.kind === 'fresh').length;
      expect(freshWins, say(`round ${round}: exactly one fresh write wins`)).toBe(1);
      const versions = won.map((w) => w.member.version).sort((a, b) => a - b);
      expect(versions, say(`round ${round}: the winners hold consecutive, distinct versions`)).toEqual(
        Array.from({ length: won.length }, (_, i) => version + 1 + i),
      );
      for (const { shot, member } of won.sort((a, b) => a.member.version - b.member.version)) {
        const before = history.get(member.version - 1)!;
        if (shot.body.roleId && shot.body.roleId !== before.roleId) roleChanges += 1;
        history.set(member.version, { roleId: member.role.id, agentAccess: member.agentAccess });
      }
      version += won.length;
      successes += won.length;

      // Losers see the member as it is: a real version (not the one they sent), consistent with history.
      for (const { shot, reply } of lost) {
        const current = detailsOf(reply)['current'] as MemberDto | undefined;
        expect(current, say(`round ${round}: 412 carries error.details.current`)).toBeDefined();
        expect(current!.id).toBe(id);
        expect(current!.email).toBe(target.email);
        expect(current!.version).not.toBe(shot.ifMatch);
        expect(current!.version).toBeGreaterThanOrEqual(v0);
        expect(current!.version).toBeLessThanOrEqual(version);
        expect(current!.agentAccess, say(`round ${round}: 412 current is a real state`)).toBe(
          history.get(current!.version)!.agentAccess,
        );
        expect(current!.role.id).toBe(history.get(current!.version)!.roleId);
      }

      // The member now is exactly the last successful write.
      const now = await getMember(pick(admins), id);
      const last = won.at(-1)!.member;
      expect(now.version, say(`round ${round}: final version = initial + successes`)).toBe(v0 + successes);
      expect({ version: now.version, agentAccess: now.agentAccess, role: now.role, status: now.status }).toEqual({
        version: last.version,
        agentAccess: last.agentAccess,
        role: last.role,
        status: 'active',
      });
    }

    // Exactly one activity entry per aspect changed by each successful write.
    expect(await countActions(owner.token, 'user.agent_access_changed', id)).toBe(successes);
    expect(await countActions(owner.token, 'user.role_changed', id)).toBe(roleChanges);
    // The member's own session was never disturbed.
    expect((await api.get('/me', { token: target.token })).status).toBe(200);
    expect(tally['missing 428']).toBeGreaterThanOrEqual(200);
    expect(
      tally['ahead 200'] ?? 0,
      say('some "ahead" writes should have won the race after a fresh one'),
    ).toBeGreaterThan(0);
    console.log(`[concurrency] member race on ${app.database}: ${successes} writes won, ${JSON.stringify(tally)}`);
    await expectIntactChain(owner.token, 'member race');
  });
});

// ── 2. Seat and agent-seat limits under racing invitations ─────────────────────────────────

describe('racing invitations against plan limits', () => {
  /** A starter account (10 seats) with `seated` seats in use (owner + invitations). */
  async function starterWith(seated: number): Promise<SignedUp> {
    const owner = await createAccount(api, { plan: 'starter', accountName: 'Seat Co' });
    if (seated > 1) {
      const reply = await invite(
        api,
        owner,
        Array.from({ length: seated - 1 }, () => uniqueEmail('filler')),
      );
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    }
    const account = await getAccount(owner.token);
    expect(account.seats).toEqual({ limit: 10, used: seated, invited: seated - 1 });
    return owner;
  }

  it(
    '30 single invitations (and 10 dry runs) for 3 free seats: exactly 3 are created',
    { timeout: 120_000 },
    async () => {
      const owner = await starterWith(7);
      touched.push({ label: 'seat race', token: () => owner.token });
      const emails = Array.from({ length: 30 }, () => uniqueEmail('racer'));
      const dryRuns = Array.from({ length: 10 }, () => uniqueEmail('dry'));
      const [replies, previews] = await Promise.all([
        Promise.all(emails.map((email) => invite(api, owner, [email]))),
        Promise.all(
          dryRuns.map((email) =>
            api.post(
              '/users/invitations?dryRun=true',
              { emails: [email], roleId: ROLE.editor, agentAccess: false, teamIds: [] },
              { token: owner.token },
            ),
          ),
        ),
      ]);
      const created = replies.filter((r) => r.status === 201);
      expect(created.length, say('exactly the 3 free seats are taken')).toBe(3);
      for (const reply of replies) if (reply.status !== 201) expectError(reply, 409, 'SEAT_LIMIT_REACHED');
      for (const reply of created) expect(reply.body.items).toHaveLength(1);
      // A dry run always answers 200; a full plan is its `wouldFail` (issue 15).
      for (const reply of previews) {
        expect(reply.status, say('dry run')).toBe(200);
        const { wouldFail } = reply.body as InvitationPreviewDto;
        if (wouldFail) expect(wouldFail.code, say('dry run')).toBe('SEAT_LIMIT_REACHED');
      }

      const account = await getAccount(owner.token);
      expect(account.seats).toEqual({ limit: 10, used: 10, invited: 9 });
      // Nothing leaked: the winners (and only they) are members and got a mail; dry runs wrote nothing.
      const members = await allMembers(owner.token);
      const winners = created.map((r) => r.body.items[0]!.email).sort();
      expect(
        members
          .filter((m) => m.email.startsWith('racer.'))
          .map((m) => m.email)
          .sort(),
      ).toEqual(winners);
      expect(members.some((m) => m.email.startsWith('dry.'))).toBe(false);
      for (const email of emails) expect(mailsTo(dataDir, email).length, email).toBe(winners.includes(email) ? 1 : 0);
      expect(await countActions(owner.token, 'user.invited')).toBe(9);
      await expectIntactChain(owner.token, 'seat race');
    },
  );

  it(
    '20 batches of 1–4 emails for 3 free seats: all-or-nothing, never past the limit',
    { timeout: 120_000 },
    async () => {
      const owner = await starterWith(7);
      touched.push({ label: 'batch race', token: () => owner.token });
      const batches = Array.from({ length: 20 }, () =>
        Array.from({ length: 1 + Math.floor(random() * 4) }, () => uniqueEmail('batch')),
      );
      const replies = await Promise.all(batches.map((emails) => invite(api, owner, emails)));
      let taken = 0;
      const failedSizes: number[] = [];
      replies.forEach((reply, i) => {
        if (reply.status === 201) {
          expect(reply.body.items.map((m) => m.email).sort()).toEqual([...batches[i]!].sort());
          taken += batches[i]!.length;
        } else {
          expectError(reply, 409, 'SEAT_LIMIT_REACHED', `batch of ${batches[i]!.length}`);
          failedSizes.push(batches[i]!.length);
        }
      });
      expect(taken, say('never more than the free seats')).toBeLessThanOrEqual(3);
      expect(taken).toBeGreaterThan(0);
      // Usage only grows, so every refused batch still cannot fit at the end.
      for (const size of failedSizes)
        expect(size, say('a refused batch could not have fitted')).toBeGreaterThan(3 - taken);
      const account = await getAccount(owner.token);
      expect(account.seats.used).toBe(7 + taken);
      const members = await allMembers(owner.token);
      const seated = new Set(members.map((m) => m.email));
      replies.forEach((reply, i) => {
        for (const email of batches[i]!)
          expect(seated.has(email), `${email} (batch ${reply.status})`).toBe(reply.status === 201);
      });
      await expectIntactChain(owner.token, 'batch race');
    },
  );

  it(
    '30 agent invitations for the starter plan’s 3 agent seats: exactly 3 are created',
    { timeout: 120_000 },
    async () => {
      const owner = await starterWith(1);
      touched.push({ label: 'agent race', token: () => owner.token });
      const replies = await Promise.all(
        Array.from({ length: 30 }, () => invite(api, owner, [uniqueEmail('agent')], { agentAccess: true })),
      );
      const created = replies.filter((r) => r.status === 201);
      expect(created.length, say('exactly the 3 agent seats are taken')).toBe(3);
      for (const reply of replies) if (reply.status !== 201) expectError(reply, 409, 'AGENT_SEAT_LIMIT_REACHED');
      const account = await getAccount(owner.token);
      expect(account.agentSeats).toMatchObject({ limit: 3, used: 3, free: 1, billable: 2, monthlyCost: 38 });
      expect(account.seats.used).toBe(4);
      await expectIntactChain(owner.token, 'agent race');
    },
  );

  it('granting agent access and agent invitations race for the same 3 agent seats', { timeout: 120_000 }, async () => {
    const owner = await starterWith(1);
    touched.push({ label: 'agent grant race', token: () => owner.token });
    const joined: Joined[] = [];
    for (let i = 0; i < 4; i++) joined.push(await inviteAndAccept(api, dataDir, owner, { name: `Member ${i}` }));
    const grants = joined.map((j) =>
      api.patch<MemberDto>(
        `/users/${j.member.id}`,
        { agentAccess: true },
        { token: owner.token, headers: ifMatch(j.member.version) },
      ),
    );
    const invites = Array.from({ length: 4 }, () => invite(api, owner, [uniqueEmail('agent')], { agentAccess: true }));
    const replies = await Promise.all(shuffle([...grants, ...invites]));
    expect(
      replies.filter((r) => r.status === 200 || r.status === 201).length,
      say('exactly 3 agent seats handed out'),
    ).toBe(3);
    for (const reply of replies) if (reply.status >= 300) expectError(reply, 409, 'AGENT_SEAT_LIMIT_REACHED');
    const account = await getAccount(owner.token);
    expect(account.agentSeats.used).toBe(3);
    expect((await allMembers(owner.token)).filter((m) => m.agentAccess).length).toBe(3);
    await expectIntactChain(owner.token, 'agent grant race');
  });

  it('reactivations and invitations race for the last free seat', { timeout: 120_000 }, async () => {
    const owner = await starterWith(1);
    touched.push({ label: 'reactivation race', token: () => owner.token });
    const joined: Joined[] = [];
    for (let i = 0; i < 3; i++) joined.push(await inviteAndAccept(api, dataDir, owner, { name: `Leaver ${i}` }));
    const revoked: MemberDto[] = [];
    for (const j of joined) {
      const reply = await api.post<MemberDto>(`/users/${j.member.id}/revoke`, undefined, {
        token: owner.token,
        headers: ifMatch(j.member.version),
      });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      revoked.push(reply.body);
    }
    expect(
      (
        await invite(
          api,
          owner,
          Array.from({ length: 8 }, () => uniqueEmail('filler')),
        )
      ).status,
    ).toBe(201);
    expect((await getAccount(owner.token)).seats.used).toBe(9);
    const reactivations = revoked.map((m) =>
      api.post<MemberDto>(`/users/${m.id}/reactivate`, undefined, { token: owner.token, headers: ifMatch(m.version) }),
    );
    const invites = Array.from({ length: 3 }, () => invite(api, owner, [uniqueEmail('late')]));
    const replies = await Promise.all(shuffle([...reactivations, ...invites]));
    expect(replies.filter((r) => r.status < 300).length, say('exactly one takes the last seat')).toBe(1);
    for (const reply of replies) if (reply.status >= 300) expectError(reply, 409, 'SEAT_LIMIT_REACHED');
    expect((await getAccount(owner.token)).seats.used).toBe(10);
    await expectIntactChain(owner.token, 'reactivation race');
  });
});

describe('racing creations of the same thing', () => {
  it('10 invitations of one email at once: one member, the others USER_EXISTS', { timeout: 60_000 }, async () => {
    const owner = await createAccount(api, { plan: 'business', accountName: 'Twin Co' });
    touched.push({ label: 'duplicate invitation race', token: () => owner.token });
    const email = uniqueEmail('twin');
    const spellings = [email, email.toUpperCase(), `  ${email} `];
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => invite(api, owner, [spellings[i % spellings.length]!])),
    );
    expect(
      replies.filter((r) => r.status === 201).length,
      say(`one invitation: ${replies.map((r) => r.status).join(',')}`),
    ).toBe(1);
    for (const reply of replies) {
      if (reply.status === 201) continue;
      expectError(reply, 409, 'USER_EXISTS');
      expect(detailsOf(reply)['members']).toEqual([
        expect.objectContaining({ email, status: 'invited', revoked: false }),
      ]);
    }
    expect((await allMembers(owner.token, email)).length).toBe(1);
    expect((await getAccount(owner.token)).seats.used).toBe(2);
    expect(mailsTo(dataDir, email)).toHaveLength(1);
    await expectIntactChain(owner.token, 'duplicate invitation race');
  });

  it(
    '12 Talk teams at once on the starter plan (5 teams): exactly 5; one name at once: exactly 1',
    { timeout: 60_000 },
    async () => {
      const owner = await createAccount(api, { plan: 'starter', accountName: 'Team Co' });
      touched.push({ label: 'team race', token: () => owner.token });
      const account = await getAccount(owner.token);
      expect(
        (await api.patch('/account', { teamsEnabled: true }, { token: owner.token, headers: ifMatch(account.version) }))
          .status,
      ).toBe(200);
      const sameName = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          api.post('/teams', { name: i % 2 ? 'Support' : 'SUPPORT' }, { token: owner.token }),
        ),
      );
      expect(
        sameName.filter((r) => r.status === 201).length,
        say(`one "support" team: ${sameName.map((r) => r.status).join(',')}`),
      ).toBe(1);
      for (const reply of sameName) if (reply.status !== 201) expectError(reply, 400, 'VALIDATION_FAILED');
      const replies = await Promise.all(
        Array.from({ length: 12 }, (_, i) => api.post('/teams', { name: `Team ${i}` }, { token: owner.token })),
      );
      expect(replies.filter((r) => r.status === 201).length, say('4 more teams fit')).toBe(4);
      for (const reply of replies) if (reply.status !== 201) expectError(reply, 403, 'PLAN_FEATURE_UNAVAILABLE');
      const teams = await api.get<{ items: unknown[] }>('/teams', { token: owner.token });
      expect(teams.body.items).toHaveLength(5);
      await expectIntactChain(owner.token, 'team race');
    },
  );
});

// ── 3. Ownership transfers ─────────────────────────────────────────────────────────────────

interface Person {
  email: string;
  token: string;
  id: string;
}

describe('racing ownership transfers', () => {
  it('always leave exactly one owner, who is an active Admin (24 rounds)', { timeout: 300_000 }, async () => {
    const signedUp = await createAccount(api, { plan: 'business', accountName: 'Crown Co' });
    const people: Person[] = [{ email: signedUp.email, token: signedUp.token, id: signedUp.member.id }];
    for (const [name, roleId] of [
      ['Ava Admin', ROLE.admin],
      ['Ed Editor', ROLE.editor],
      ['Rita Reader', ROLE.readonly],
    ] as const) {
      const joined = await inviteAndAccept(api, dataDir, signedUp, { name, roleId });
      people.push({ email: joined.email, token: joined.token, id: joined.member.id });
    }
    const billingContact = signedUp.member.id;
    let owner = people[0]!;
    touched.push({ label: 'ownership race', token: () => owner.token });
    const outcomes: Record<string, number> = {};
    const note = (key: string) => (outcomes[key] = (outcomes[key] ?? 0) + 1);

    for (let round = 0; round < 24; round++) {
      const before = await getAccount(owner.token);
      expect(before.ownerId).toBe(owner.id);
      const others = shuffle(people.filter((p) => p !== owner));
      const [x, y, z] = others as unknown as [Person, Person, Person];
      const bystander = pick(others);
      const membersBefore = await allMembers(owner.token);
      const versionOf = (id: string) => membersBefore.find((m) => m.id === id)!.version;
      const demoteTo = pick([ROLE.editor, ROLE.readonly]);

      const shots: (() => Promise<Reply<AccountDto | MemberDto>>)[] = [
        () =>
          api.post<AccountDto>(
            '/account/transfer-ownership',
            { memberId: x.id },
            { token: owner.token, headers: ifMatch(before.version) },
          ),
        () =>
          api.post<AccountDto>(
            '/account/transfer-ownership',
            { memberId: y.id },
            { token: owner.token, headers: ifMatch(before.version) },
          ),
        () =>
          api.post<AccountDto>(
            '/account/transfer-ownership',
            { memberId: pick([z.id, bystander.id]) },
            { token: bystander.token, headers: ifMatch(before.version) },
          ),
        // The owner can never be moved off Admin, not even while the ownership moves away.
        () =>
          api.patch<MemberDto>(
            `/users/${owner.id}`,
            { roleId: demoteTo },
            { token: owner.token, headers: ifMatch(versionOf(owner.id)) },
          ),
        // A member who may be becoming owner right now is demoted at the same time.
        () =>
          api.patch<MemberDto>(
            `/users/${x.id}`,
            { roleId: demoteTo },
            { token: owner.token, headers: ifMatch(versionOf(x.id)) },
          ),
      ];
      const [toX, toY, byOther, demoteOwner, demoteX] = (await fireShuffled(shots)) as [
        Reply<AccountDto>,
        Reply<AccountDto>,
        Reply,
        Reply,
        Reply,
      ];
      const context = `round ${round}:`;

      const wins = [toX, toY].filter((r) => r.status === 200);
      expect(wins.length, say(`${context} exactly one transfer wins: ${toX.status} ${toY.status}`)).toBe(1);
      const winner = toX.status === 200 ? x : y;
      const winReply = wins[0]!;
      const loser = toX.status === 200 ? toY : toX;
      note(`winner ${winner === x ? 'x' : 'y'}`);
      expect(winReply.body.ownerId).toBe(winner.id);
      expect(winReply.body.version).toBe(before.version + 1);
      // The losing transfer is judged after the winner: its sender is no longer the owner (403),
      // or, if the version is checked first, it is stale (412 with the account as it now is).
      note(`loser ${loser.status}`);
      if (loser.status === 403) expectError(loser, 403, 'FORBIDDEN', context);
      else {
        expectError(loser, 412, 'VERSION_MISMATCH', context);
        expect(
          (detailsOf(loser)['current'] as AccountDto).ownerId,
          say(`${context} the loser sees the new owner`),
        ).toBe(winner.id);
        expect((detailsOf(loser)['current'] as AccountDto).version).toBe(before.version + 1);
      }

      note(`non-owner ${byOther.status}`);
      expect(
        [403, 412],
        say(`${context} a non-owner never transfers: ${byOther.status} ${JSON.stringify(byOther.body)}`),
      ).toContain(byOther.status);
      expect(isErrorShape(byOther.body)).toBe(true);

      note(`demote owner ${demoteOwner.status}`);
      if (demoteOwner.status === 409) expectError(demoteOwner, 409, 'OWNER_PROTECTED', context);
      else expectError(demoteOwner, 412, 'VERSION_MISMATCH', `${context} demoting the owner:`);

      note(`demote x ${demoteX.status}`);
      if (demoteX.status !== 200) expectError(demoteX, 412, 'VERSION_MISMATCH', `${context} demoting x:`);

      const after = await getAccount(winner.token);
      expect(after.ownerId, say(`${context} GET /account names the winner`)).toBe(winner.id);
      expect(after.version).toBe(before.version + 1);
      expect(after.billingContactId).toBe(billingContact);
      const members = await allMembers(winner.token);
      const owners = members.filter((m) => m.isOwner);
      expect(
        owners.map((m) => m.id),
        say(`${context} exactly one member isOwner`),
      ).toEqual([winner.id]);
      expect(owners[0]).toMatchObject({ status: 'active', role: { id: ROLE.admin } });
      expect(
        members.find((m) => m.id === owner.id),
        say(`${context} the previous owner stays an active Admin`),
      ).toMatchObject({ status: 'active', role: { id: ROLE.admin } });
      expect(members.filter((m) => m.isBillingContact).map((m) => m.id)).toEqual([billingContact]);
      owner = winner;
    }

    expect(await countActions(owner.token, 'ownership.transferred')).toBe(24);
    console.log(`[concurrency] ownership race on ${app.database}: ${JSON.stringify(outcomes)}`);
    await expectIntactChain(owner.token, 'ownership race');
  });
});

// ── 4. One invitation token, many accepts ──────────────────────────────────────────────────

describe('racing accepts of one invitation', () => {
  it(
    '10 accepts of a new person’s token: exactly one person and one member become active',
    { timeout: 120_000 },
    async () => {
      const owner = await createAccount(api, { plan: 'business', accountName: 'Welcome Co' });
      touched.push({ label: 'accept race', token: () => owner.token });
      const email = uniqueEmail('newcomer');
      const invited = await invite(api, owner, [email]);
      expect(invited.status).toBe(201);
      const memberId = invited.body.items[0]!.id;
      const token = invitationToken(dataDir, email);

      const replies = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          api.post<AuthResultDto>('/invitations/accept', { token, name: `Newcomer ${i}`, password: PASSWORD }),
        ),
      );
      const ok = replies.filter((r) => r.status === 200);
      expect(ok.length, say(`exactly one accept wins: ${replies.map((r) => r.status).join(',')}`)).toBe(1);
      for (const reply of replies) if (reply.status !== 200) expectError(reply, 410, 'INVITATION_INVALID');
      expect(ok[0]!.body.member).toMatchObject({ id: memberId, email, status: 'active' });

      const persons = await query<{ n: number | string }>(app, 'SELECT COUNT(*) AS n FROM persons WHERE email = ?', [
        email,
      ]);
      expect(Number(persons[0]!.n), 'exactly one person for the email').toBe(1);
      const members = await allMembers(owner.token, email);
      expect(members.map((m) => [m.id, m.status])).toEqual([[memberId, 'active']]);
      expect(members[0]!.name).toBe(ok[0]!.body.member.name);
      const sessions = await api.get<{ items: unknown[] }>(`/users/${memberId}/sessions`, { token: owner.token });
      expect(sessions.body.items, 'only the winner got a session').toHaveLength(1);
      expect(await countActions(owner.token, 'invitation.accepted', memberId)).toBe(1);
      expect((await api.get('/me', { token: ok[0]!.body.token })).status).toBe(200);
      await signIn(email);
      expectError(await api.get(`/invitations/${token}`), 410, 'INVITATION_INVALID');
      await expectIntactChain(owner.token, 'accept race');
    },
  );

  it('10 accepts by an existing, signed-in person: exactly one wins', { timeout: 120_000 }, async () => {
    const owner = await createAccount(api, { plan: 'business', accountName: 'Second Home Co' });
    touched.push({ label: 'existing-person accept race', token: () => owner.token });
    const elsewhere = await createAccount(api, { accountName: 'First Home Co', name: 'Eli Existing' });
    const invited = await invite(api, owner, [elsewhere.email]);
    expect(invited.status).toBe(201);
    const token = invitationToken(dataDir, elsewhere.email);
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        api.post<AuthResultDto>('/invitations/accept', { token }, { token: elsewhere.token }),
      ),
    );
    expect(
      replies.filter((r) => r.status === 200).length,
      say(`exactly one accept wins: ${replies.map((r) => r.status).join(',')}`),
    ).toBe(1);
    for (const reply of replies) if (reply.status !== 200) expectError(reply, 410, 'INVITATION_INVALID');
    const members = await allMembers(owner.token, elsewhere.email);
    expect(members.map((m) => m.status)).toEqual(['active']);
    const sessions = await api.get<{ items: unknown[] }>(`/users/${members[0]!.id}/sessions`, { token: owner.token });
    expect(sessions.body.items).toHaveLength(1);
    await expectIntactChain(owner.token, 'existing-person accept race');
  });

  it(
    'one new email invited by two accounts, both accepted at once: one person, and the other invitation still works',
    { timeout: 60_000 },
    async () => {
      const email = uniqueEmail('popular');
      const first = await createAccount(api, { plan: 'business', accountName: 'First Co' });
      const second = await createAccount(api, { plan: 'business', accountName: 'Second Co' });
      touched.push(
        { label: 'two-account accept (first)', token: () => first.token },
        { label: 'two-account accept (second)', token: () => second.token },
      );
      expect((await invite(api, first, [email])).status).toBe(201);
      const firstToken = invitationToken(dataDir, email);
      expect((await invite(api, second, [email])).status).toBe(201);
      const secondToken = invitationToken(dataDir, email);
      const replies = await Promise.all(
        [firstToken, secondToken].map((token, i) =>
          api.post<AuthResultDto>('/invitations/accept', { token, name: `Popular ${i}`, password: PASSWORD }),
        ),
      );
      const ok = replies.filter((r) => r.status === 200);
      expect(
        ok.length,
        say(`at least one accept wins: ${JSON.stringify(replies.map((r) => [r.status, r.body]))}`),
      ).toBeGreaterThanOrEqual(1);
      for (const reply of replies) {
        expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(500);
        if (reply.status >= 400) expect(isErrorShape(reply.body)).toBe(true);
      }
      const persons = await query<{ n: number | string }>(app, 'SELECT COUNT(*) AS n FROM persons WHERE email = ?', [
        email,
      ]);
      expect(Number(persons[0]!.n), 'exactly one person for the email').toBe(1);
      // Whoever lost the race is still invited and can accept by signing in as the (now existing) person.
      const session = await signIn(email);
      for (const [i, token] of [firstToken, secondToken].entries()) {
        if (replies[i]!.status === 200) continue;
        const info = await api.get<{ existingPerson: boolean }>(`/invitations/${token}`);
        expect(info.status, JSON.stringify(info.body)).toBe(200);
        expect(info.body.existingPerson).toBe(true);
        expect((await api.post('/invitations/accept', { token }, { token: session })).status).toBe(200);
      }
      for (const owner of [first, second])
        expect((await allMembers(owner.token, email)).map((m) => m.status)).toEqual(['active']);
      console.log(
        `[concurrency] one email, two accounts on ${app.database}: ${replies.map((r) => (r.status === 200 ? 200 : `${r.status} ${(r.body as { error?: { code: string } }).error?.code}`)).join(', ')}`,
      );
    },
  );

  it(
    'accept, cancel and resend of one invitation race: exactly one of them happens (20 rounds)',
    { timeout: 120_000 },
    async () => {
      const owner = await createAccount(api, { plan: 'business', accountName: 'Coin Toss Co' });
      touched.push({ label: 'accept/cancel/resend race', token: () => owner.token });
      const outcomes: Record<string, number> = {};
      for (let round = 0; round < 20; round++) {
        // Even rounds invite a new person (accept hashes a password first), odd rounds an existing,
        // signed-in person (accept is quick).
        const existing = round % 2 === 1 ? await createAccount(api, { accountName: 'Elsewhere' }) : null;
        const email = existing?.email ?? uniqueEmail('toss');
        const invited = await invite(api, owner, [email]);
        const member = invited.body.items[0]!;
        const token = invitationToken(dataDir, email);
        const accept = () =>
          existing
            ? api.post('/invitations/accept', { token }, { token: existing.token })
            : api.post('/invitations/accept', { token, name: 'Toss', password: PASSWORD });
        const shots = shuffle([
          ...Array.from({ length: 3 }, () => ({ kind: 'accept', run: accept })),
          {
            kind: 'cancel',
            run: () =>
              api.delete(`/users/${member.id}`, undefined, { token: owner.token, headers: ifMatch(member.version) }),
          },
          {
            kind: 'resend',
            run: () =>
              api.post(`/users/${member.id}/resend-invitation`, undefined, {
                token: owner.token,
                headers: ifMatch(member.version),
              }),
          },
        ]);
        // Accept hashes a password before its transaction; jitter lets each of the three win sometimes.
        const replies = await Promise.all(
          shots.map(
            async (shot) => (await sleep(random() * (shot.kind === 'accept' ? 5 : existing ? 10 : 150)), shot.run()),
          ),
        );
        const winners = shots.filter((_, i) => replies[i]!.status < 300).map((shot) => shot.kind);
        expect(
          winners.length,
          say(
            `round ${round}: exactly one of accept/cancel/resend wins: ${shots.map((s, i) => `${s.kind} ${replies[i]!.status}`).join(', ')}`,
          ),
        ).toBe(1);
        const winner = winners[0]!;
        outcomes[winner] = (outcomes[winner] ?? 0) + 1;
        shots.forEach((shot, i) => {
          const reply = replies[i]!;
          if (reply.status < 300) return;
          expect(isErrorShape(reply.body), JSON.stringify(reply.body)).toBe(true);
          const code = (reply.body as { error: { code: string } }).error.code;
          if (shot.kind === 'accept') expect(code).toBe('INVITATION_INVALID');
          else if (winner === 'cancel') expect(code).toBe('NOT_FOUND');
          else expect(code).toBe('VERSION_MISMATCH');
        });
        const now = await api.get<MemberDto>(`/users/${member.id}`, { token: owner.token });
        if (winner === 'accept') {
          expect(now.body.status).toBe('active');
          await signIn(email);
        } else if (winner === 'cancel') {
          expectError(now, 404, 'NOT_FOUND');
          expect((await api.get(`/invitations/${token}`)).status).toBe(410);
        } else {
          expect(now.body).toMatchObject({ status: 'invited', version: member.version + 1 });
          expect((await api.get(`/invitations/${token}`)).status, 'the old token died').toBe(410);
          expect((await api.get(`/invitations/${invitationToken(dataDir, email)}`)).status, 'the new token works').toBe(
            200,
          );
        }
      }
      console.log(`[concurrency] accept/cancel/resend on ${app.database}: ${JSON.stringify(outcomes)}`);
      await expectIntactChain(owner.token, 'accept/cancel/resend race');
    },
  );
});

// ── 5. Billing contact transfers ───────────────────────────────────────────────────────────

describe('racing billing transfers', () => {
  it('always leave exactly one billing contact, never a revoked one (24 rounds)', { timeout: 300_000 }, async () => {
    const signedUp = await createAccount(api, { plan: 'enterprise', accountName: 'Ledger Co' });
    const owner: Person & { roleId: string } = {
      email: signedUp.email,
      token: signedUp.token,
      id: signedUp.member.id,
      roleId: ROLE.admin,
    };
    const people: (Person & { roleId: string })[] = [owner];
    for (const [name, roleId] of [
      ['Ada Admin', ROLE.admin],
      ['Abe Admin', ROLE.admin],
      ['Eve Editor', ROLE.editor],
      ['Ron Reader', ROLE.readonly],
    ] as const) {
      const joined = await inviteAndAccept(api, dataDir, signedUp, { name, roleId });
      people.push({ email: joined.email, token: joined.token, id: joined.member.id, roleId });
    }
    touched.push({ label: 'billing race', token: () => owner.token });
    const outcomes: Record<string, number> = {};
    const note = (key: string) => (outcomes[key] = (outcomes[key] ?? 0) + 1);

    for (let round = 0; round < 24; round++) {
      const before = await getAccount(owner.token);
      const current = people.find((p) => p.id === before.billingContactId)!;
      const candidates = shuffle(people.filter((p) => p !== current));
      const [x, y] = candidates as unknown as [Person, Person];
      const z = pick(candidates.filter((p) => p !== x));
      const victim = pick(candidates.filter((p) => p !== owner)); // revoked while it may be getting the billing contact
      const outsider = pick(people.filter((p) => p !== owner && p !== current));
      const membersBefore = await allMembers(owner.token);
      const versionOf = (id: string) => membersBefore.find((m) => m.id === id)!.version;

      type Shot = { kind: string; target?: Person; run: () => Promise<Reply> };
      const transfer = (by: Person, to: Person) =>
        api.post<AccountDto>(
          '/account/transfer-billing',
          { memberId: to.id },
          { token: by.token, headers: ifMatch(before.version) },
        );
      const shots: Shot[] = [
        { kind: 'owner', target: x, run: () => transfer(owner, x) },
        { kind: 'owner', target: y, run: () => transfer(owner, y) },
        { kind: 'outsider', run: () => transfer(outsider, z) },
        {
          kind: 'revoke',
          run: () =>
            api.post(`/users/${victim.id}/revoke`, undefined, {
              token: owner.token,
              headers: ifMatch(versionOf(victim.id)),
            }),
        },
        {
          kind: 'revoke-current',
          run: () =>
            api.post(`/users/${current.id}/revoke`, undefined, {
              token: owner.token,
              headers: ifMatch(versionOf(current.id)),
            }),
        },
      ];
      if (current !== owner && current.roleId === ROLE.admin)
        shots.push({ kind: 'current', target: z, run: () => transfer(current, z) });
      shuffle(shots);
      const replies = await Promise.all(shots.map((shot) => shot.run()));
      const context = `round ${round}:`;
      const results = shots.map((shot, i) => ({ shot, reply: replies[i]! }));
      for (const { shot, reply } of results) {
        note(`${shot.kind} ${reply.status}`);
        if (reply.status >= 400) expect(isErrorShape(reply.body), JSON.stringify(reply.body)).toBe(true);
      }

      const transfers = results.filter((r) => r.shot.kind === 'owner' || r.shot.kind === 'current');
      const won = transfers.filter((r) => r.reply.status === 200);
      expect(
        won.length,
        say(
          `${context} exactly one transfer wins: ${results.map((r) => `${r.shot.kind} ${r.reply.status}`).join(', ')}`,
        ),
      ).toBe(1);
      const winner = won[0]!.shot.target!;
      expect((won[0]!.reply.body as AccountDto).billingContactId).toBe(winner.id);
      for (const { shot, reply } of transfers) {
        if (reply.status === 200) continue;
        // Lost the race (412), its target was revoked a moment earlier (not an active member: 400),
        // or — for the billing contact of the moment — they no longer are the billing contact (403).
        if (reply.status === 400) expect(shot.target).toBe(victim);
        else if (reply.status === 403 && shot.kind === 'current') expectError(reply, 403, 'FORBIDDEN');
        else expectError(reply, 412, 'VERSION_MISMATCH', `${context} ${shot.kind} transfer`);
      }
      const outsiderReply = results.find((r) => r.shot.kind === 'outsider')!.reply;
      // An outsider is refused (403), loses the race (412), or was the member revoked this round (401).
      expect(
        [403, 412, ...(outsider === victim ? [401] : [])],
        say(`${context} outsider: ${outsiderReply.status}`),
      ).toContain(outsiderReply.status);
      const revokeVictim = results.find((r) => r.shot.kind === 'revoke')!.reply;
      if (revokeVictim.status !== 200)
        expectError(
          revokeVictim,
          412,
          'VERSION_MISMATCH',
          `${context} revoking a member who just got the billing contact`,
        );
      else
        expect(winner, say(`${context} a member revoked this round cannot have won the billing contact`)).not.toBe(
          victim,
        );
      const revokeCurrent = results.find((r) => r.shot.kind === 'revoke-current')!.reply;
      expect(revokeCurrent.status, say(`${context} the billing contact of the moment is never revoked`)).not.toBe(200);

      const after = await getAccount(owner.token);
      expect(after.billingContactId, say(`${context} GET /account names the winner`)).toBe(winner.id);
      expect(after.ownerId).toBe(owner.id);
      const members = await allMembers(owner.token);
      const contacts = members.filter((m) => m.isBillingContact);
      expect(
        contacts.map((m) => m.id),
        say(`${context} exactly one billing contact`),
      ).toEqual([winner.id]);
      expect(contacts[0]!.status, say(`${context} the billing contact is active`)).toBe('active');
      expect(members.filter((m) => m.isOwner).map((m) => m.id)).toEqual([owner.id]);

      // Bring revoked members back (with a fresh session) for the next round.
      for (const member of members.filter((m) => m.status === 'revoked')) {
        const back = await api.post<MemberDto>(`/users/${member.id}/reactivate`, undefined, {
          token: owner.token,
          headers: ifMatch(member.version),
        });
        expect(back.status, JSON.stringify(back.body)).toBe(200);
        const person = people.find((p) => p.id === member.id)!;
        person.token = await signIn(person.email);
      }
    }

    console.log(`[concurrency] billing race on ${app.database}: ${JSON.stringify(outcomes)}`);
    expect(await countActions(owner.token, 'billing.transferred')).toBe(24);
    await expectIntactChain(owner.token, 'billing race');
  });
});

// ── 6. Many kinds of change at once, and changes to the actor while its request is in flight ──

describe('a storm of different changes on one account', () => {
  it('writes exactly one activity entry per successful change, gap-free', { timeout: 120_000 }, async () => {
    const owner = await createAccount(api, { plan: 'business', accountName: 'Storm Co' });
    touched.push({ label: 'storm', token: () => owner.token });
    const account = await getAccount(owner.token);
    expect(
      (await api.patch('/account', { teamsEnabled: true }, { token: owner.token, headers: ifMatch(account.version) }))
        .status,
    ).toBe(200);
    const crew: Joined[] = [];
    for (let i = 0; i < 6; i++)
      crew.push(
        await inviteAndAccept(api, dataDir, owner, { name: `Crew ${i}`, roleId: i < 2 ? ROLE.admin : ROLE.editor }),
      );
    const admins = [owner.token, crew[0]!.token, crew[1]!.token];
    const before = await expectIntactChain(owner.token, 'storm (before)');
    const fresh = await getAccount(owner.token);

    const shots: { kind: string; run: () => Promise<Reply> }[] = [];
    for (const member of crew.slice(2)) {
      shots.push({
        kind: 'patch',
        run: () =>
          api.patch(
            `/users/${member.member.id}`,
            { agentAccess: true },
            { token: pick(admins), headers: ifMatch(member.member.version) },
          ),
      });
      shots.push({
        kind: 'patch',
        run: () =>
          api.patch(
            `/users/${member.member.id}`,
            { roleId: ROLE.readonly },
            { token: pick(admins), headers: ifMatch(member.member.version) },
          ),
      });
      shots.push({
        kind: 'end-sessions',
        run: () =>
          api.delete(`/users/${member.member.id}/sessions`, undefined, {
            token: pick(admins),
            headers: ifMatch(member.member.version),
          }),
      });
      shots.push({
        kind: 'sign-in',
        run: () => api.post('/auth/sign-in', { email: member.email, password: PASSWORD }),
      });
    }
    for (let i = 0; i < 15; i++)
      shots.push({ kind: 'invite', run: () => invite(api, { token: pick(admins) }, [uniqueEmail('storm')]) });
    for (let i = 0; i < 8; i++)
      shots.push({ kind: 'team', run: () => api.post('/teams', { name: `Storm ${i % 5}` }, { token: pick(admins) }) });
    for (let i = 0; i < 4; i++)
      shots.push({
        kind: 'account',
        run: () =>
          api.patch('/account', { name: `Storm ${i}` }, { token: pick(admins), headers: ifMatch(fresh.version) }),
      });
    for (let i = 0; i < 10; i++)
      shots.push({
        kind: 'read',
        run: () =>
          api.get(pick(['/users', '/account', '/activity', '/teams', '/activity/verify']), { token: pick(admins) }),
      });
    const replies = await fireShuffled(shots.map((shot) => shot.run));

    let changes = 0;
    const tally: Record<string, number> = {};
    shots.forEach((shot, i) => {
      const reply = replies[i]!;
      tally[`${shot.kind} ${reply.status}`] = (tally[`${shot.kind} ${reply.status}`] ?? 0) + 1;
      expect(reply.status, say(`${shot.kind}: ${JSON.stringify(reply.body)}`)).toBeLessThan(500);
      if (reply.status >= 400) expect(isErrorShape(reply.body), JSON.stringify(reply.body)).toBe(true);
      else if (shot.kind !== 'read') changes += 1;
    });
    expect(tally['team 201'], 'one team per distinct name').toBe(5);
    expect(tally['account 200'], 'one account rename wins').toBe(1);
    const after = await expectIntactChain(owner.token, 'storm');
    expect(after - before, say(`one entry per successful change: ${JSON.stringify(tally)}`)).toBe(changes);
  });
});

describe('changes to the actor while its requests are in flight', () => {
  it(
    'an admin demoted or revoked mid-flight makes no change ordered after that (20 rounds)',
    { timeout: 180_000 },
    async () => {
      const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Stale Co' });
      touched.push({ label: 'in-flight demotion', token: () => owner.token });
      const outcomes: Record<string, number> = {};
      for (let round = 0; round < 20; round++) {
        const admin = await inviteAndAccept(api, dataDir, owner, { name: `Fleeting ${round}`, roleId: ROLE.admin });
        const revoke = round % 2 === 1;
        const inFlight = Array.from(
          { length: 6 },
          (_, i) => async () => (await sleep(i * 2), invite(api, admin, [uniqueEmail('late')])),
        );
        const demote = async () => {
          await sleep(random() * 12);
          return revoke
            ? api.post(`/users/${admin.member.id}/revoke`, undefined, {
                token: owner.token,
                headers: ifMatch(admin.member.version),
              })
            : api.patch(
                `/users/${admin.member.id}`,
                { roleId: ROLE.readonly },
                { token: owner.token, headers: ifMatch(admin.member.version) },
              );
        };
        const replies = await Promise.all([demote(), ...inFlight.map((run) => run())]);
        expect(replies[0]!.status, JSON.stringify(replies[0]!.body)).toBe(200);
        for (const reply of replies.slice(1)) {
          outcomes[`${revoke ? 'revoke' : 'demote'}: invite ${reply.status}`] =
            (outcomes[`${revoke ? 'revoke' : 'demote'}: invite ${reply.status}`] ?? 0) + 1;
          if (reply.status >= 400) expect(isErrorShape(reply.body)).toBe(true);
        }
        const entries = await allActivity(owner.token, { member: admin.member.id });
        const cut = entries.find((e) => e.action === (revoke ? 'user.revoked' : 'user.role_changed'))!;
        const byAdmin = await allActivity(owner.token, { actor: admin.member.id, action: 'user.invited' });
        const late = byAdmin.filter((e) => e.seq > cut.seq);
        expect(
          late.map((e) => `seq ${e.seq} ${e.action} ${e.target.label}`),
          say(
            `round ${round}: the admin was ${revoke ? 'revoked' : 'demoted'} at seq ${cut.seq}, yet changes by them were applied after it`,
          ),
        ).toEqual([]);
      }
      console.log(`[concurrency] in-flight demotions on ${app.database}: ${JSON.stringify(outcomes)}`);
    },
  );

  // The window is a few milliseconds wide on PostgreSQL (SQLite runs the whole sign-in under its one
  // mutex), so PostgreSQL gets more rounds.
  const signInRounds = usingPostgres ? 30 : 10;
  it(
    `a sign-in racing a revoke never leaves a live session behind (${signInRounds} rounds)`,
    { timeout: 180_000 },
    async () => {
      const owner = await createAccount(api, { plan: 'enterprise', accountName: 'Door Co' });
      touched.push({ label: 'sign-in vs revoke', token: () => owner.token });
      const outcomes: Record<string, number> = {};
      for (let round = 0; round < signInRounds; round++) {
        const member = await inviteAndAccept(api, dataDir, owner, { name: `Leaving ${round}` });
        const signIns = Array.from({ length: 6 }, () =>
          api.post<AuthResultDto>('/auth/sign-in', { email: member.email, password: PASSWORD }),
        );
        // Concurrent password checks take a few hundred milliseconds here; the revoke lands somewhere in that window.
        const revoke = (async () => {
          await sleep(random() * 700);
          return api.post<MemberDto>(`/users/${member.member.id}/revoke`, undefined, {
            token: owner.token,
            headers: ifMatch(member.member.version),
          });
        })();
        const [revoked, ...replies] = await Promise.all([revoke, ...signIns]);
        expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
        for (const reply of replies) {
          outcomes[`sign-in ${reply.status}`] = (outcomes[`sign-in ${reply.status}`] ?? 0) + 1;
          if (reply.status !== 200) expect(isErrorShape(reply.body)).toBe(true);
        }
        const live = await api.get<{ items: unknown[] }>(`/users/${member.member.id}/sessions`, { token: owner.token });
        // Reactivation restores access only through a new sign-in, never through a session issued around the revoke.
        const back = await api.post<MemberDto>(`/users/${member.member.id}/reactivate`, undefined, {
          token: owner.token,
          headers: ifMatch(revoked.body.version),
        });
        expect(back.status).toBe(200);
        let revived = 0;
        for (const reply of replies.filter((r) => r.status === 200))
          if ((await api.get('/me', { token: reply.body.token })).status === 200) revived += 1;
        expect(
          { liveSessionsWhileRevoked: live.body.items.length, sessionsBackAfterReactivation: revived },
          say(`round ${round}: sign-ins ${replies.map((r) => r.status).join(',')} raced the revoke`),
        ).toEqual({ liveSessionsWhileRevoked: 0, sessionsBackAfterReactivation: 0 });
      }
      console.log(`[concurrency] sign-in vs revoke on ${app.database}: ${JSON.stringify(outcomes)}`);
    },
  );
});

// ── 7. After everything ────────────────────────────────────────────────────────────────────

describe('after all the races', () => {
  it('every account’s activity chain verifies and its seqs are gap-free', async () => {
    expect(touched.length).toBeGreaterThanOrEqual(15);
    let entries = 0;
    for (const account of touched) entries += await expectIntactChain(account.token(), account.label);
    console.log(`[concurrency] ${touched.length} accounts, ${entries} activity entries verified on ${app.database}`);
  });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends the requests in a random order, all in flight at once; answers in the given order. */
function fireShuffled<T>(shots: (() => Promise<T>)[]): Promise<T[]> {
  const order = shuffle(shots.map((_, i) => i));
  const pending: Promise<T>[] = new Array<Promise<T>>(shots.length);
  for (const i of order) pending[i] = shots[i]!();
  return Promise.all(pending);
}

/** A small seeded PRNG (mulberry32), so a failing interleaving of choices can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
