/**
 * Dry runs answer 200 (issue 15): every `?dryRun=true` route previews the change and, where the
 * real request would be refused with a 409, carries that refusal inside as `wouldFail` — the same
 * code, message and details the real request answers. Errors about the request itself (bad input,
 * a stale If-Match, a plan gate) stay errors. Nothing is ever written by a dry run.
 */
import type {
  AccountDto,
  DryRunFailureDto,
  EnforcementPreviewDto,
  ErrorBody,
  InvitationPreviewDto,
  RoleDto,
  RoleImpactPreviewDto,
} from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { activityActions } from './support/db.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  ROLE,
  uniqueEmail,
  type SignedUp,
} from './support/factories.js';
import { client, type Client } from './support/http.js';
import { mailsTo } from './support/outbox.js';

let app: TestApp;
let api: Client;

beforeAll(async () => {
  app = await startApp();
  api = client(app.url);
});
afterAll(() => app.close());

const inviteBody = (emails: string[], agentAccess = false) => ({
  emails,
  roleId: ROLE.editor,
  agentAccess,
  teamIds: [],
});

/** The dry run's `wouldFail` must be exactly the real request's error. */
function expectSameRefusal(wouldFail: DryRunFailureDto | null, real: { status: number; body: unknown }): void {
  expect(real.status).toBe(409);
  expect(wouldFail).toEqual((real.body as ErrorBody).error);
}

async function accountOf(owner: { token: string }): Promise<AccountDto> {
  return (await api.get<AccountDto>('/account', { token: owner.token })).body;
}

