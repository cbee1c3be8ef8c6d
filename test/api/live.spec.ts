import type { ActivityEntryDto, MeDto, MemberDetailDto, MemberDto } from '@rolecall/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Database } from '../../apps/api/src/database/database.service.js';
import { LiveEvents } from '../../apps/api/src/live/live-events.service.js';
import { startApp, type TestApp } from './support/app.js';
import {
  createAccount,
  enrolTotp,
  ifMatch,
  invite,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  uniqueEmail,
  type SignedUp,
} from './support/factories.js';
import { awaitInvitationToken } from './support/outbox.js';
import { client, type Client } from './support/http.js';
import { connect, connected, disconnected, next, open, recorder, sleep, type TestSocket } from './support/live.js';

let app: TestApp;
let api: Client;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.disconnect();
});
afterAll(() => app.close());

const business = () => createAccount(api, { plan: 'business' });
const join = (owner: SignedUp, input: Parameters<typeof inviteAndAccept>[3] = {}) =>
  inviteAndAccept(api, app.config.dataDir, owner, input);
const track = async (token: string) => {
  const socket = await open(app.url, token);
  sockets.push(socket);
  return socket;
};
/** Three sessions of one member, each with a socket. */
async function threeSessions(email: string, first: string): Promise<{ tokens: string[]; sockets: TestSocket[] }> {
  const tokens = [first];
  for (let i = 0; i < 2; i += 1)
    tokens.push((await api.post<{ token: string }>('/auth/sign-in', { email, password: PASSWORD })).body.token);
  return { tokens, sockets: await Promise.all(tokens.map(track)) };
}
/** The member's own join, delivered late: me.updated about them at the version inviteAndAccept returned. */
const ownJoin = (e: { event: string; data: unknown }, joined: { member: MemberDto }) => {
  const about = (e.data as { member?: MemberDto }).member;
  return e.event === 'me.updated' && about?.id === joined.member.id && about.version <= joined.member.version;
};
/**
 * Holds every read the live layer makes (after a COMMIT) until `release()`: a delivery that reads
 * the member after its change committed then sees whatever committed since.
 */
async function holdLiveReads(): Promise<{ release: () => void }> {
  await app.app.get(LiveEvents).idle();
  const db = app.app.get(Database);
  const read = db.read.bind(db);
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const spy = vi.spyOn(db, 'read').mockImplementation((async (work: Parameters<typeof read>[0]) => {
    if (new Error().stack?.includes('LiveEvents')) await gate;
    return read(work);
  }) as typeof db.read);
  return {
    release: () => {
      open();
      spy.mockRestore();
    },
  };
}
const memberVersion = async (owner: SignedUp, id: string) =>
  (await api.get<MemberDto>(`/users/${id}`, { token: owner.token })).body.version;

