import type { AuthResultDto, InvitationInfoDto, InvitationPreviewDto, MemberDto, MemberPageDto } from '@rolecall/contracts';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Database } from '../../apps/api/src/database/database.service.js';
import { startApp, type TestApp } from './support/app.js';
import { activityActions } from './support/db.js';
import { createAccount, ifMatch, invite, inviteAndAccept, PASSWORD, ROLE, uniqueEmail } from './support/factories.js';
import { client, type Client } from './support/http.js';
import { decodeQuotedPrintable, invitationToken, mailsTo, waitForLinkToken } from './support/outbox.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const starter = () => createAccount(api, { plan: 'starter', name: 'Olive Owner', accountName: 'Initech' });

describe('POST /users/invitations', () => {
  it('invites several emails, normalised and de-duplicated, as invited members with one role', async () => {
    const owner = await starter();
    const a = uniqueEmail('a');
    const b = uniqueEmail('b');
    const reply = await invite(api, owner, [` ${a.toUpperCase()} `, a, b], { roleId: ROLE.readonly });
    expect(reply.status).toBe(201);
    expect(reply.body.items.map((m) => m.email).sort()).toEqual([a, b].sort());
    for (const member of reply.body.items) {
      expect(member).toMatchObject({ status: 'invited', role: { id: ROLE.readonly, name: 'Read only' }, twoFactorEnabled: null, joinedAt: null, name: null });
    }
    const account = await api.get<{ seats: { used: number; invited: number } }>('/account', { token: owner.token });
    expect(account.body.seats).toMatchObject({ used: 3, invited: 2 });
    expect(await activityActions(app, owner.account.id)).toEqual(['account.created', 'user.invited', 'user.invited']);
  });

  it('mails each invitee a plain-text and an HTML part naming the account and the inviter, with a link that works', async () => {
    const owner = await starter();
    const email = uniqueEmail('mail');
    await invite(api, owner, [email]);
    const [mail] = mailsTo(app.config.dataDir, email);
    const decoded = decodeQuotedPrintable(mail!);
    expect(decoded).toMatch(/Content-Type: text\/plain/);
    expect(decoded).toMatch(/Content-Type: text\/html/);
    expect(decoded).toMatch(/^Subject: Olive Owner invited you to Initech on Rolecall$/m);
    expect(decoded).toContain(`${app.config.publicUrl}/invite/`);
    const info = await api.get<InvitationInfoDto>(`/invitations/${invitationToken(app.config.dataDir, email)}`);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ accountName: 'Initech', email, invitedBy: 'Olive Owner', existingPerson: false });
  });

  it('stores only the SHA-256 of each token', async () => {
    const owner = await starter();
    const email = uniqueEmail();
    await invite(api, owner, [email]);
    const token = invitationToken(app.config.dataDir, email);
    const { query } = await import('./support/db.js');
    const rows = await query<{ token_hash: string }>(app, 'SELECT token_hash FROM invitations');
    expect(rows.some((r) => r.token_hash === token)).toBe(false);
    const { createHash } = await import('node:crypto');
    expect(rows.some((r) => r.token_hash === createHash('sha256').update(token).digest('hex'))).toBe(true);
  });

  it('previews seats and agent cost with ?dryRun=true without writing anything', async () => {
    const owner = await starter();
    const emails = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
    const reply = await api.post<InvitationPreviewDto>('/users/invitations?dryRun=true', { emails, roleId: ROLE.editor, agentAccess: true, teamIds: [] }, { token: owner.token });
    expect(reply.status).toBe(200);
    expect(reply.body.seats).toEqual({ limit: 10, used: 4, invited: 3 });
    expect(reply.body.agentSeats).toEqual({ limit: 3, used: 3, free: 1, billable: 2, monthlyCost: 38 });
    expect(reply.body.wouldFail).toBeNull();
    const list = await api.get<MemberPageDto>('/users', { token: owner.token });
    expect(list.body.total).toBe(1);
    expect(mailsTo(app.config.dataDir, emails[0]!)).toHaveLength(0);
    expect(await activityActions(app, owner.account.id)).toEqual(['account.created']);
  });

  it('is all or nothing against the seat limit', async () => {
    const owner = await createAccount(api); // free: 3 seats
    const reply = await invite(api, owner, [uniqueEmail(), uniqueEmail(), uniqueEmail()]);
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ error: { code: 'SEAT_LIMIT_REACHED', details: { limit: 3, used: 1, requested: 3 } } });
    expect((await api.get<MemberPageDto>('/users', { token: owner.token })).body.total).toBe(1);
  });

  it('is all or nothing against the agent-seat limit', async () => {
    const owner = await createAccount(api); // free: 1 agent seat
    const reply = await invite(api, owner, [uniqueEmail(), uniqueEmail()], { agentAccess: true });
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ error: { code: 'AGENT_SEAT_LIMIT_REACHED', details: { limit: 1 } } });
  });

  it('refuses emails that are already members, naming them and saying whether they are revoked', async () => {
    const owner = await starter();
    const member = await inviteAndAccept(api, app.config.dataDir, owner);
    const revoke = await api.post(`/users/${member.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(member.member.version) });
    expect(revoke.status).toBe(200);
    const pending = uniqueEmail('pending');
    await invite(api, owner, [pending]);
    const fresh = uniqueEmail('fresh');
    const reply = await invite(api, owner, [fresh, member.email, pending]);
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ error: { code: 'USER_EXISTS' } });
    const details = (reply.body as unknown as { error: { details: { members: { email: string; revoked: boolean; status: string }[] } } }).error.details.members;
    expect(details.sort((x, y) => x.email.localeCompare(y.email))).toEqual(
      [
        { id: member.member.id, email: member.email, status: 'revoked', revoked: true },
        { id: expect.any(String), email: pending, status: 'invited', revoked: false },
      ].sort((x, y) => x.email.localeCompare(y.email)),
    );
    expect(mailsTo(app.config.dataDir, fresh)).toHaveLength(0);
  });

  it('refuses an unknown role, a role of another account and teams while teams are off', async () => {
    const owner = await starter();
    const other = await starter();
    const unknown = await invite(api, owner, [uniqueEmail()], { roleId: '00000000-0000-4000-8000-0000000000ff' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { fields: { roleId: expect.any(Array) } } } });
    const teams = await invite(api, owner, [uniqueEmail()], { teamIds: [other.account.id] });
    expect(teams.status).toBe(400);
    expect(teams.body).toMatchObject({ error: { details: { fields: { teamIds: expect.any(Array) } } } });
  });

  it('validates the list: 1–50 emails, each a valid address, with the bad one named', async () => {
    const owner = await starter();
    const none = await api.post('/users/invitations', { emails: [], roleId: ROLE.editor, agentAccess: false, teamIds: [] }, { token: owner.token });
    expect(none.status).toBe(400);
    const tooMany = await api.post('/users/invitations', { emails: Array.from({ length: 51 }, () => uniqueEmail()), roleId: ROLE.editor }, { token: owner.token });
    expect(tooMany.status).toBe(400);
    const bad = await api.post('/users/invitations', { emails: ['ok@example.com', 'not an email'], roleId: ROLE.editor }, { token: owner.token });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { details: { fields: { 'emails.1': expect.any(Array) } } } });
  });
});

describe('accepting', () => {
  it('makes a new person an active member with the invited role and signs them in', async () => {
    const owner = await starter();
    const email = uniqueEmail('new');
    await invite(api, owner, [email], { roleId: ROLE.readonly, agentAccess: true });
    const reply = await api.post<AuthResultDto>('/invitations/accept', { token: invitationToken(app.config.dataDir, email), name: 'Nina New', password: PASSWORD });
    expect(reply.status).toBe(200);
    expect(reply.body.member).toMatchObject({ email, name: 'Nina New', status: 'active', role: { id: ROLE.readonly }, agentAccess: true, twoFactorEnabled: false });
    expect(reply.headers.get('set-cookie')).toMatch(/^rolecall_session=/);
    const me = await api.get<{ permissions: { keys: string[] } }>('/me', { token: reply.body.token });
    expect(me.body.permissions.keys).toContain('talk.view');
    expect(me.body.permissions.keys).not.toContain('people.create');
    expect((await api.post('/auth/sign-in', { email, password: PASSWORD })).status).toBe(200);
    expect(await activityActions(app, owner.account.id)).toContain('invitation.accepted');
  });

  it('asks a new person for name and password', async () => {
    const owner = await starter();
    const email = uniqueEmail();
    await invite(api, owner, [email]);
    const reply = await api.post('/invitations/accept', { token: invitationToken(app.config.dataDir, email) });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { fields: { name: ['Required'], password: ['Required'] } } } });
  });

  it('makes an existing, verified person sign in as that email first', async () => {
    const owner = await starter();
    const existing = await createAccount(api, { accountName: 'Their own' });
    // A verified address: an unverified one is taken over by the invitation (account-takeover.spec.ts).
    const verify = await waitForLinkToken(app.config.dataDir, existing.email, '/verify-email/');
    expect((await api.post('/auth/verify-email', { token: verify }, { token: existing.token })).status).toBe(204);
    await invite(api, owner, [existing.email]);
    const token = invitationToken(app.config.dataDir, existing.email);
    expect((await api.get<InvitationInfoDto>(`/invitations/${token}`)).body.existingPerson).toBe(true);

    const anonymous = await api.post('/invitations/accept', { token, name: 'Hijack', password: 'another password' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'sign_in_required' } } });
    const stranger = await createAccount(api);
    const wrongPerson = await api.post('/invitations/accept', { token }, { token: stranger.token });
    expect(wrongPerson.status).toBe(403);

    const accepted = await api.post<AuthResultDto>('/invitations/accept', { token }, { token: existing.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.account.id).toBe(owner.account.id);
    const signIn = await api.post<AuthResultDto>('/auth/sign-in', { email: existing.email, password: PASSWORD, accountId: owner.account.id });
    expect(signIn.status).toBe(200);
    expect(signIn.body.accounts.map((a) => a.id).sort()).toEqual([existing.account.id, owner.account.id].sort());
  });

  it('is single use', async () => {
    const owner = await starter();
    const email = uniqueEmail();
    await invite(api, owner, [email]);
    const token = invitationToken(app.config.dataDir, email);
    expect((await api.post('/invitations/accept', { token, name: 'A', password: PASSWORD })).status).toBe(200);
    const again = await api.post('/invitations/accept', { token, name: 'B', password: PASSWORD });
    expect(again.status).toBe(410);
    expect(again.body).toMatchObject({ error: { code: 'INVITATION_INVALID' } });
    expect((await api.get(`/invitations/${token}`)).status).toBe(410);
  });

  it.each([
    ['an anonymous accept with a password (401 "sign in" before)', false],
    ["another person's signed-in accept (403 before)", true],
  ])('answers a second accept that raced the first with INVITATION_INVALID: %s', async (_, asStranger) => {
    // The first accept makes the person (verified: the link proved the mailbox). A second one that read
    // the invitation before that commit and the person after it saw a live link for a verified person
    // without a session, and answered 401 "Sign in as …" (a double-click on Accept, or a CI machine
    // under load): the link had been used, so it is 410 whatever the person looks like by then.
    const owner = await starter();
    const email = uniqueEmail('double');
    await invite(api, owner, [email]);
    const token = invitationToken(app.config.dataDir, email);
    const stranger = asStranger ? await createAccount(api) : null;
    const db = app.app.get(Database);
    const read = db.read.bind(db);
    let acceptReads = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let held: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (held = resolve));
    // Holds the first accept's second read (the person, after the invitation) until the other accept is done.
    const spy = vi.spyOn(db, 'read').mockImplementation((async (work: Parameters<typeof read>[0]) => {
      if (new Error().stack?.includes('InvitationsService.accept') && ++acceptReads === 2) {
        held();
        await gate;
      }
      return read(work);
    }) as typeof db.read);
    try {
      const late = stranger
        ? api.post('/invitations/accept', { token }, { token: stranger.token })
        : api.post('/invitations/accept', { token, name: 'Late', password: PASSWORD });
      await holding;
      const first = await api.post('/invitations/accept', { token, name: 'First', password: PASSWORD });
      expect(first.status).toBe(200);
      open();
      const second = await late;
      expect(second.status, JSON.stringify(second.body)).toBe(410);
      expect(second.body).toMatchObject({ error: { code: 'INVITATION_INVALID' } });
    } finally {
      open();
      spy.mockRestore();
    }
  });

  it('expires after 7 days', async () => {
    const owner = await starter();
    const email = uniqueEmail();
    await invite(api, owner, [email]);
    const token = invitationToken(app.config.dataDir, email);
    app.clock.advance(7 * 24 * 3600 * 1000 + 1000);
    expect((await api.get(`/invitations/${token}`)).status).toBe(410);
    expect((await api.post('/invitations/accept', { token, name: 'A', password: PASSWORD })).status).toBe(410);
  });

  it('answers 410 for an unknown or malformed token', async () => {
    for (const token of ['x', 'A'.repeat(43), '../../etc/passwd']) {
      const reply = await api.get(`/invitations/${encodeURIComponent(token)}`);
      expect(reply.status).toBe(410);
    }
  });
});

describe('resend and cancel', () => {
  it('resend issues a new link and kills the old one', async () => {
    const owner = await starter();
    const email = uniqueEmail();
    const invited = (await invite(api, owner, [email])).body.items[0]!;
    const oldToken = invitationToken(app.config.dataDir, email);
    const stale = await api.post(`/users/${invited.id}/resend-invitation`, undefined, { token: owner.token });
    expect(stale.status).toBe(428);
    const resent = await api.post<MemberDto>(`/users/${invited.id}/resend-invitation`, undefined, { token: owner.token, headers: ifMatch(invited.version) });
    expect(resent.status).toBe(200);
    expect(resent.body.version).toBe(invited.version + 1);
    expect(resent.headers.get('etag')).toBe(`"${resent.body.version}"`);
    const newToken = invitationToken(app.config.dataDir, email);
    expect(newToken).not.toBe(oldToken);
    expect(mailsTo(app.config.dataDir, email)).toHaveLength(2);
    expect((await api.post('/invitations/accept', { token: oldToken, name: 'A', password: PASSWORD })).status).toBe(410);
    expect((await api.post('/invitations/accept', { token: newToken, name: 'A', password: PASSWORD })).status).toBe(200);
  });

  it('cancel deletes the invited member and kills the link', async () => {
    const owner = await starter();
    const email = uniqueEmail();
    const invited = (await invite(api, owner, [email])).body.items[0]!;
    const token = invitationToken(app.config.dataDir, email);
    const cancelled = await api.delete(`/users/${invited.id}`, undefined, { token: owner.token, headers: ifMatch(invited.version) });
    expect(cancelled.status).toBe(204);
    expect((await api.get(`/users/${invited.id}`, { token: owner.token })).status).toBe(404);
    expect((await api.get(`/invitations/${token}`)).status).toBe(410);
    expect(await activityActions(app, owner.account.id)).toEqual(['account.created', 'user.invited', 'invitation.cancelled']);
  });
});

describe('mail through SMTP', () => {
  it('delivers the invitation to a real SMTP server when SMTP_URL is set', async () => {
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
        stream.on('end', () => {
          received.push(data);
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.server.address() as { port: number }).port;
    const smtpApp = await startApp({ overrides: { smtpUrl: `smtp://127.0.0.1:${port}` } });
    try {
      const smtpApi = client(smtpApp.url);
      const owner = await createAccount(smtpApi, { accountName: 'Mailco', plan: 'starter' });
      const email = uniqueEmail('smtp');
      expect((await invite(smtpApi, owner, [email])).status).toBe(201);
      // The owner's sign-up sent its verification mail through the same server; one mail to the invitee.
      const toInvitee = received.filter((data) => new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}`, 'm').test(data));
      expect(toInvitee).toHaveLength(1);
      const mail = decodeQuotedPrintable(toInvitee[0]!);
      expect(mail).toMatch(new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}`, 'm'));
      expect(mail).toContain('Mailco');
      const token = /\/invite\/([A-Za-z0-9_-]{43})/.exec(mail)![1]!;
      expect((await smtpApi.post('/invitations/accept', { token, name: 'Sam Smtp', password: PASSWORD })).status).toBe(200);
      expect(mailsTo(smtpApp.config.dataDir, email)).toHaveLength(0);
    } finally {
      await smtpApp.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