describe('POST /users/invitations?dryRun=true', () => {
  it('answers 200 with SEAT_LIMIT_REACHED inside, and the seats as they would be; the real request answers 409', async () => {
    const owner = await createAccount(api); // free: 3 seats
    const emails = [uniqueEmail('a'), uniqueEmail('b'), uniqueEmail('c')];
    const preview = await api.post<InvitationPreviewDto>('/users/invitations?dryRun=true', inviteBody(emails), {
      token: owner.token,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.seats).toEqual({ limit: 3, used: 4, invited: 3 });
    expect(preview.body.wouldFail).toEqual({
      code: 'SEAT_LIMIT_REACHED',
      message: expect.stringContaining('3 seats'),
      details: { limit: 3, used: 1, requested: 3 },
    });
    expectSameRefusal(preview.body.wouldFail, await invite(api, owner, emails));
    expect(await activityActions(app, owner.account.id)).toEqual(['account.created']);
    expect(mailsTo(app.config.dataDir, emails[0]!)).toHaveLength(0);
  });

  it('answers 200 with AGENT_SEAT_LIMIT_REACHED and the cost it would reach', async () => {
    const owner = await createAccount(api, { plan: 'starter' }); // 3 agent seats at $19 after the first
    const emails = [uniqueEmail(), uniqueEmail(), uniqueEmail(), uniqueEmail()];
    const preview = await api.post<InvitationPreviewDto>('/users/invitations?dryRun=true', inviteBody(emails, true), {
      token: owner.token,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.agentSeats).toEqual({ limit: 3, used: 4, free: 1, billable: 3, monthlyCost: 57 });
    expect(preview.body.wouldFail).toMatchObject({
      code: 'AGENT_SEAT_LIMIT_REACHED',
      details: { limit: 3, used: 0, requested: 4 },
    });
    expectSameRefusal(preview.body.wouldFail, await invite(api, owner, emails, { agentAccess: true }));
  });

  it('answers 200 with USER_EXISTS naming each member (and whether revoked); seats count only the new emails', async () => {
    const owner = await createAccount(api, { plan: 'starter' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner);
    const revoked = await api.post(`/users/${member.member.id}/revoke`, undefined, {
      token: owner.token,
      headers: ifMatch(member.member.version),
    });
    expect(revoked.status).toBe(200);
    const pending = uniqueEmail('pending');
    const pendingId = (await invite(api, owner, [pending])).body.items[0]!.id;
    const fresh = uniqueEmail('fresh');
    const emails = [fresh, member.email, pending];
    const preview = await api.post<InvitationPreviewDto>('/users/invitations?dryRun=true', inviteBody(emails), {
      token: owner.token,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.emails).toEqual(emails);
    // Owner + pending hold seats now; only `fresh` would take one more.
    expect(preview.body.seats).toEqual({ limit: 10, used: 3, invited: 2 });
    expect(preview.body.wouldFail?.code).toBe('USER_EXISTS');
    expect(preview.body.wouldFail?.details?.['members']).toEqual(
      expect.arrayContaining([
        { id: member.member.id, email: member.email, status: 'revoked', revoked: true },
        { id: pendingId, email: pending, status: 'invited', revoked: false },
      ]),
    );
    expectSameRefusal(preview.body.wouldFail, await invite(api, owner, emails));
  });

  it('still answers bad input with 400: a dry run is only a 200 for what the account stands in the way of', async () => {
    const owner = await createAccount(api);
    const reply = await api.post(
      '/users/invitations?dryRun=true',
      { ...inviteBody([uniqueEmail()]), roleId: owner.member.id },
      { token: owner.token },
    );
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { fields: { roleId: expect.any(Array) } } },
    });
  });
});

describe('PATCH /account?dryRun=true', () => {
  it('answers 200 with CONFLICT inside when the provider is not set up; a stale If-Match is still 412 and a plan gate 403', async () => {
    const owner = await createAccount(api, { plan: 'enterprise' });
    const { version } = await accountOf(owner);
    const preview = await api.patch<EnforcementPreviewDto>(
      '/account?dryRun=true',
      { authEnforcement: 'okta' },
      {
        token: owner.token,
        headers: ifMatch(version),
      },
    );
    expect(preview.status).toBe(200);
    expect(preview.body.wouldFail).toMatchObject({ code: 'CONFLICT', details: { provider: 'okta' } });
    expect(preview.body.lockedOut.map((m) => m.id)).toEqual([owner.member.id]);
    const real = await api.patch(
      '/account',
      { authEnforcement: 'okta' },
      { token: owner.token, headers: ifMatch(version) },
    );
    expectSameRefusal(preview.body.wouldFail, real);

    const stale = await api.patch(
      '/account?dryRun=true',
      { authEnforcement: 'okta' },
      { token: owner.token, headers: ifMatch(version + 5) },
    );
    expect(stale.status).toBe(412);
    const free = await createAccount(api);
    const gated = await api.patch(
      '/account?dryRun=true',
      { authEnforcement: 'microsoft' },
      {
        token: free.token,
        headers: ifMatch((await accountOf(free)).version),
      },
    );
    expect(gated.status).toBe(403);
    expect(gated.body).toMatchObject({ error: { code: 'PLAN_FEATURE_UNAVAILABLE' } });
    expect(await activityActions(app, owner.account.id)).toEqual(['account.created']);
  });
});

describe('roles ?dryRun=true', () => {
  async function customRole(owner: SignedUp): Promise<RoleDto> {
    const reply = await api.post<RoleDto>(
      '/roles',
      { name: `Role ${uniqueEmail().slice(7, 15)}`, description: '', icon: 'star', permissions: ['reports.view'] },
      { token: owner.token },
    );
    expect(reply.status).toBe(201);
    return reply.body;
  }

  it('PATCH of a system role answers 200 with SYSTEM_ROLE_READONLY inside and no impact; the real request answers 409', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const preview = await api.patch<RoleImpactPreviewDto>(
      `/roles/${ROLE.editor}?dryRun=true`,
      { permissions: ['reports.view'] },
      {
        token: owner.token,
        headers: ifMatch(1),
      },
    );
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({
      added: [],
      removed: [],
      affectedMembers: [],
      wouldFail: { code: 'SYSTEM_ROLE_READONLY', message: expect.stringContaining('Editor') },
    });
    const real = await api.patch(
      `/roles/${ROLE.editor}`,
      { permissions: ['reports.view'] },
      { token: owner.token, headers: ifMatch(1) },
    );
    expectSameRefusal(preview.body.wouldFail, real);
  });

  it('PATCH of a custom role answers its impact with wouldFail null; a stale If-Match is still 412', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const role = await customRole(owner);
    const preview = await api.patch<RoleImpactPreviewDto>(
      `/roles/${role.id}?dryRun=true`,
      { permissions: ['reports.export'] },
      {
        token: owner.token,
        headers: ifMatch(role.version),
      },
    );
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ added: ['reports.export'], removed: [], wouldFail: null });
    const stale = await api.patch(
      `/roles/${role.id}?dryRun=true`,
      { permissions: ['reports.export'] },
      {
        token: owner.token,
        headers: ifMatch(role.version + 1),
      },
    );
    expect(stale.status).toBe(412);
  });

  it('DELETE of a held role without reassignTo answers 200 with ROLE_IN_USE inside; the real request answers 409', async () => {
    const owner = await createAccount(api, { plan: 'business' });
    const role = await customRole(owner);
    await inviteAndAccept(api, app.config.dataDir, owner, { roleId: role.id });
    await invite(api, owner, [uniqueEmail()], { roleId: role.id });
    const preview = await api.delete<RoleImpactPreviewDto>(`/roles/${role.id}?dryRun=true`, undefined, {
      token: owner.token,
      headers: ifMatch(role.version),
    });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      affectedMembers: [],
      wouldFail: { code: 'ROLE_IN_USE', details: { members: 1, invitations: 1 } },
    });
    const real = await api.delete(`/roles/${role.id}`, undefined, {
      token: owner.token,
      headers: ifMatch(role.version),
    });
    expectSameRefusal(preview.body.wouldFail, real);
    expect((await api.get(`/roles/${role.id}`, { token: owner.token })).status).toBe(200);
    // With a role to move them to, the dry run previews the move.
    const move = await api.delete<RoleImpactPreviewDto>(
      `/roles/${role.id}?reassignTo=${ROLE.readonly}&dryRun=true`,
      undefined,
      {
        token: owner.token,
        headers: ifMatch(role.version),
      },
    );
    expect(move.status).toBe(200);
    expect(move.body.wouldFail).toBeNull();
    expect(move.body.affectedMembers).toHaveLength(1);
  });
});
