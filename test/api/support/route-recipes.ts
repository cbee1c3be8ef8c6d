import type { AccountDto, ActivityEntryDto, MemberDto, MemberPageDto, PermissionCatalogueDto, RecoveryCodesDto, RoleDto, RoleListDto, TeamDto, TotpSetupDto } from '@rolecall/contracts';
import type { WebhookEndpointDto } from '@rolecall/contracts';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { ifMatch, PASSWORD, ROLE, totpAt, uniqueEmail } from './factories.js';
import type { Reply } from './http.js';
import { query } from './db.js';
import { invitationToken, waitForLinkToken } from './outbox.js';
import {
  accountOf,
  accountVersion,
  activeTarget,
  createRole,
  createTeam,
  disposeMember,
  disposeRole,
  disposeTeam,
  expectStatus,
  freshSession,
  invitedTarget,
  revokedTarget,
  rolesOf,
  type Actor,
  type PersonaName,
  type PersonaProfile,
  type Tenant,
  type World,
} from './world.js';

/** One cell of the matrix as a recipe sees it: who calls, and in which world. */
export interface Cell {
  readonly world: World;
  readonly persona: PersonaName;
  readonly profile: PersonaProfile;
  readonly actor: Actor;
  /** The account the persona's session is in (ours for everyone but `otherAccount`). */
  readonly own: Tenant;
  /** Whether the persona holds a working session (set-up such as 2FA enrolment needs one). */
  readonly signedIn: boolean;
}

/** The request a recipe built for one cell. */
export interface Prepared {
  /** Values for the route's `:param`s. */
  readonly params?: Record<string, string>;
  readonly query?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Sends this bearer instead of the persona's own (e.g. a fresh session the call may end). */
  readonly token?: string | null;
  /** Ids and emails of our account this cell created: another tenant must never see them. */
  readonly ourIds?: readonly string[];
  /** Runs after the call, whatever it answered, to restore the world for the next cells. */
  readonly cleanup?: (reply: Reply) => Promise<void>;
  /** `manual`: answer the redirect itself (the browser-facing SSO routes always redirect). */
  readonly redirect?: 'manual';
}

/**
 * What the matrix must know about a route beyond the permission it declares.
 * - `rule`: `owner` (only the account owner passes; SPEC: plan, validation, ownership transfer);
 *   `billingTransfer` (the owner, or the billing contact if Admin); `apiKey` (only a request made
 *   with an API key passes: GET /service-accounts/self).
 * - `tenantScoped`: the call addresses a resource of our account by id (path or body), so the
 *   owner of another account must get 404 and change nothing.
 * - `success`: the status an allowed call answers with the request this recipe builds.
 */
export interface Recipe {
  readonly success: 200 | 201 | 202 | 204 | 302;
  readonly rule?: 'owner' | 'billingTransfer' | 'apiKey';
  readonly tenantScoped?: boolean;
  /** Builds the request; without it the call has no params, query or body. */
  prepare?(cell: Cell): Promise<Prepared> | Prepared;
  /** Extra checks on an allowed answer (e.g. a collection shows our data to our own members). */
  verify?(reply: Reply, cell: Cell): void;
}

const ours = (cell: Cell) => cell.profile.tenant === 'ours';

/** A target member of our account, removed again after the call. */
function withMember(member: Pick<MemberDto, 'id' | 'email' | 'version'>, cell: Cell, rest: Omit<Prepared, 'params' | 'ourIds' | 'cleanup'> = {}): Prepared {
  return {
    ...rest,
    params: { id: member.id },
    headers: { ...ifMatch(member.version), ...rest.headers },
    ourIds: [member.id, member.email],
    cleanup: () => disposeMember(cell.world, cell.world.ours, member.id),
  };
}

/** Turns 2FA on for a signed-in persona; answers its recovery codes. */
async function enrolTwoFactor(cell: Cell, token: string): Promise<string[]> {
  const { api, app } = cell.world;
  const setup = expectStatus('2FA set-up', await api.post<TotpSetupDto>('/me/2fa/setup', undefined, { token }), 200);
  const code = await totpAt(setup.secret, app.clock.now());
  return expectStatus('2FA confirm', await api.post<RecoveryCodesDto>('/me/2fa/confirm', { code }, { token }), 200).recoveryCodes;
}

