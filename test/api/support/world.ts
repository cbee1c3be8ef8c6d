import {
  ADMIN_ROLE_ID,
  EDITOR_ROLE_ID,
  READONLY_ROLE_ID,
  SYSTEM_ROLES,
  type AccountDto,
  type AuthResultDto,
  type MemberDto,
  type PermissionKey,
  type RoleDto,
  type RoleListDto,
  type SessionDto,
  type TeamDto,
} from '@rolecall/contracts';
import { effectivePermissions } from '@rolecall/domain';
import { randomBytes } from 'node:crypto';
import type { TestApp } from './app.js';
import { query } from './db.js';
import { createAccount, ifMatch, invite, inviteAndAccept, PASSWORD, uniqueEmail, type Joined } from './factories.js';
import type { Client, Reply } from './http.js';
import { invitationToken } from './outbox.js';

/**
 * The personas of the authorization matrix, in the order each route runs them: those that must be
 * refused first, the ones whose calls may change things after, the owner last.
 */
export const PERSONAS = ['anonymous', 'invited', 'revoked', 'otherAccount', 'readonly', 'editor', 'serviceAccount', 'billingContact', 'admin', 'owner'] as const;
export type PersonaName = (typeof PERSONAS)[number];

/** What a persona is, fixed before any request: the matrix computes every expectation from this. */
export interface PersonaProfile {
  /** `none`: sends no session at all; `revoked`: sends the session it had before it was revoked. */
  readonly session: 'none' | 'revoked' | 'active';
  /** Which account its session is in: ours, or another tenant's. */
  readonly tenant: 'ours' | 'other';
  readonly roleId: string | null;
  readonly isOwner: boolean;
  readonly isBillingContact: boolean;
  /** Calls with an API key of a service account holding `roleId` (issue 16 §3; Admin, so every admin route is judged for a key), not a person's session. */
  readonly apiKey?: boolean;
}

export const PROFILES: Readonly<Record<PersonaName, PersonaProfile>> = {
  anonymous: { session: 'none', tenant: 'ours', roleId: null, isOwner: false, isBillingContact: false },
  invited: { session: 'none', tenant: 'ours', roleId: EDITOR_ROLE_ID, isOwner: false, isBillingContact: false },
  revoked: { session: 'revoked', tenant: 'ours', roleId: EDITOR_ROLE_ID, isOwner: false, isBillingContact: false },
  otherAccount: { session: 'active', tenant: 'other', roleId: ADMIN_ROLE_ID, isOwner: true, isBillingContact: true },
  readonly: { session: 'active', tenant: 'ours', roleId: READONLY_ROLE_ID, isOwner: false, isBillingContact: false },
  editor: { session: 'active', tenant: 'ours', roleId: EDITOR_ROLE_ID, isOwner: false, isBillingContact: false },
  serviceAccount: { session: 'active', tenant: 'ours', roleId: ADMIN_ROLE_ID, isOwner: false, isBillingContact: false, apiKey: true },
  billingContact: { session: 'active', tenant: 'ours', roleId: EDITOR_ROLE_ID, isOwner: false, isBillingContact: true },
  admin: { session: 'active', tenant: 'ours', roleId: ADMIN_ROLE_ID, isOwner: false, isBillingContact: false },
  // Signup made the owner billing contact too; the world hands that to `billingContact`.
  owner: { session: 'active', tenant: 'ours', roleId: ADMIN_ROLE_ID, isOwner: true, isBillingContact: false },
};

/** The effective permission keys of a persona, as libs/domain computes them from the system roles. */
export function permissionsOf(persona: PersonaName): ReadonlySet<PermissionKey> {
  const profile = PROFILES[persona];
  if (profile.session !== 'active' || !profile.roleId) return new Set();
  const role = SYSTEM_ROLES.find((r) => r.id === profile.roleId);
  if (!role) throw new Error(`no system role ${profile.roleId}`);
  return new Set(effectivePermissions({ status: 'active', agentAccess: false, isBillingContact: profile.isBillingContact }, role.permissions));
}

/** An account of the world, acted on through its owner's session (set-up, versions, clean-up). */
export interface Tenant {
  readonly accountId: string;
  readonly ownerToken: string;
  readonly ownerMemberId: string;
}

export interface Actor {
  /** The bearer it sends; `null` for a persona without a session. */
  readonly token: string | null;
  readonly name: string;
  readonly email: string | null;
  readonly memberId: string | null;
}

export interface World {
  readonly app: TestApp;
  readonly api: Client;
  /** The Business account under test, Talk teams on. */
  readonly ours: Tenant;
  /** Another Business account, owned by `otherAccount`. */
  readonly theirs: Tenant;
  readonly actors: Readonly<Record<PersonaName, Actor>>;
  /** The live invitation token of `invited`. */
  readonly invitationToken: string;
  /** A Talk team of our account. */
  readonly teamId: string;
  /** A custom role of our account. */
  readonly roleId: string;
}

const fail = (what: string, reply: Reply): never => {
  throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
};