describe('handshake', () => {
  it('accepts a bearer token in auth and refuses missing, malformed, unknown and revoked tokens with the code', async () => {
    const owner = await business();
    const ok = await track(owner.token);
    expect(ok.connected).toBe(true);
    for (const token of [undefined, 'short', 'A'.repeat(43)]) {
      await expect(connected(connect(app.url, token))).rejects.toThrow('UNAUTHENTICATED');
    }
    const second = (await api.post<{ token: string }>('/auth/sign-in', { email: owner.email, password: PASSWORD })).body
      .token;
    await api.post('/auth/sign-out', undefined, { token: second });
    await expect(connected(connect(app.url, second))).rejects.toThrow('SESSION_REVOKED');
    expect(ok.connected).toBe(true);
  });

  it("starts every connection with the member's permission set as it stands (me.permissions, reason connected)", async () => {
    const owner = await business();
    const member = await join(owner, { roleId: ROLE.editor });
    const first = connect(app.url, member.token);
    sockets.push(first);
    const log = recorder(first);
    await connected(first);
    const me = (await api.get<MeDto>('/me', { token: member.token })).body;
    expect(log.events[0]).toEqual({
      event: 'me.permissions',
      data: { version: me.permissions.version, roleId: ROLE.editor, keys: me.permissions.keys, reason: 'connected' },
    });
    first.disconnect();
    // Changed while no socket of the member is connected: the push reached nobody; the next
    // connection is told at once.
    await api.patch(
      `/users/${member.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(member.member.version) },
    );
    const again = connect(app.url, member.token);
    sockets.push(again);
    const greeting = next(again, 'me.permissions');
    await connected(again);
    const now = (await api.get<MeDto>('/me', { token: member.token })).body;
    expect(await greeting).toEqual({
      version: now.permissions.version,
      roleId: ROLE.readonly,
      keys: now.permissions.keys,
      reason: 'connected',
    });
    expect(now.permissions.version).toBeGreaterThan(me.permissions.version);
  });

  it('a socket (re)connecting is not activity: it does not keep a session from its idle expiry', async () => {
    const HOUR = 60 * 60 * 1000;
    const owner = await business();
    app.clock.advance(11 * HOUR);
    expect((await api.get('/me', { token: owner.token })).status).toBe(200); // a request: seen now
    app.clock.advance(11 * HOUR);
    const socket = await track(owner.token);
    expect(socket.connected).toBe(true);
    socket.disconnect();
    // 13 h after the last request (the handshake 2 h ago does not count): expired (12 h idle).
    app.clock.advance(2 * HOUR);
    const expired = await api.get('/me', { token: owner.token });
    expect(expired.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'expired' } } });
  });

  it('refuses a foreign Origin, and a cookie without an allowed Origin', async () => {
    const owner = await business();
    await expect(connected(connect(app.url, owner.token, { origin: 'https://evil.example' }))).rejects.toThrow(
      'FORBIDDEN',
    );
    const withCookie = connect(app.url, undefined, {
      origin: app.config.publicUrl,
      cookie: `rolecall_session=${owner.token}`,
    });
    sockets.push(await connected(withCookie));
    await expect(connected(connect(app.url, undefined, { cookie: `rolecall_session=${owner.token}` }))).rejects.toThrow(
      'UNAUTHENTICATED',
    );
  });

  it('never takes a token from the query string', async () => {
    const owner = await business();
    const { io } = await import('socket.io-client');
    const socket = io(app.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      query: { token: owner.token },
    });
    await expect(connected(socket as TestSocket)).rejects.toThrow('UNAUTHENTICATED');
  });

  it('acknowledges unknown events and bad payloads with an error, and keeps serving', async () => {
    const owner = await business();
    const socket = await track(owner.token);
    const unknown = await (
      socket as unknown as { emitWithAck: (e: string, d: unknown) => Promise<unknown> }
    ).emitWithAck('nope', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const bad = await socket.emitWithAck('presence.enter', { resource: 'nonsense', editing: 'yes' } as never);
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    const tooBig = connect(app.url, owner.token);
    await connected(tooBig);
    tooBig.emit(
      'presence.enter',
      { resource: `member:${'x'.repeat(200_000)}`, editing: false } as never,
      () => undefined,
    );
    await disconnected(tooBig);
    expect(socket.connected).toBe(true);
    expect(
      await socket.emitWithAck('presence.enter', { resource: `member:${owner.member.id}`, editing: false }),
    ).toMatchObject({ ok: true });
  });
});

describe('immediate permission changes', () => {
  it('pushes me.permissions to all three sessions, and GET /me right after the response already shows the new set', async () => {
    const owner = await business();
    const member = await join(owner, { roleId: ROLE.editor });
    const { tokens, sockets: three } = await threeSessions(member.email, member.token);
    const pushes = three.map((s) => next(s, 'me.permissions'));
    const reply = await api.patch(
      `/users/${member.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(member.member.version) },
    );
    expect(reply.status).toBe(200);
    const me = await api.get<MeDto>('/me', { token: tokens[2]! });
    expect(me.body.permissions.keys).not.toContain('people.create');
    for (const push of await Promise.all(pushes)) {
      expect(push).toMatchObject({
        roleId: ROLE.readonly,
        reason: 'role_changed',
        version: me.body.permissions.version,
      });
      expect(push.keys).toEqual(me.body.permissions.keys);
    }
  });

  it('covers agent access, role edits, role deletion with reassignment, ownership and billing transfers', async () => {
    const owner = await business();
    const role = (
      await api.post<{ id: string; version: number }>(
        '/roles',
        { name: 'Live', description: '', icon: 'bolt', permissions: ['reports.view'] },
        { token: owner.token },
      )
    ).body;
    const member = await join(owner, { roleId: role.id });
    const { sockets: three } = await threeSessions(member.email, member.token);
    const expectOnAll = async (reason: string, change: () => Promise<unknown>) => {
      const pushes = three.map((s) => next(s, 'me.permissions', (d) => d.reason === reason));
      await change();
      return Promise.all(pushes);
    };
    const agent = await expectOnAll('agent_access_changed', async () =>
      api.patch(
        `/users/${member.member.id}`,
        { agentAccess: true },
        { token: owner.token, headers: ifMatch(await memberVersion(owner, member.member.id)) },
      ),
    );
    expect(agent[0]!.keys).toEqual(['reports.view']); // no talk.* in the role yet: same keys, new version
    const edited = await expectOnAll('role_edited', () =>
      api.patch(
        `/roles/${role.id}`,
        { permissions: ['reports.export', 'talk.reply'] },
        { token: owner.token, headers: ifMatch(role.version) },
      ),
    );
    expect(edited[0]!.keys).toEqual(['reports.view', 'reports.export', 'talk.view', 'talk.reply']);
    // The push carries the version the edit committed (the live layer pushes the rows the edit wrote).
    expect(edited.map((push) => push.version)).toEqual(
      Array(3).fill((await api.get<MeDto>('/me', { token: member.token })).body.permissions.version),
    );
    const billing = await expectOnAll('billing_transferred', async () => {
      const account = await api.get<{ version: number }>('/account', { token: owner.token });
      return api.post(
        '/account/transfer-billing',
        { memberId: member.member.id },
        { token: owner.token, headers: ifMatch(account.body.version) },
      );
    });
    expect(billing[0]!.keys).toContain('billing.view');
    const deleted = await expectOnAll('role_deleted', () =>
      api.delete(`/roles/${role.id}?reassignTo=${ROLE.editor}`, undefined, { token: owner.token, headers: ifMatch(2) }),
    );
    expect(deleted[0]!.roleId).toBe(ROLE.editor);
    const ownership = await expectOnAll('ownership_transferred', async () => {
      const account = await api.get<{ version: number }>('/account', { token: owner.token });
      return api.post(
        '/account/transfer-ownership',
        { memberId: member.member.id },
        { token: owner.token, headers: ifMatch(account.body.version) },
      );
    });
    expect(ownership[0]!).toMatchObject({ roleId: ROLE.admin });
    expect(ownership[0]!.keys).toContain('users.manage');
  });

  it('me.updated tells a member without users.view what GET /me now shows: their record, and their role renamed', async () => {
    const owner = await business();
    const role = (
      await api.post<{ id: string; version: number }>(
        '/roles',
        { name: 'Helpers', description: '', icon: 'star', permissions: ['reports.view'] },
        { token: owner.token },
      )
    ).body;
    const member = await join(owner, { roleId: role.id });
    const { sockets: three } = await threeSessions(member.email, member.token);
    const seen = three.map((socket) => recorder(socket));

    // A rename keeps the permission set (no me.permissions) but changes what My account shows.
    const renamed = three.map((s) => next(s, 'me.updated', (d) => 'role' in d));
    const rename = await api.patch(
      `/roles/${role.id}`,
      { name: 'Helpers Plus', icon: 'heart' },
      { token: owner.token, headers: ifMatch(role.version) },
    );
    expect(rename.status).toBe(200);
    for (const update of await Promise.all(renamed))
      expect(update).toEqual({ role: { id: role.id, name: 'Helpers Plus', icon: 'heart' } });

    // Agent access on a role without Talk permissions: the record changes, the member hears it.
    const updated = three.map((s) => next(s, 'me.updated', (d) => 'member' in d));
    const toggle = await api.patch<MemberDto>(
      `/users/${member.member.id}`,
      { agentAccess: true },
      { token: owner.token, headers: ifMatch(await memberVersion(owner, member.member.id)) },
    );
    expect(toggle.status).toBe(200);
    for (const update of await Promise.all(updated)) {
      expect(update).toMatchObject({
        member: {
          id: member.member.id,
          agentAccess: true,
          version: toggle.body.version,
          role: { name: 'Helpers Plus' },
        },
      });
    }
    const me = await api.get<MeDto>('/me', { token: member.token });
    expect(me.body.member.role.name).toBe('Helpers Plus');
    // Still no account events for someone without users.view: me.updated carries only their own record.
    expect(
      seen.flatMap((r) => r.events.map((e) => e.event)).filter((e) => e.startsWith('user.') || e.startsWith('role.')),
    ).toEqual([]);

    // Nobody else's sessions hear about this member.
    const other = await join(owner, { roleId: ROLE.readonly });
    const otherSocket = await track(other.token);
    const otherSeen = recorder(otherSocket);
    const again = next(three[0]!, 'me.updated', (d) => 'member' in d);
    await api.patch(
      `/users/${member.member.id}`,
      { agentAccess: false },
      { token: owner.token, headers: ifMatch(await memberVersion(owner, member.member.id)) },
    );
    await again;
    // Only this member's record counts: the other member's own join may still be in flight over
    // Redis when their socket connects, and hearing about yourself is what me.updated is for.
    const aboutMember = otherSeen.events.filter(
      (e) => e.event === 'me.updated' && (e.data as { member?: { id: string } }).member?.id === member.member.id,
    );
    expect(aboutMember).toEqual([]);
  });

  it("pushes a member's change as its transaction committed it, reading nothing after the COMMIT (issue 18 (a))", async () => {
    const owner = await business();
    const member = await join(owner, { roleId: ROLE.editor });
    const dashboard = await track(owner.token);
    const own = await track(member.token);
    // Reads the live layer makes (its stack names LiveEvents), counted around each change.
    const db = app.app.get(Database);
    const read = db.read.bind(db);
    let liveReads = 0;
    const spy = vi.spyOn(db, 'read').mockImplementation(((work: Parameters<typeof read>[0]) => {
      if (new Error().stack?.includes('LiveEvents')) liveReads += 1;
      return read(work);
    }) as typeof db.read);
    try {
      const asListed = ({ invitedBy: _b, invitationExpiresAt: _e, invitationMail: _m, ...dto }: MemberDetailDto) => dto;
      const changes: [
        string,
        (version: number) => Promise<{ status: number; body: MemberDetailDto }>,
        string | null,
      ][] = [
        [
          'role',
          (version) =>
            api.patch(
              `/users/${member.member.id}`,
              { roleId: ROLE.readonly },
              { token: owner.token, headers: ifMatch(version) },
            ),
          'role_changed',
        ],
        [
          'agent access',
          (version) =>
            api.patch(
              `/users/${member.member.id}`,
              { agentAccess: true },
              { token: owner.token, headers: ifMatch(version) },
            ),
          'agent_access_changed',
        ],
        [
          'revoke',
          (version) =>
            api.post(`/users/${member.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(version) }),
          null,
        ],
        [
          'reactivate',
          (version) =>
            api.post(`/users/${member.member.id}/reactivate`, undefined, {
              token: owner.token,
              headers: ifMatch(version),
            }),
          null,
        ],
      ];
      // The join's own pushes (read after its COMMIT, as other member changes still are) are out first.
      await app.app.get(LiveEvents).idle();
      let version = member.member.version;
      for (const [what, change, reason] of changes) {
        liveReads = 0;
        const before = version;
        const upserted = next(
          dashboard,
          'user.upserted',
          (d) => d.member.id === member.member.id && d.member.version > before,
        );
        const pushed = reason ? next(own, 'me.permissions', (d) => d.reason === reason) : null;
        const reply = await change(version);
        expect(reply.status, what).toBe(200);
        version = reply.body.version;
        const event = await upserted;
        expect(event.member, what).toEqual(asListed(reply.body));
        if (pushed) {
          const me = await api.get<MeDto>('/me', { token: member.token });
          expect(await pushed, what).toMatchObject({
            version: me.body.permissions.version,
            keys: me.body.permissions.keys,
          });
        }
        await app.app.get(LiveEvents).idle();
        expect(liveReads, what).toBe(0);
      }
    } finally {
      spy.mockRestore();
    }
  });

  it('an accepted invitation is pushed as it committed: a role change right after it is not pushed as the acceptance (issue 18)', async () => {
    const owner = await business();
    const dashboard = await track(owner.token);
    const email = uniqueEmail('late');
    const invited = await invite(api, owner, [email], { roleId: ROLE.editor });
    expect(invited.status).toBe(201);
    const memberId = invited.body.items[0]!.id;
    // Every read the live layer makes waits until the role change below has committed: a delivery
    // that reads the member after its COMMIT (as the acceptance's did) then reads the later role.
    const held = await holdLiveReads();
    try {
      const firstActive = next(
        dashboard,
        'user.upserted',
        (d) => d.member.id === memberId && d.member.status === 'active',
      );
      const accepted = await api.post<{ token: string; member: MemberDto }>('/invitations/accept', {
        token: await awaitInvitationToken(app.config.dataDir, email),
        name: 'Lena Late',
        password: PASSWORD,
      });
      expect(accepted.status).toBe(200);
      const changed = await api.patch<MemberDetailDto>(
        `/users/${memberId}`,
        { roleId: ROLE.readonly },
        { token: owner.token, headers: ifMatch(accepted.body.member.version) },
      );
      expect(changed.status).toBe(200);
      held.release();
      const pushed = await firstActive;
      expect(pushed.member).toEqual(accepted.body.member);
      expect(pushed.member.role.id).toBe(ROLE.editor);
    } finally {
      held.release();
    }
  });

  // The same race for every other change that pushes a member (issue 18): each hands the member over
  // as its transaction committed it. Before, these read the member after the COMMIT, so a role change
  // committed before that read went out under their seq, carrying the later role and version.
  const laterChange: Record<string, (owner: SignedUp, memberId: string) => Promise<{ version: number; seq?: number }>> =
    {
      'an invitation resent': async (owner, memberId) => {
        const resent = await api.post<MemberDto>(`/users/${memberId}/resend-invitation`, undefined, {
          token: owner.token,
          headers: ifMatch(await memberVersion(owner, memberId)),
        });
        expect(resent.status).toBe(200);
        return { version: resent.body.version };
      },
      'a bulk resend': async (owner, memberId) => {
        const bulk = await api.post('/users/bulk', { action: 'resend', ids: [memberId] }, { token: owner.token });
        expect(bulk.status, JSON.stringify(bulk.body)).toBe(200);
        return { version: await memberVersion(owner, memberId) };
      },
      'a SCIM rename of an invited member': async (owner, memberId) => {
        const token = (await api.post<{ token: string }>('/account/scim-token', undefined, { token: owner.token })).body
          .token;
        const response = await fetch(`${app.url}/scim/v2/Users/${memberId}`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
          body: JSON.stringify({
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'replace', path: 'displayName', value: 'Renamed By Scim' }],
          }),
        });
        const user = (await response.json()) as { meta: { version: string } };
        expect(response.status).toBe(200);
        return { version: Number(/"(\d+)"/.exec(user.meta.version)![1]) };
      },
    };
  for (const [change, run] of Object.entries(laterChange)) {
    it(`${change} is pushed as it committed: a role change right after it is not pushed as it (issue 18)`, async () => {
      const owner = await createAccount(api, { plan: 'enterprise' });
      const dashboard = await track(owner.token);
      const invited = await invite(api, owner, [uniqueEmail('held')], { roleId: ROLE.editor });
      expect(invited.status).toBe(201);
      const memberId = invited.body.items[0]!.id;
      const pushes = recorder(dashboard);
      const held = await holdLiveReads();
      try {
        const { version } = await run(owner, memberId);
        const roleChanged = await api.patch<MemberDetailDto>(
          `/users/${memberId}`,
          { roleId: ROLE.readonly },
          { token: owner.token, headers: ifMatch(version) },
        );
        expect(roleChanged.status).toBe(200);
        const last = next(
          dashboard,
          'user.upserted',
          (d) => d.member.id === memberId && d.member.role.id === ROLE.readonly,
        );
        held.release();
        await last;
        // `user.upserted`, or a bulk action's `users.bulk` part.
        const about = pushes.events
          .flatMap((e) =>
            e.event === 'user.upserted'
              ? [(e.data as { member: MemberDto }).member]
              : e.event === 'users.bulk'
                ? (e.data as { members: MemberDto[] }).members
                : [],
          )
          .filter((member) => member.id === memberId);
        // One push per change, each with the member as that change left it.
        expect(about.map((member) => [member.version, member.role.id])).toEqual([
          [version, ROLE.editor],
          [roleChanged.body.version, ROLE.readonly],
        ]);
      } finally {
        held.release();
      }
    });
  }

  // The same race for the account, role, team and person changes (issue 18): each event carries what
  // its transaction committed. Before, their pushes were read after the COMMIT, so a later change
  // committed before that read went out under their seq (the later state, twice).
  const membersIn = (events: { event: string; data: unknown }[], memberId: string) =>
    events
      .filter((e) => e.event === 'user.upserted')
      .map((e) => (e.data as { member: MemberDto }).member)
      .filter((member) => member.id === memberId);

  it('a billing transfer is pushed as it committed: a role change of its new contact right after it is not pushed as it (issue 18)', async () => {
    const owner = await business();
    const member = await join(owner, { roleId: ROLE.editor });
    await app.app.get(LiveEvents).idle();
    const dashboard = await track(owner.token);
    const pushes = recorder(dashboard);
    await app.app.get(LiveEvents).idle();
    const ownSocket = await track(member.token);
    const own = recorder(ownSocket);
    const held = await holdLiveReads();
    try {
      const account = (await api.get<{ version: number }>('/account', { token: owner.token })).body;
      const transfer = await api.post(
        '/account/transfer-billing',
        { memberId: member.member.id },
        { token: owner.token, headers: ifMatch(account.version) },
      );
      expect(transfer.status).toBe(200);
      const transferred = (await api.get<MemberDto>(`/users/${member.member.id}`, { token: owner.token })).body;
      const transferredSet = (await api.get<MeDto>('/me', { token: member.token })).body.permissions;
      const changed = await api.patch<MemberDetailDto>(
        `/users/${member.member.id}`,
        { roleId: ROLE.readonly },
        { token: owner.token, headers: ifMatch(transferred.version) },
      );
      expect(changed.status).toBe(200);
      const last = next(ownSocket, 'me.permissions', (d) => d.reason === 'role_changed');
      held.release();
      await last;
      await app.app.get(LiveEvents).idle();
      expect(membersIn(pushes.events, member.member.id).map((m) => [m.version, m.role.id, m.isBillingContact])).toEqual(
        [
          [transferred.version, ROLE.editor, true],
          [changed.body.version, ROLE.readonly, true],
        ],
      );
      const sets = own.events
        .filter((e) => e.event === 'me.permissions')
        .map((e) => e.data as { version: number; roleId: string; reason: string })
        .filter((d) => d.reason !== 'connected');
      expect(sets.map((d) => [d.reason, d.version, d.roleId])).toEqual([
        ['billing_transferred', transferredSet.version, ROLE.editor],
        ['role_changed', expect.any(Number), ROLE.readonly],
      ]);
    } finally {
      held.release();
    }
  });

  /** Something renamed twice in a row: where it lives, and the event its pushes are. */
  const renamedTwice: Record<
    string,
    {
      event: 'account.updated' | 'team.upserted';
      /** The thing's path and version, made ready in the owner's account. */
      prepare: (owner: SignedUp) => Promise<{ path: string; version: number }>;
      names: [string, string];
    }
  > = {
    'an account rename': {
      event: 'account.updated',
      prepare: async (owner) => ({
        path: '/account',
        version: (await api.get<{ version: number }>('/account', { token: owner.token })).body.version,
      }),
      names: ['First name', 'Second name'],
    },
    'a team rename': {
      event: 'team.upserted',
      prepare: async (owner) => {
        const account = (await api.get<{ version: number }>('/account', { token: owner.token })).body;
        await api.patch('/account', { teamsEnabled: true }, { token: owner.token, headers: ifMatch(account.version) });
        const team = await api.post<{ id: string; version: number }>(
          '/teams',
          { name: 'Alpha' },
          { token: owner.token },
        );
        expect(team.status).toBe(201);
        return { path: `/teams/${team.body.id}`, version: team.body.version };
      },
      names: ['Beta', 'Gamma'],
    },
  };
  for (const [what, { event, prepare, names }] of Object.entries(renamedTwice)) {
    it(`${what} is pushed as it committed: a second rename right after it is not pushed as it (issue 18)`, async () => {
      const owner = await business();
      const { path, version } = await prepare(owner);
      await app.app.get(LiveEvents).idle();
      const dashboard = await track(owner.token);
      const pushes = recorder(dashboard);
      const pushed = (data: unknown) =>
        (data as Record<string, { name: string; version: number }>)[event === 'account.updated' ? 'account' : 'team']!;
      const held = await holdLiveReads();
      try {
        const first = await api.patch<{ version: number }>(
          path,
          { name: names[0] },
          { token: owner.token, headers: ifMatch(version) },
        );
        expect(first.status).toBe(200);
        const second = await api.patch<{ version: number }>(
          path,
          { name: names[1] },
          { token: owner.token, headers: ifMatch(first.body.version) },
        );
        expect(second.status).toBe(200);
        const last = next(dashboard, event, (d) => pushed(d).name === names[1]);
        held.release();
        await last;
        await app.app.get(LiveEvents).idle();
        expect(
          pushes.events.filter((e) => e.event === event).map((e) => [pushed(e.data).name, pushed(e.data).version]),
        ).toEqual([
          [names[0], first.body.version],
          [names[1], second.body.version],
        ]);
      } finally {
        held.release();
      }
    });
  }

  it('a role deletion is pushed as it committed: a role change of a moved member right after it is not pushed as it (issue 18)', async () => {
    const owner = await business();
    const role = await api.post<{ id: string; version: number }>(
      '/roles',
      { name: 'Doomed', description: '', icon: 'bolt', permissions: ['users.view'] },
      { token: owner.token },
    );
    expect(role.status).toBe(201);
    const member = await join(owner, { roleId: role.body.id });
    await app.app.get(LiveEvents).idle();
    const dashboard = await track(owner.token);
    const pushes = recorder(dashboard);
    await app.app.get(LiveEvents).idle();
    const ownSocket = await track(member.token);
    const own = recorder(ownSocket);
    const held = await holdLiveReads();
    try {
      const removed = await api.delete(`/roles/${role.body.id}?reassignTo=${ROLE.editor}`, undefined, {
        token: owner.token,
        headers: ifMatch(role.body.version),
      });
      expect(removed.status).toBe(204);
      const moved = (await api.get<MemberDto>(`/users/${member.member.id}`, { token: owner.token })).body;
      const changed = await api.patch<MemberDetailDto>(
        `/users/${member.member.id}`,
        { roleId: ROLE.readonly },
        { token: owner.token, headers: ifMatch(moved.version) },
      );
      expect(changed.status).toBe(200);
      const last = next(ownSocket, 'me.permissions', (d) => d.reason === 'role_changed');
      held.release();
      await last;
      await app.app.get(LiveEvents).idle();
      expect(membersIn(pushes.events, member.member.id).map((m) => [m.version, m.role.id])).toEqual([
        [moved.version, ROLE.editor],
        [changed.body.version, ROLE.readonly],
      ]);
      const sets = own.events
        .filter((e) => e.event === 'me.permissions')
        .map((e) => e.data as { roleId: string; reason: string })
        .filter((d) => d.reason !== 'connected');
      expect(sets.map((d) => [d.reason, d.roleId])).toEqual([
        ['role_deleted', ROLE.editor],
        ['role_changed', ROLE.readonly],
      ]);
    } finally {
      held.release();
    }
  });

  it("a role rename is pushed as it committed: its holders then are told, though one's role changes right after (issue 18)", async () => {
    const owner = await business();
    const role = await api.post<{ id: string; version: number }>(
      '/roles',
      { name: 'Before', description: '', icon: 'bolt', permissions: ['users.view'] },
      { token: owner.token },
    );
    const member = await join(owner, { roleId: role.body.id });
    await app.app.get(LiveEvents).idle();
    const ownSocket = await track(member.token);
    const own = recorder(ownSocket);
    const held = await holdLiveReads();
    try {
      const renamed = await api.patch(
        `/roles/${role.body.id}`,
        { name: 'After' },
        { token: owner.token, headers: ifMatch(role.body.version) },
      );
      expect(renamed.status).toBe(200);
      const changed = await api.patch<MemberDetailDto>(
        `/users/${member.member.id}`,
        { roleId: ROLE.readonly },
        { token: owner.token, headers: ifMatch(await memberVersion(owner, member.member.id)) },
      );
      expect(changed.status).toBe(200);
      const last = next(ownSocket, 'me.permissions', (d) => d.reason === 'role_changed');
      held.release();
      await last;
      await app.app.get(LiveEvents).idle();
      const roles = own.events
        .filter((e) => e.event === 'me.updated' && (e.data as { role?: unknown }).role)
        .map((e) => (e.data as { role: { id: string; name: string } }).role);
      expect(roles).toEqual([{ id: role.body.id, name: 'After', icon: 'bolt' }]);
    } finally {
      held.release();
    }
  });

  it("a person's 2FA switched on is pushed as it committed: a role change right after it is not pushed as it (issue 18)", async () => {
    const owner = await business();
    const member = await join(owner, { roleId: ROLE.editor });
    await app.app.get(LiveEvents).idle();
    const dashboard = await track(owner.token);
    const pushes = recorder(dashboard);
    const held = await holdLiveReads();
    try {
      const before = await memberVersion(owner, member.member.id);
      await enrolTotp(api, member.token, app.clock.now());
      const changed = await api.patch<MemberDetailDto>(
        `/users/${member.member.id}`,
        { roleId: ROLE.readonly },
        { token: owner.token, headers: ifMatch(before) },
      );
      expect(changed.status).toBe(200);
      const last = next(
        dashboard,
        'user.upserted',
        (d) => d.member.id === member.member.id && d.member.role.id === ROLE.readonly,
      );
      held.release();
      await last;
      await app.app.get(LiveEvents).idle();
      expect(membersIn(pushes.events, member.member.id).map((m) => [m.version, m.role.id, m.twoFactorEnabled])).toEqual(
        [
          [before, ROLE.editor, true],
          [changed.body.version, ROLE.readonly, true],
        ],
      );
    } finally {
      held.release();
    }
  });

  it("a person's new name reaches every account they belong to: one entry in each, pushed to their dashboards and replayed by sync", async () => {
    const owner = await business();
    const person = await join(owner, { roleId: ROLE.editor, name: 'Pat Before' });
    // The same person owns a second account of their own.
    const own = await api.post<{ token: string; member: MemberDto }>('/signup', {
      accountName: 'Pat Co',
      name: 'Pat Before',
      email: person.email,
      password: PASSWORD,
    });
    expect(own.status).toBe(201);
    await app.app.get(LiveEvents).idle();
    const dashboards = [await track(owner.token), await track(own.body.token)];
    const renamed = dashboards.map((dashboard, i) =>
      next(
        dashboard,
        'user.upserted',
        (d) => d.member.id === (i === 0 ? person.member.id : own.body.member.id) && d.member.name === 'Pat After',
      ),
    );
    const reply = await api.patch<MeDto>('/me', { name: 'Pat After' }, { token: person.token });
    expect(reply.status).toBe(200);
    const pushed = await Promise.all(renamed);
    for (const [i, token] of [owner.token, own.body.token].entries()) {
      const entries = (await api.get<{ items: ActivityEntryDto[] }>('/activity?limit=5', { token })).body.items;
      const entry = entries.find((e) => e.action === 'person.renamed');
      expect(entry).toMatchObject({ changes: { name: { before: 'Pat Before', after: 'Pat After' } } });
      expect(pushed[i]!.seq).toBe(entry!.seq);
      expect((await api.get<{ ok: boolean }>('/activity/verify', { token })).body.ok).toBe(true);
      // A dashboard that missed the push gets it from sync.
      const replay = await dashboards[i]!.emitWithAck('sync', { afterSeq: entry!.seq - 1 });
      expect(replay).toMatchObject({
        ok: true,
        events: [{ event: 'user.upserted', data: { seq: entry!.seq, member: { name: 'Pat After' } } }],
      });
    }
    // The same name again changes nothing and logs nothing.
    const seq = (await api.get<MeDto>('/me', { token: owner.token })).body.account.activitySeq;
    expect((await api.patch<MeDto>('/me', { name: 'Pat After' }, { token: person.token })).status).toBe(200);
    expect((await api.get<MeDto>('/me', { token: owner.token })).body.account.activitySeq).toBe(seq);
  });

  it('pushes account, role, team and person changes as their transactions committed them, reading nothing after the COMMIT (issue 18 (a))', async () => {
    const owner = await business();
    const member = await join(owner, { roleId: ROLE.editor });
    await app.app.get(LiveEvents).idle();
    const dashboardSocket = await track(owner.token);
    const dashboard = recorder(dashboardSocket);
    const ownSocket = await track(member.token);
    const own = recorder(ownSocket);
    await app.app.get(LiveEvents).idle();
    const db = app.app.get(Database);
    const read = db.read.bind(db);
    let liveReads = 0;
    const spy = vi.spyOn(db, 'read').mockImplementation(((work: Parameters<typeof read>[0]) => {
      if (new Error().stack?.includes('LiveEvents')) liveReads += 1;
      return read(work);
    }) as typeof db.read);
    try {
      const accountVersion = async () =>
        (await api.get<{ version: number }>('/account', { token: owner.token })).body.version;
      const role = await api.post<{ id: string; version: number }>(
        '/roles',
        { name: 'Custom', description: '', icon: 'bolt', permissions: ['users.view'] },
        { token: owner.token },
      );
      const expectStatus = async (what: string, reply: Promise<{ status: number }>, status = 200) =>
        expect((await reply).status, what).toBe(status);
      await expectStatus('role created', Promise.resolve(role), 201);
      await expectStatus(
        'member moved to the role',
        api.patch(
          `/users/${member.member.id}`,
          { roleId: role.body.id },
          { token: owner.token, headers: ifMatch(await memberVersion(owner, member.member.id)) },
        ),
      );
      liveReads = 0;
      await expectStatus(
        'account renamed',
        api.patch(
          '/account',
          { name: 'Renamed', teamsEnabled: true },
          { token: owner.token, headers: ifMatch(await accountVersion()) },
        ),
      );
      await expectStatus(
        'billing transferred',
        api.post(
          '/account/transfer-billing',
          { memberId: member.member.id },
          { token: owner.token, headers: ifMatch(await accountVersion()) },
        ),
      );
      await expectStatus(
        'role edited and renamed',
        api.patch(
          `/roles/${role.body.id}`,
          { name: 'Custom 2', permissions: ['users.view', 'activity.view'] },
          { token: owner.token, headers: ifMatch(role.body.version) },
        ),
      );
      await expectStatus(
        'role deleted',
        api.delete(`/roles/${role.body.id}?reassignTo=${ROLE.editor}`, undefined, {
          token: owner.token,
          headers: ifMatch(role.body.version + 1),
        }),
        204,
      );
      const team = await api.post<{ id: string; version: number }>('/teams', { name: 'T' }, { token: owner.token });
      await expectStatus('team created', Promise.resolve(team), 201);
      await expectStatus(
        'team renamed',
        api.patch(`/teams/${team.body.id}`, { name: 'U' }, { token: owner.token, headers: ifMatch(team.body.version) }),
      );
      await expectStatus(
        'team deleted',
        api.delete(`/teams/${team.body.id}`, undefined, {
          token: owner.token,
          headers: ifMatch(team.body.version + 1),
        }),
        204,
      );
      await enrolTotp(api, member.token, app.clock.now());
      const lastOwn = next(ownSocket, 'me.permissions', (d) => d.reason === 'ownership_transferred');
      const lastDashboard = next(
        dashboardSocket,
        'user.upserted',
        (d) => d.member.id === member.member.id && d.member.isOwner,
      );
      await expectStatus(
        'ownership transferred',
        api.post(
          '/account/transfer-ownership',
          { memberId: member.member.id },
          { token: owner.token, headers: ifMatch(await accountVersion()) },
        ),
      );
      await Promise.all([lastOwn, lastDashboard]);
      await app.app.get(LiveEvents).idle();
      // Each change was pushed (so the count below is about deliveries that ran).
      const names = dashboard.events.map((e) => e.event);
      for (const name of ['account.updated', 'role.upserted', 'role.removed', 'team.upserted', 'team.removed'])
        expect(names, name).toContain(name);
      const reasons = own.events
        .filter((e) => e.event === 'me.permissions')
        .map((e) => (e.data as { reason: string }).reason);
      for (const reason of ['billing_transferred', 'role_edited', 'role_deleted', 'ownership_transferred'])
        expect(reasons, reason).toContain(reason);
      expect(
        own.events.some(
          (e) => e.event === 'me.updated' && (e.data as { role?: { name: string } }).role?.name === 'Custom 2',
        ),
      ).toBe(true);
      expect(
        membersIn(dashboard.events, member.member.id).some((m) => m.twoFactorEnabled === true),
        '2FA pushed',
      ).toBe(true);
      expect(liveReads).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('revocation: me.revoked on every session, disconnect, 401 on REST, reconnect refused', async () => {
    const owner = await business();
    const member = await join(owner);
    const { tokens, sockets: three } = await threeSessions(member.email, member.token);
    const revoked = three.map((s) => next(s, 'me.revoked'));
    const gone = three.map((s) => disconnected(s));
    await api.post(`/users/${member.member.id}/revoke`, undefined, {
      token: owner.token,
      headers: ifMatch(member.member.version),
    });
    for (const push of await Promise.all(revoked)) expect(push).toEqual({ reason: 'member_revoked' });
    await Promise.all(gone);
    expect((await api.get('/me', { token: tokens[0]! })).body).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
    await expect(connected(connect(app.url, tokens[1]!))).rejects.toThrow('SESSION_REVOKED');
  });

  it('a member of another account receives nothing, ever', async () => {
    const owner = await business();
    const stranger = await business();
    const watcher = recorder(await track(stranger.token));
    const member = await join(owner);
    await api.patch(
      `/users/${member.member.id}`,
      { roleId: ROLE.readonly },
      { token: owner.token, headers: ifMatch(member.member.version) },
    );
    await api.post('/roles', { name: 'X', description: '', icon: 'bolt', permissions: [] }, { token: owner.token });
    await sleep(200);
    expect(watcher.events).toEqual([]);
  });
});

describe('account room and activity', () => {
  it('sends account events with their seq to users.view holders only', async () => {
    const owner = await business();
    const editor = await join(owner, { roleId: ROLE.editor });
    const adminSocket = await track(owner.token);
    const editorLog = recorder(await track(editor.token));
    const upserted = next(adminSocket, 'user.upserted', (d) => d.member.email.startsWith('seen'));
    await api.post(
      '/users/invitations',
      { emails: ['seen.live@example.com'], roleId: ROLE.readonly },
      { token: owner.token },
    );
    const event = await upserted;
    expect(event.member).toMatchObject({ email: 'seen.live@example.com', status: 'invited' });
    const activity = await api.get<{ items: { seq: number; target: { id: string } }[] }>('/activity?limit=1', {
      token: owner.token,
    });
    expect(event.seq).toBe(activity.body.items[0]!.seq);
    await sleep(100);
    // The editor's own join (me.updated at the version join returned) may still be in flight over
    // Redis when the socket connects; anything newer, or about anyone else, must not arrive.
    expect(editorLog.events.filter((e) => e.event !== 'me.permissions' && !ownJoin(e, editor))).toEqual([]);
  });

  it('refuses activity.subscribe without activity.view, and streams entries to subscribers with filters', async () => {
    const owner = await business();
    const editor = await join(owner, { roleId: ROLE.editor });
    const editorSocket = await track(editor.token);
    expect(await editorSocket.emitWithAck('activity.subscribe', {})).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await editorSocket.emitWithAck('sync', { afterSeq: 0 })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const all = await track(owner.token);
    const onlyRoles = await track(owner.token);
    expect(await all.emitWithAck('activity.subscribe', {})).toEqual({ ok: true });
    expect(await onlyRoles.emitWithAck('activity.subscribe', { action: ['role.created'] })).toEqual({ ok: true });
    const rolesLog = recorder(onlyRoles);
    const first = next(
      all,
      'activity.appended',
      (d) => d.entry.action === 'team.created' || d.entry.action === 'user.invited',
    );
    await api.post(
      '/users/invitations',
      { emails: ['stream@example.com'], roleId: ROLE.readonly },
      { token: owner.token },
    );
    expect((await first).entry).toMatchObject({ action: 'user.invited', target: { label: 'stream@example.com' } });
    const roleEntry = next(onlyRoles, 'activity.appended');
    await api.post(
      '/roles',
      { name: 'Streamed', description: '', icon: 'bolt', permissions: [] },
      { token: owner.token },
    );
    expect((await roleEntry).entry.action).toBe('role.created');
    expect(rolesLog.events.filter((e) => e.event === 'activity.appended')).toHaveLength(1);
  });

  it('takes a socket out of the account room and the activity stream as soon as its member loses the permission', async () => {
    const owner = await business();
    const admin = await join(owner, { roleId: ROLE.admin });
    const socket = await track(admin.token);
    expect(await socket.emitWithAck('activity.subscribe', {})).toEqual({ ok: true });
    const pushed = next(socket, 'me.permissions');
    await api.patch(
      `/users/${admin.member.id}`,
      { roleId: ROLE.editor },
      { token: owner.token, headers: ifMatch(admin.member.version) },
    );
    await pushed;
    await sleep(100);
    const log = recorder(socket);
    await api.post(
      '/users/invitations',
      { emails: ['after.demotion@example.com'], roleId: ROLE.readonly },
      { token: owner.token },
    );
    await sleep(200);
    expect(log.events).toEqual([]);
  });

  it('sync returns exactly the missed account events in order, or resync when too far behind', async () => {
    const owner = await business();
    const socket = await track(owner.token);
    const start = (await api.get<{ items: { seq: number }[] }>('/activity?limit=1', { token: owner.token })).body
      .items[0]!.seq;
    await api.post(
      '/users/invitations',
      { emails: ['s1@example.com', 's2@example.com'], roleId: ROLE.readonly },
      { token: owner.token },
    );
    const role = (
      await api.post<{ id: string }>(
        '/roles',
        { name: 'Synced', description: '', icon: 'bolt', permissions: [] },
        { token: owner.token },
      )
    ).body;
    const reply = await socket.emitWithAck('sync', { afterSeq: start });
    expect(reply.ok).toBe(true);
    const result = reply as { ok: true; events: { event: string; data: { seq: number } }[]; seq: number };
    expect(result.events.map((e) => e.event)).toEqual(['user.upserted', 'user.upserted', 'role.upserted']);
    expect(result.events.map((e) => e.data.seq)).toEqual([start + 1, start + 2, start + 3]);
    expect(result.seq).toBe(start + 3);
    expect((result.events[2]!.data as unknown as { role: { id: string } }).role.id).toBe(role.id);
    expect(await socket.emitWithAck('sync', { afterSeq: start + 3 })).toEqual({ ok: true, events: [], seq: start + 3 });
    expect(await socket.emitWithAck('sync', { afterSeq: start + 1000 })).toEqual({ ok: true, resync: true });
  });
});

describe('presence', () => {
  it('shows who is on a member page and who is editing, and forgets a disconnected viewer', async () => {
    const owner = await business();
    const admin = await join(owner, { roleId: ROLE.admin, name: 'Alex Admin' });
    const target = await join(owner);
    const resource = `member:${target.member.id}` as const;
    const ownerSocket = await track(owner.token);
    const adminSocket = await track(admin.token);
    expect(await ownerSocket.emitWithAck('presence.enter', { resource, editing: false })).toMatchObject({
      ok: true,
      viewers: [{ memberId: owner.member.id }],
    });
    const seen = next(ownerSocket, 'presence', (d) => d.viewers.length === 2);
    await adminSocket.emitWithAck('presence.enter', { resource, editing: true });
    const both = await seen;
    expect(both.viewers).toEqual(
      expect.arrayContaining([{ memberId: admin.member.id, name: 'Alex Admin', editing: true }]),
    );
    const left = next(ownerSocket, 'presence', (d) => d.viewers.length === 1);
    adminSocket.disconnect();
    expect((await left).viewers).toEqual([{ memberId: owner.member.id, name: 'Olive Owner', editing: false }]);
    const editor = await join(owner, { roleId: ROLE.editor });
    const editorSocket = await track(editor.token);
    expect(await editorSocket.emitWithAck('presence.enter', { resource, editing: false })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });
});