async function disableTwoFactor(cell: Cell, token: string, code: string): Promise<void> {
  expectStatus('turn 2FA off again', await cell.world.api.delete('/me/2fa', { code }, { token }), 204);
}

/**
 * A live mailed link of a person who just signed up (own account, outside the world): the
 * verification link sign-up sends, or a password-reset link asked for afterwards.
 */
async function freshLink(world: World, kind: 'verify' | 'reset'): Promise<string> {
  const email = uniqueEmail(kind);
  const body = { accountName: 'Linked Ltd', name: 'Link Holder', email, password: PASSWORD };
  expectStatus('sign up a link holder', await world.api.post('/signup', body), 201);
  if (kind === 'verify') return waitForLinkToken(world.app.config.dataDir, email, '/verify-email/');
  expectStatus('ask for a reset', await world.api.post('/auth/password-reset', { email }), 202);
  return waitForLinkToken(world.app.config.dataDir, email, '/reset-password/');
}

/**
 * A webhook endpoint of a tenant for the matrix (audit streaming): created paused with a public
 * address (the matrix app has no WEBHOOKS_ALLOW_LOCAL), then pointed at TEST-NET-1 (192.0.2.1), which
 * delivery refuses without a connection, and enabled when asked: nothing ever leaves the machine.
 */
async function createWebhook(world: World, tenant: Tenant, enabled = false): Promise<WebhookEndpointDto> {
  const created = expectStatus('create a webhook', await world.api.post<WebhookEndpointDto>('/webhooks', { url: 'https://93.184.215.14/matrix', enabled: false }, { token: tenant.ownerToken }), 201);
  await query(world.app, 'UPDATE webhook_endpoints SET url = ? WHERE id = ?', ['https://192.0.2.1/matrix', created.id]);
  if (!enabled) return { ...created, url: 'https://192.0.2.1/matrix' };
  return expectStatus('enable a webhook', await world.api.patch<WebhookEndpointDto>(`/webhooks/${created.id}`, { enabled: true }, { token: tenant.ownerToken, headers: ifMatch(created.version) }), 200);
}

async function disposeWebhook(world: World, tenant: Tenant, id: string): Promise<void> {
  const current = await world.api.get<WebhookEndpointDto>(`/webhooks/${id}`, { token: tenant.ownerToken });
  if (current.status === 404) return;
  const endpoint = expectStatus('read a webhook for clean-up', current, 200);
  expectStatus('delete a webhook for clean-up', await world.api.delete(`/webhooks/${id}`, undefined, { token: tenant.ownerToken, headers: ifMatch(endpoint.version) }), 204);
}

/** A tenant-scoped webhook route: one endpoint of ours, removed again after the call. */
async function withWebhook(cell: Cell, rest: (endpoint: WebhookEndpointDto) => Omit<Prepared, 'params' | 'ourIds' | 'cleanup'> = () => ({}), enabled = false): Promise<Prepared> {
  const { world } = cell;
  const endpoint = await createWebhook(world, world.ours, enabled);
  return { ...rest(endpoint), params: { id: endpoint.id }, ourIds: [endpoint.id], cleanup: () => disposeWebhook(world, world.ours, endpoint.id) };
}

/**
 * One recipe per registered route, keyed `METHOD /path` exactly as `registeredRoutes` spells it.
 * A route without a recipe fails the matrix; so does a recipe without a route.
 */