/** Asserts a set-up step answered `status` and returns its body. */
export function expectStatus<T>(what: string, reply: Reply<T>, status: number): T {
  if (reply.status !== status) fail(what, reply);
  return reply.body;
}

async function enableTeams(api: Client, tenant: Tenant): Promise<void> {
  const version = await accountVersion(api, tenant);
  expectStatus('turn Talk teams on', await api.patch('/account', { teamsEnabled: true }, { token: tenant.ownerToken, headers: ifMatch(version) }), 200);
}

const tenantOf = (signedUp: AuthResultDto): Tenant => ({ accountId: signedUp.account.id, ownerToken: signedUp.token, ownerMemberId: signedUp.member.id });

/**
 * Builds the world of the matrix: a Business account with Talk teams on, an owner, an Admin, an
 * Editor, a Read only member, an Editor who is the billing contact, a member who joined and was
 * revoked, a pending invitation, and the owner of another Business account.
 */
export async function buildWorld(app: TestApp, api: Client): Promise<World> {
  const owner = await createAccount(api, { plan: 'business', accountName: 'Acme', name: 'Persona owner' });
  const ours = tenantOf(owner);
  await enableTeams(api, ours);
  const join = (name: string, roleId: string) => inviteAndAccept(api, app.config.dataDir, owner, { roleId, name });
  const [admin, editor, readonly, billing, revoked] = [
    await join('Persona admin', ADMIN_ROLE_ID),
    await join('Persona editor', EDITOR_ROLE_ID),
    await join('Persona readonly', READONLY_ROLE_ID),
    await join('Persona billingContact', EDITOR_ROLE_ID),
    await join('Persona revoked', EDITOR_ROLE_ID),
  ] as const;

  expectStatus(
    'transfer billing to the billing-contact persona',
    await api.post('/account/transfer-billing', { memberId: billing.member.id }, { token: owner.token, headers: ifMatch(await accountVersion(api, ours)) }),
    200,
  );
  expectStatus('revoke the revoked persona', await api.post(`/users/${revoked.member.id}/revoke`, undefined, { token: owner.token, headers: ifMatch(revoked.member.version) }), 200);

  const invitedEmail = uniqueEmail('invited');
  const invited = expectStatus('invite the invited persona', await invite(api, owner, [invitedEmail]), 201).items[0]!;
  const team = expectStatus('create a team', await api.post<TeamDto>('/teams', { name: 'Support' }, { token: owner.token }), 201);
  const role = await createRole({ api }, ours);
  const serviceAccount = expectStatus('create the service account persona', await api.post<{ id: string }>('/service-accounts', { name: 'Persona serviceAccount', roleId: ADMIN_ROLE_ID }, { token: owner.token }), 201);
  const apiKey = expectStatus('issue its API key', await api.post<{ key: string }>(`/service-accounts/${serviceAccount.id}/keys`, {}, { token: owner.token }), 201);

  const other = await createAccount(api, { plan: 'business', accountName: 'Globex', name: 'Persona otherAccount' });
  const theirs = tenantOf(other);
  await enableTeams(api, theirs);

  const joined = (j: Joined, name: string): Actor => ({ token: j.token, name, email: j.email, memberId: j.member.id });
  return {
    app,
    api,
    ours,
    theirs,
    invitationToken: invitationToken(app.config.dataDir, invitedEmail),
    teamId: team.id,
    roleId: role.id,
    actors: {
      anonymous: { token: null, name: 'Persona anonymous', email: null, memberId: null },
      invited: { token: null, name: 'Persona invited', email: invitedEmail, memberId: invited.id },
      revoked: joined(revoked, 'Persona revoked'),
      otherAccount: { token: other.token, name: 'Persona otherAccount', email: other.email, memberId: other.member.id },
      readonly: joined(readonly, 'Persona readonly'),
      editor: joined(editor, 'Persona editor'),
      serviceAccount: { token: apiKey.key, name: 'Persona serviceAccount', email: null, memberId: serviceAccount.id },
      billingContact: joined(billing, 'Persona billingContact'),
      admin: joined(admin, 'Persona admin'),
      owner: { token: owner.token, name: 'Persona owner', email: owner.email, memberId: owner.member.id },
    },
  };
}

/** Every id and email of our account that the world made: another tenant must never see one. */
export function ourIdentifiers(world: World): string[] {
  const ids = [world.ours.accountId, world.teamId, world.roleId];
  for (const persona of PERSONAS) {
    if (PROFILES[persona].tenant !== 'ours') continue;
    const actor = world.actors[persona];
    if (actor.memberId) ids.push(actor.memberId);
    if (actor.email) ids.push(actor.email);
  }
  return ids;
}

/** The newest activity seq of an account (0 when empty): a refused call must not move it. */
export async function activityHead(world: World, accountId: string): Promise<number> {
  const rows = await query<{ seq: number | string | null }>(world.app, 'SELECT MAX(seq) AS seq FROM activity WHERE account_id = ?', [accountId]);
  return Number(rows[0]?.seq ?? 0);
}

// ---- set-up and clean-up helpers for recipes (all act as a tenant's owner) ----