export const RECIPES: Readonly<Record<string, Recipe>> = {
  // ---- public ----
  'GET /health': { success: 200, prepare: () => ({}) },
  'GET /health/live': { success: 200, prepare: () => ({}) },
  'GET /health/ready': { success: 200, prepare: () => ({}) },

  'POST /signup': {
    success: 201,
    prepare: () => ({ body: { accountName: 'Initech', name: 'New Owner', email: uniqueEmail('signup'), password: PASSWORD, plan: 'business' } }),
  },

  'POST /auth/sign-in': {
    success: 200,
    // A persona with a login signs in as itself; the others use the Read only member's login.
    prepare: ({ world, actor, signedIn }) => {
      const login = signedIn ? actor : world.actors.readonly;
      return { body: { email: login.email, password: PASSWORD } };
    },
  },

  'GET /invitations/:token': { success: 200, prepare: ({ world }) => ({ params: { token: world.invitationToken } }) },

  'POST /invitations/accept': {
    success: 200,
    prepare: async (cell) => {
      const target = await invitedTarget(cell.world);
      const token = invitationToken(cell.world.app.config.dataDir, target.email);
      return { body: { token, name: 'New Member', password: PASSWORD }, ourIds: [target.id, target.email], cleanup: () => disposeMember(cell.world, cell.world.ours, target.id) };
    },
  },

  // Mailed links (issue 13): each cell signs up a fresh person, so a link is live for every call.
  'GET /auth/verify-email/:token': {
    success: 200,
    prepare: async ({ world }) => ({ params: { token: await freshLink(world, 'verify') } }),
  },

  'POST /auth/verify-email': {
    success: 204,
    // Sent with the persona's own session, which is not the link's person: the claim path, so a password.
    prepare: async ({ world }) => ({ body: { token: await freshLink(world, 'verify'), password: PASSWORD } }),
  },

  'POST /auth/password-reset': { success: 202, prepare: () => ({ body: { email: uniqueEmail('reset') } }) },

  'GET /auth/password-reset/:token': {
    success: 200,
    prepare: async ({ world }) => ({ params: { token: await freshLink(world, 'reset') } }),
  },

  'POST /auth/password-reset/confirm': {
    success: 204,
    prepare: async ({ world }) => ({ body: { token: await freshLink(world, 'reset'), password: `${PASSWORD} again` } }),
  },

  // ---- the signed-in person ----
  'POST /auth/sign-out': {
    success: 204,
    prepare: async (cell) => (cell.signedIn ? { token: (await freshSession(cell.world, cell.actor)).token } : {}),
  },

  'POST /auth/switch-account': {
    success: 200,
    // To the account the session is already in: allowed for anyone signed in, changes nothing.
    prepare: ({ own }) => ({ body: { accountId: own.accountId } }),
  },

  // Public and always 200: the request's own session (GET /me) or `{ signedIn: false }`.
  'GET /auth/session': {
    success: 200,
    verify: (reply, cell) => expect((reply.body as { signedIn: boolean }).signedIn).toBe(cell.signedIn),
  },

  'GET /me': { success: 200 },
  'PATCH /me': { success: 200, prepare: ({ actor }) => ({ body: { name: actor.name } }) },
  'GET /me/sessions': { success: 200 },

  'DELETE /me/sessions/:id': {
    success: 204,
    prepare: async (cell) => ({ params: { id: cell.signedIn ? (await freshSession(cell.world, cell.actor)).sessionId : randomUUID() } }),
  },

  'POST /me/verify-email': {
    success: 204,
    // Most personas joined through an invitation (verified): make the address unverified for the call.
    prepare: async (cell) => {
      if (!cell.signedIn || !cell.actor.email) return {};
      const email = cell.actor.email;
      const [row] = await query<{ email_verified: boolean | number }>(cell.world.app, 'SELECT email_verified FROM persons WHERE email = ?', [email]);
      await query(cell.world.app, 'UPDATE persons SET email_verified = ? WHERE email = ?', [false, email]);
      return { cleanup: async () => void (await query(cell.world.app, 'UPDATE persons SET email_verified = ? WHERE email = ?', [Boolean(row?.email_verified), email])) };
    },
  },

  'POST /me/2fa/setup': { success: 200 },

  'POST /me/2fa/confirm': {
    success: 200,
    prepare: async (cell) => {
      if (!cell.signedIn) return { body: { code: '123456' } };
      const token = cell.actor.token!;
      const setup = expectStatus('2FA set-up', await cell.world.api.post<TotpSetupDto>('/me/2fa/setup', undefined, { token }), 200);
      return {
        body: { code: await totpAt(setup.secret, cell.world.app.clock.now()) },
        cleanup: async (reply) => {
          if (reply.status === 200) await disableTwoFactor(cell, token, (reply.body as RecoveryCodesDto).recoveryCodes[0]!);
        },
      };
    },
  },

  'DELETE /me/2fa': {
    success: 204,
    prepare: async (cell) => {
      if (!cell.signedIn) return { body: { code: '123456' } };
      const token = cell.actor.token!;
      const codes = await enrolTwoFactor(cell, token);
      return {
        body: { code: codes[0] },
        cleanup: async (reply) => {
          if (reply.status !== 204) await disableTwoFactor(cell, token, codes[1]!);
        },
      };
    },
  },

  // ---- the account ----
  'GET /account': {
    success: 200,
    verify: (reply, cell) => expect((reply.body as AccountDto).id).toBe(cell.own.accountId),
  },

  'PATCH /account': {
    success: 200,
    prepare: async ({ world, own }) => ({ body: { name: `Acme ${randomUUID().slice(0, 8)}` }, headers: ifMatch(await accountVersion(world.api, own)) }),
  },

  'POST /account/plan': {
    success: 200,
    rule: 'owner',
    prepare: async ({ world, own }) => ({
      body: { plan: 'enterprise' },
      headers: ifMatch(await accountVersion(world.api, own)),
      cleanup: async () => {
        const account = await accountOf(world.api, own);
        if (account.plan === 'business') return;
        const back = await world.api.post('/account/plan', { plan: 'business' }, { token: own.ownerToken, headers: ifMatch(account.version) });
        expectStatus('change the plan back', back, 200);
      },
    }),
  },

  'POST /account/validation': {
    success: 200,
    rule: 'owner',
    prepare: async ({ world, own }) => ({ body: { phone: '+14155550123' }, headers: ifMatch(await accountVersion(world.api, own)) }),
  },

  'POST /account/transfer-ownership': {
    success: 200,
    rule: 'owner',
    tenantScoped: true,
    prepare: async ({ world, own }) => {
      const target = await activeTarget(world);
      return {
        body: { memberId: target.member.id },
        headers: ifMatch(await accountVersion(world.api, own)),
        ourIds: [target.member.id, target.email],
        cleanup: async () => {
          // Whoever ended up owner, the target hands it back to our owner, then leaves.
          const account = expectStatus('read the account as the target', await world.api.get<AccountDto>('/account', { token: target.token }), 200);
          if (account.ownerId === target.member.id) {
            const back = await world.api.post('/account/transfer-ownership', { memberId: world.ours.ownerMemberId }, { token: target.token, headers: ifMatch(account.version) });
            expectStatus('hand ownership back', back, 200);
          }
          await disposeMember(world, world.ours, target.member.id);
        },
      };
    },
  },

  'POST /account/transfer-billing': {
    success: 200,
    rule: 'billingTransfer',
    tenantScoped: true,
    prepare: async ({ world, own }) => {
      const target = await activeTarget(world);
      return {
        body: { memberId: target.member.id },
        headers: ifMatch(await accountVersion(world.api, own)),
        ourIds: [target.member.id, target.email],
        cleanup: async () => {
          const account = await accountOf(world.api, world.ours);
          const billingContact = world.actors.billingContact.memberId!;
          if (account.billingContactId !== billingContact) {
            const back = await world.api.post('/account/transfer-billing', { memberId: billingContact }, { token: world.ours.ownerToken, headers: ifMatch(account.version) });
            expectStatus('hand billing back', back, 200);
          }
          await disposeMember(world, world.ours, target.member.id);
        },
      };
    },
  },

  // ---- members ----
  'GET /users': {
    success: 200,
    prepare: () => ({ query: 'limit=200' }),
    // Our members see our owner: so the other tenant's "sees none of ours" check is not vacuous.
    verify: (reply, cell) => {
      if (ours(cell)) expect((reply.body as MemberPageDto).items.map((m) => m.id)).toContain(cell.world.ours.ownerMemberId);
    },
  },

  'GET /users/:id': { success: 200, tenantScoped: true, prepare: ({ world }) => ({ params: { id: world.actors.editor.memberId! } }) },

  // "What can <name> do" (issue 17 §4): the editor's keys, with a source for each.
  'GET /users/:id/permissions': {
    success: 200,
    tenantScoped: true,
    prepare: ({ world }) => ({ params: { id: world.actors.editor.memberId! } }),
    verify: (reply) => {
      const body = reply.body as { keys: string[]; sources: Record<string, unknown[]> };
      expect(body.keys).toContain('people.edit');
      expect(body.keys.every((key) => (body.sources[key] ?? []).length > 0)).toBe(true);
    },
  },

  'POST /users/invitations': {
    success: 201,
    prepare: ({ world, own }) => ({
      body: { emails: [uniqueEmail('invitee')], roleId: ROLE.editor, agentAccess: false, teamIds: [] },
      cleanup: async (reply) => {
        if (reply.status !== 201) return;
        for (const member of (reply.body as { items: MemberDto[] }).items) await disposeMember(world, own, member.id);
      },
    }),
  },

  'POST /users/bulk': {
    success: 200,
    // Not `tenantScoped`: another account's ids are skipped as not found (200, nothing changed), which `verify` checks.
    prepare: async (cell) => {
      const target = await invitedTarget(cell.world);
      return { body: { action: 'resend', ids: [target.id] }, cleanup: () => disposeMember(cell.world, cell.world.ours, target.id) };
    },
    verify: (reply, cell) => {
      const body = reply.body as { changed: string[]; skipped: { reason: string }[] };
      if (ours(cell)) expect(body.changed).toHaveLength(1);
      else expect({ changed: body.changed, skipped: body.skipped.map((s) => s.reason) }).toEqual({ changed: [], skipped: ['not_found'] });
    },
  },

  'GET /users/export': {
    success: 200,
    prepare: () => ({ query: 'format=csv&sort=email' }),
    // Our members export our owner: so the other tenant's "sees none of ours" check is not vacuous.
    verify: (reply, cell) => {
      const text = String(reply.body);
      expect(text.split('\n')[0]).toMatch(/^ID,Name,Email,Role,/);
      if (ours(cell)) expect(text).toContain(cell.world.ours.ownerMemberId);
    },
  },

  'POST /users/import': {
    success: 201,
    prepare: ({ world, own }) => ({
      body: { csv: `email,role,agent access,teams\n${uniqueEmail('imported')},Read only,no,\n` },
      cleanup: async (reply) => {
        if (reply.status !== 201) return;
        for (const member of (reply.body as { items: MemberDto[] }).items) await disposeMember(world, own, member.id);
      },
    }),
  },

  'PATCH /users/:id': {
    success: 200,
    tenantScoped: true,
    prepare: async (cell) => withMember(await invitedTarget(cell.world), cell, { body: { roleId: ROLE.readonly } }),
  },

  'POST /users/:id/revoke': { success: 200, tenantScoped: true, prepare: async (cell) => withMember((await activeTarget(cell.world)).member, cell) },
  'POST /users/:id/reactivate': { success: 200, tenantScoped: true, prepare: async (cell) => withMember(await revokedTarget(cell.world), cell) },
  'POST /users/:id/resend-invitation': { success: 200, tenantScoped: true, prepare: async (cell) => withMember(await invitedTarget(cell.world), cell) },
  'DELETE /users/:id': { success: 204, tenantScoped: true, prepare: async (cell) => withMember(await invitedTarget(cell.world), cell) },

  'GET /users/:id/sessions': { success: 200, tenantScoped: true, prepare: ({ world }) => ({ params: { id: world.actors.editor.memberId! } }) },

  'DELETE /users/:id/2fa': {
    success: 204,
    tenantScoped: true,
    // A member who turned 2FA on, so an allowed call really resets something.
    prepare: async (cell) => {
      const target = await activeTarget(cell.world);
      await enrolTwoFactor(cell, target.token);
      return withMember(target.member, cell, { headers: ifMatch(target.member.version) });
    },
  },

  'DELETE /users/:id/sessions': {
    success: 204,
    tenantScoped: true,
    // A member with a live session of its own, so an allowed call really ends something.
    prepare: async (cell) => {
      const target = await activeTarget(cell.world);
      return {
        params: { id: target.member.id },
        headers: ifMatch(target.member.version),
        ourIds: [target.member.id, target.email],
        cleanup: () => disposeMember(cell.world, cell.world.ours, target.member.id),
      };
    },
  },

  // ---- Talk teams ----
  'GET /teams': {
    success: 200,
    verify: (reply, cell) => {
      if (ours(cell)) expect((reply.body as { items: TeamDto[] }).items.map((t) => t.id)).toContain(cell.world.teamId);
    },
  },

  'POST /teams': {
    success: 201,
    prepare: ({ world, own }) => ({
      body: { name: `New team ${randomUUID().slice(0, 8)}` },
      cleanup: async (reply) => {
        if (reply.status === 201) await disposeTeam(world, own, (reply.body as TeamDto).id);
      },
    }),
  },

  'PATCH /teams/:id': {
    success: 200,
    tenantScoped: true,
    prepare: async ({ world }) => {
      const team = await createTeam(world);
      return {
        params: { id: team.id },
        body: { name: `Renamed ${randomUUID().slice(0, 8)}` },
        headers: ifMatch(team.version),
        ourIds: [team.id],
        cleanup: () => disposeTeam(world, world.ours, team.id),
      };
    },
  },

  'DELETE /teams/:id': {
    success: 204,
    tenantScoped: true,
    prepare: async ({ world }) => {
      const team = await createTeam(world);
      return { params: { id: team.id }, headers: ifMatch(team.version), ourIds: [team.id], cleanup: () => disposeTeam(world, world.ours, team.id) };
    },
  },

  // ---- roles ----
  'GET /permissions': {
    success: 200,
    verify: (reply) => expect((reply.body as PermissionCatalogueDto).features.map((f) => f.key)).toContain('users'),
  },

  'GET /roles': {
    success: 200,
    verify: (reply, cell) => {
      if (ours(cell)) expect((reply.body as RoleListDto).items.map((r) => r.id)).toContain(cell.world.roleId);
    },
  },

  'GET /roles/:id': { success: 200, tenantScoped: true, prepare: ({ world }) => ({ params: { id: world.roleId } }) },

  'POST /roles': {
    success: 201,
    prepare: ({ world, own }) => ({
      body: { name: `New role ${randomUUID().slice(0, 8)}`, description: '', icon: 'star', permissions: ['reports.view'] },
      cleanup: async (reply) => {
        if (reply.status === 201) await disposeRole(world, own, (reply.body as RoleDto).id);
      },
    }),
  },

  'PATCH /roles/:id': {
    success: 200,
    tenantScoped: true,
    prepare: async ({ world }) => {
      const role = await createRole(world, world.ours);
      return {
        params: { id: role.id },
        body: { description: 'Changed by the matrix' },
        headers: ifMatch(role.version),
        ourIds: [role.id],
        cleanup: () => disposeRole(world, world.ours, role.id),
      };
    },
  },

  'DELETE /roles/:id': {
    success: 204,
    tenantScoped: true,
    prepare: async ({ world }) => {
      const role = await createRole(world, world.ours);
      return { params: { id: role.id }, headers: ifMatch(role.version), ourIds: [role.id], cleanup: () => disposeRole(world, world.ours, role.id) };
    },
  },

  // Issue 17 §4: logs role.previewed and answers the role's keys (a custom role: another tenant gets 404).
  'POST /roles/:id/preview': {
    success: 200,
    tenantScoped: true,
    prepare: ({ world }) => ({ params: { id: world.roleId } }),
    verify: (reply) => expect((reply.body as { keys: string[] }).keys.length).toBeGreaterThan(0),
  },

  // Issue 17 §5: a custom copy, removed again after the call.
  'POST /roles/:id/duplicate': {
    success: 201,
    tenantScoped: true,
    prepare: ({ world, own }) => ({
      params: { id: world.roleId },
      cleanup: async (reply) => {
        if (reply.status === 201) await disposeRole(world, own, (reply.body as RoleDto).id);
      },
    }),
    verify: (reply) => expect((reply.body as RoleDto).name).toMatch(/\(copy( \d+)?\)$/),
  },

  'PUT /roles/order': {
    success: 200,
    // Every custom role of the caller's own account, in reverse order, guarded by `rolesVersion`.
    prepare: async ({ world, own }) => {
      const roles = await rolesOf(world, own);
      return { body: { roleIds: roles.items.filter((r) => !r.system).map((r) => r.id).reverse() }, headers: ifMatch(roles.rolesVersion) };
    },
  },

  // ---- activity ----
  'GET /activity': {
    success: 200,
    prepare: () => ({ query: 'limit=200' }),
    verify: (reply, cell) => {
      const actors = (reply.body as { items: ActivityEntryDto[] }).items.map((e) => e.actor.memberId);
      if (ours(cell)) expect(actors).toContain(cell.world.ours.ownerMemberId);
    },
  },

  'GET /activity/verify': {
    success: 200,
    verify: (reply) => expect(reply.body).toMatchObject({ ok: true, firstBadSeq: null }),
  },

  'GET /activity/export': {
    success: 200,
    prepare: () => ({ query: 'format=ndjson' }),
    verify: (reply, cell) => {
      const lines = String(reply.body).trim().split('\n').map((line) => JSON.parse(line) as { seq: number; accountId: string });
      expect(lines[0]).toMatchObject({ seq: 1, accountId: cell.own.accountId });
    },
  },

  // ---- audit streaming: webhooks (account.manage) ----
  'GET /webhooks': {
    success: 200,
    verify: (reply) => expect(Array.isArray((reply.body as { items: unknown[] }).items)).toBe(true),
  },

  'POST /webhooks': {
    success: 201,
    prepare: ({ world, own }) => ({
      body: { url: 'https://93.184.215.14/matrix', enabled: false },
      cleanup: async (reply) => {
        if (reply.status === 201) await disposeWebhook(world, own, (reply.body as WebhookEndpointDto).id);
      },
    }),
    verify: (reply) => expect((reply.body as { secret: string }).secret).toMatch(/^whsec_/),
  },

  'GET /webhooks/:id': { success: 200, tenantScoped: true, prepare: (cell) => withWebhook(cell) },

  'PATCH /webhooks/:id': {
    success: 200,
    tenantScoped: true,
    prepare: (cell) => withWebhook(cell, (endpoint) => ({ body: { description: 'Changed by the matrix' }, headers: ifMatch(endpoint.version) })),
  },

  'DELETE /webhooks/:id': {
    success: 204,
    tenantScoped: true,
    prepare: (cell) => withWebhook(cell, (endpoint) => ({ headers: ifMatch(endpoint.version) })),
  },

  'POST /webhooks/:id/rotate-secret': {
    success: 200,
    tenantScoped: true,
    prepare: (cell) => withWebhook(cell, (endpoint) => ({ headers: ifMatch(endpoint.version) })),
  },

  'POST /webhooks/:id/retry': { success: 200, tenantScoped: true, prepare: (cell) => withWebhook(cell, () => ({}), true) },

  'GET /webhooks/:id/deliveries': { success: 200, tenantScoped: true, prepare: (cell) => withWebhook(cell) },

  // ---- single sign-on (the matrix app has no provider configured) ----
  'GET /auth/sso/providers': {
    success: 200,
    prepare: ({ own }) => ({ query: `account=${own.accountId}` }),
    verify: (reply) => expect(reply.body).toEqual({ providers: [], authEnforcement: 'any' }),
  },

  // Browser navigations: always a redirect, here to the sign-in page with the reason.
  'GET /auth/sso/:provider/start': {
    success: 302,
    prepare: ({ own }) => ({ params: { provider: 'google' }, query: `account=${own.accountId}`, redirect: 'manual' }),
    verify: (reply, { own }) => expect(reply.headers.get('location')).toBe(`/signin?sso_error=PROVIDER_NOT_CONFIGURED&account=${own.accountId}`),
  },

  'GET /auth/sso/:provider/callback': {
    success: 302,
    prepare: () => ({ params: { provider: 'google' }, query: 'code=matrix&state=matrix', redirect: 'manual' }),
    verify: (reply) => expect(reply.headers.get('location')).toBe('/signin?sso_error=STATE_INVALID'),
  },

  // ---- SCIM provisioning (issue 16 §2): the account's SCIM token; /scim/v2 itself is judged in routes.spec ----
  'GET /account/scim-token': {
    success: 200,
    verify: (reply) => expect(reply.body).toEqual(expect.objectContaining({ enabled: expect.any(Boolean), baseUrl: expect.stringMatching(/\/scim\/v2$/) })),
  },
  'POST /account/scim-token': {
    success: 201,
    verify: (reply) => expect((reply.body as { token: string }).token).toMatch(/^scim_/),
  },
  'DELETE /account/scim-token': {
    success: 204,
    // A token to turn off, made in the caller's own account by its owner.
    prepare: async ({ world, own }) => {
      expectStatus('make a SCIM token', await world.api.post('/account/scim-token', undefined, { token: own.ownerToken }), 201);
      return {};
    },
  },

  'PUT /account/okta': {
    success: 200,
    // Okta is Enterprise only: the account moves up for the call and back to Business after it.
    prepare: async ({ world, own }) => {
      await setPlan(world, own, 'enterprise');
      return {
        body: { issuer: 'https://matrix.okta.example.com', clientId: 'matrix-client', clientSecret: 'matrix-secret' },
        headers: ifMatch(await accountVersion(world.api, own)),
        cleanup: () => setPlan(world, own, 'business'),
      };
    },
    verify: (reply) => {
      expect((reply.body as AccountDto).okta).toEqual({ issuer: 'https://matrix.okta.example.com', clientId: 'matrix-client' });
      expect(JSON.stringify(reply.body)).not.toContain('matrix-secret');
    },
  },

  // ---- service accounts and API keys (issue 16 §3): users.manage; /self only for an API key ----
  'GET /service-accounts': { success: 200 },
  'GET /service-accounts/self': {
    success: 200,
    rule: 'apiKey',
    verify: (reply, cell) => expect((reply.body as { serviceAccount: { id: string } }).serviceAccount.id).toBe(cell.actor.memberId),
  },
  'POST /service-accounts': {
    success: 201,
    prepare: ({ world }) => ({
      body: { name: 'Matrix bot', roleId: ROLE.readonly },
      cleanup: async (reply) => {
        if (reply.status === 201) await disposeServiceAccount(world, world.ours, (reply.body as { id: string }).id);
      },
    }),
  },
  'GET /service-accounts/:id': { success: 200, tenantScoped: true, prepare: (cell) => withServiceAccount(cell) },
  'PATCH /service-accounts/:id': {
    success: 200,
    tenantScoped: true,
    prepare: (cell) => withServiceAccount(cell, (sa) => ({ body: { name: 'Renamed bot' }, headers: ifMatch(sa.version) })),
  },
  'DELETE /service-accounts/:id': { success: 204, tenantScoped: true, prepare: (cell) => withServiceAccount(cell) },
  'POST /service-accounts/:id/keys': { success: 201, tenantScoped: true, prepare: (cell) => withServiceAccount(cell, () => ({ body: {} })) },
  'DELETE /service-accounts/:id/keys/:keyId': {
    success: 204,
    tenantScoped: true,
    prepare: async (cell) => {
      const prepared = await withServiceAccount(cell);
      const key = expectStatus('issue a key', await cell.world.api.post<{ id: string }>(`/service-accounts/${prepared.params!['id']}/keys`, {}, { token: cell.world.ours.ownerToken }), 201);
      return { ...prepared, params: { ...prepared.params, keyId: key.id }, ourIds: [...(prepared.ourIds ?? []), key.id] };
    },
  },
};

/** A service account of ours (Read only role) for a tenant-scoped route, removed again after the call. */
async function withServiceAccount(cell: Cell, rest: (sa: { id: string; version: number }) => Omit<Prepared, 'params' | 'ourIds' | 'cleanup'> = () => ({})): Promise<Prepared> {
  const { world } = cell;
  const sa = expectStatus('create a service account', await world.api.post<{ id: string; version: number }>('/service-accounts', { name: 'Matrix target', roleId: ROLE.readonly }, { token: world.ours.ownerToken }), 201);
  return { ...rest(sa), params: { id: sa.id }, ourIds: [sa.id], cleanup: () => disposeServiceAccount(world, world.ours, sa.id) };
}

async function disposeServiceAccount(world: World, tenant: Tenant, id: string): Promise<void> {
  const reply = await world.api.delete(`/service-accounts/${id}`, undefined, { token: tenant.ownerToken });
  if (reply.status !== 404) expectStatus('delete a service account for clean-up', reply, 204);
}

/** Changes a tenant's plan as its owner (no-op when already on it). */
async function setPlan(world: World, tenant: Tenant, plan: 'business' | 'enterprise'): Promise<void> {
  const account = await accountOf(world.api, tenant);
  if (account.plan === plan) return;
  expectStatus(`move to the ${plan} plan`, await world.api.post('/account/plan', { plan }, { token: tenant.ownerToken, headers: ifMatch(account.version) }), 200);
}