export async function accountOf(api: Client, tenant: Pick<Tenant, 'ownerToken'>): Promise<AccountDto> {
  return expectStatus('read the account', await api.get<AccountDto>('/account', { token: tenant.ownerToken }), 200);
}

export async function accountVersion(api: Client, tenant: Pick<Tenant, 'ownerToken'>): Promise<number> {
  return (await accountOf(api, tenant)).version;
}

/** A new pending invitation in the tenant (no password hashing: cheap). */
export async function invitedTarget(world: World, tenant: Tenant = world.ours): Promise<MemberDto> {
  const reply = await invite(world.api, { token: tenant.ownerToken }, [uniqueEmail('target')], { roleId: EDITOR_ROLE_ID });
  return expectStatus('invite a target', reply, 201).items[0]!;
}

/** A new active Editor of our account, with its own session. */
export function activeTarget(world: World): Promise<Joined> {
  return inviteAndAccept(world.api, world.app.config.dataDir, { token: world.ours.ownerToken }, { roleId: EDITOR_ROLE_ID, name: 'Target' });
}

/** A new member of our account who joined and was then revoked. */
export async function revokedTarget(world: World): Promise<MemberDto> {
  const joined = await activeTarget(world);
  const reply = await world.api.post<MemberDto>(`/users/${joined.member.id}/revoke`, undefined, { token: world.ours.ownerToken, headers: ifMatch(joined.member.version) });
  return expectStatus('revoke a target', reply, 200);
}

/** Removes a member from the tenant whatever state the cell left it in (frees its seat). */
export async function disposeMember(world: World, tenant: Tenant, id: string): Promise<void> {
  const { api } = world;
  const token = tenant.ownerToken;
  const found = await api.get<MemberDto>(`/users/${id}`, { token });
  if (found.status === 404) return;
  let member = expectStatus(`read member ${id} for clean-up`, found, 200);
  if (member.status === 'active') {
    member = expectStatus('revoke for clean-up', await api.post<MemberDto>(`/users/${id}/revoke`, undefined, { token, headers: ifMatch(member.version) }), 200);
  }
  expectStatus('delete for clean-up', await api.delete(`/users/${id}`, undefined, { token, headers: ifMatch(member.version) }), 204);
}

export async function createTeam(world: World, tenant: Tenant = world.ours): Promise<TeamDto> {
  const reply = await world.api.post<TeamDto>('/teams', { name: `Team ${randomBytes(4).toString('hex')}` }, { token: tenant.ownerToken });
  return expectStatus('create a team', reply, 201);
}

export async function disposeTeam(world: World, tenant: Tenant, id: string): Promise<void> {
  const { api } = world;
  const list = expectStatus('list teams for clean-up', await api.get<{ items: TeamDto[] }>('/teams', { token: tenant.ownerToken }), 200);
  const team = list.items.find((t) => t.id === id);
  if (!team) return;
  expectStatus('delete a team for clean-up', await api.delete(`/teams/${id}`, undefined, { token: tenant.ownerToken, headers: ifMatch(team.version) }), 204);
}

/** A second session of the persona, from a real sign-in (so the call can end it harmlessly). */
export async function freshSession(world: World, actor: Actor): Promise<{ token: string; sessionId: string }> {
  if (!actor.email) throw new Error(`${actor.name} cannot sign in`);
  const signedIn = await world.api.post<AuthResultDto>('/auth/sign-in', { email: actor.email, password: PASSWORD });
  const { token } = expectStatus(`sign ${actor.name} in again`, signedIn, 200);
  const sessions = expectStatus('list own sessions', await world.api.get<{ items: SessionDto[] }>('/me/sessions', { token }), 200);
  const current = sessions.items.find((s) => s.current);
  if (!current) throw new Error('the new session is not listed as current');
  return { token, sessionId: current.id };
}

/** A custom role (Business plan: up to 20) with one permission and no holders. */
export async function createRole(world: Pick<World, 'api'>, tenant: Tenant): Promise<RoleDto> {
  const body = { name: `Role ${randomBytes(4).toString('hex')}`, description: 'Made by the matrix', icon: 'star', permissions: ['people.view'] };
  return expectStatus('create a role', await world.api.post<RoleDto>('/roles', body, { token: tenant.ownerToken }), 201);
}

export async function disposeRole(world: World, tenant: Tenant, id: string): Promise<void> {
  const found = await world.api.get<RoleDto>(`/roles/${id}`, { token: tenant.ownerToken });
  if (found.status === 404) return;
  const role = expectStatus(`read role ${id} for clean-up`, found, 200);
  expectStatus('delete a role for clean-up', await world.api.delete(`/roles/${id}`, undefined, { token: tenant.ownerToken, headers: ifMatch(role.version) }), 204);
}

/** The tenant's roles as its owner sees them (order and `rolesVersion`). */
export async function rolesOf(world: World, tenant: Tenant): Promise<RoleListDto> {
  return expectStatus('list roles', await world.api.get<RoleListDto>('/roles', { token: tenant.ownerToken }), 200);
}
