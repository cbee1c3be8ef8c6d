/**
 * The authorization matrix: every route Nest registered × every persona → the status SPEC §5 says
 * it gets. Rows come from the route table, never from a hand-written list, so a new route without a
 * recipe in support/route-recipes.ts fails here. Expectations are computed, per cell, from the
 * route's declared access, the persona's effective permissions (libs/domain over the system roles)
 * and the recipe's extra rule (owner only, billing transfer, tenant-scoped).
 */
import { ADMIN_ROLE_ID, type MeDto, type MemberPageDto, type PermissionKey } from '@rolecall/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../apps/api/src/common/access.js';
import { startApp } from './support/app.js';
import { client, isErrorShape, type Reply } from './support/http.js';
import { RECIPES, type Cell, type Prepared, type Recipe } from './support/route-recipes.js';
import { registeredRoutes, type RegisteredRoute } from './support/routes.js';
import { activityHead, buildWorld, ourIdentifiers, PERSONAS, permissionsOf, PROFILES, type PersonaName, type World } from './support/world.js';

const UNLIMITED = 100_000;
const app = await startApp({
  rateLimits: {
    signInPerIp: UNLIMITED,
    signInPerEmail: UNLIMITED,
    invitationsPerAccount: UNLIMITED,
    acceptancePerIp: UNLIMITED,
    passwordResetPerIp: UNLIMITED,
    verifyEmailPerPerson: UNLIMITED,
    linksPerIp: UNLIMITED,
  },
});
const api = client(app.url);
// Read at collection time so every cell is a named test: `METHOD /path › persona → expectation`.
// /scim/v2 is authenticated by the account's SCIM token, not a session: routes.spec judges every SCIM route.
const routes = registeredRoutes(app).filter((r) => !r.path.startsWith('/scim/v2')).sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));

let world: World;

beforeAll(async () => {
  world = await buildWorld(app, api);
});
afterAll(() => app.close());

type Expectation =
  | { kind: 'refused'; status: 401 | 403; code: 'UNAUTHENTICATED' | 'SESSION_REVOKED' | 'FORBIDDEN'; why: string }
  | { kind: 'hidden'; status: 404; code: 'NOT_FOUND' }
  | { kind: 'allowed'; status: number };

const keysOf = (access: Exclude<Access, 'public' | 'session'>): readonly PermissionKey[] => (typeof access === 'string' ? [access] : access);

/** SPEC §4–5 as a function of the cell; never written per cell. */
function expectationFor(route: RegisteredRoute, recipe: Recipe, persona: PersonaName): Expectation {
  const profile = PROFILES[persona];
  const access = route.access;
  if (access === undefined) throw new Error(`${route.route} declares no access (add @Requires)`);
  if (access === 'public') return { kind: 'allowed', status: recipe.success };
  if (profile.session === 'none') return { kind: 'refused', status: 401, code: 'UNAUTHENTICATED', why: 'no session' };
  if (profile.session === 'revoked') return { kind: 'refused', status: 401, code: 'SESSION_REVOKED', why: 'revoked member' };
  // An API key reaches no route about a person (issue 16 §3); only a key passes an `apiKey` route.
  if (profile.apiKey && access === 'session' && recipe.rule !== 'apiKey') return { kind: 'refused', status: 403, code: 'FORBIDDEN', why: 'person-only route, API key' };
  if (recipe.rule === 'apiKey' && !profile.apiKey) return { kind: 'refused', status: 403, code: 'FORBIDDEN', why: 'not an API key' };
  if (access !== 'session') {
    const held = permissionsOf(persona);
    const needed = keysOf(access);
    if (!needed.some((key) => held.has(key))) return { kind: 'refused', status: 403, code: 'FORBIDDEN', why: `lacks ${needed.join(' or ')}` };
  }
  if (recipe.rule === 'owner' && !profile.isOwner) return { kind: 'refused', status: 403, code: 'FORBIDDEN', why: 'not the owner' };
  if (recipe.rule === 'billingTransfer' && !(profile.isOwner || (profile.isBillingContact && profile.roleId === ADMIN_ROLE_ID))) {
    return { kind: 'refused', status: 403, code: 'FORBIDDEN', why: 'neither owner nor an Admin billing contact' };
  }
  if (recipe.tenantScoped && profile.tenant === 'other') return { kind: 'hidden', status: 404, code: 'NOT_FOUND' };
  return { kind: 'allowed', status: recipe.success };
}

function describeExpectation(route: RegisteredRoute, persona: PersonaName): string {
  const recipe = RECIPES[route.route];
  if (!recipe) return 'no recipe';
  try {
    const expected = expectationFor(route, recipe, persona);
    if (expected.kind === 'allowed') return `allowed (${expected.status})`;
    if (expected.kind === 'hidden') return '404 NOT_FOUND (another tenant)';
    return `${expected.status} ${expected.code} (${expected.why})`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The route's path with the recipe's params filled in. */
function urlOf(route: RegisteredRoute, prepared: Prepared): string {
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => {
    const value = prepared.params?.[name];
    if (value === undefined) throw new Error(`the recipe for ${route.route} gives no value for :${name}`);
    return encodeURIComponent(value);
  });
  return prepared.query ? `${path}?${prepared.query}` : path;
}

const errorCode = (body: unknown): string | undefined => (body as { error?: { code?: string } } | null)?.error?.code;

async function runCell(route: RegisteredRoute, persona: PersonaName): Promise<void> {
  const recipe = RECIPES[route.route];
  if (!recipe) throw new Error(`add a recipe for ${route.route} in test/api/support/route-recipes.ts`);
  const expected = expectationFor(route, recipe, persona);
  const profile = PROFILES[persona];
  const actor = world.actors[persona];
  const cell: Cell = { world, persona, profile, actor, own: profile.tenant === 'other' ? world.theirs : world.ours, signedIn: profile.session === 'active' && !profile.apiKey };
  const prepared = (await recipe.prepare?.(cell)) ?? {};
  const token = prepared.token !== undefined ? prepared.token : actor.token;

  // A refused call, and anything another tenant does, must leave our account's activity as it was.
  const watchOurs = expected.kind !== 'allowed' || (profile.tenant === 'other' && route.access !== 'public');
  const before = watchOurs ? await activityHead(world, world.ours.accountId) : 0;
  const reply: Reply = await api.request(route.method, urlOf(route, prepared), prepared.body, {
    ...(token ? { token } : {}),
    headers: prepared.headers ?? {},
    ...(prepared.redirect ? { redirect: prepared.redirect } : {}),
  });
  const after = watchOurs ? await activityHead(world, world.ours.accountId) : 0;
  let cleanupError: unknown = null;
  try {
    await prepared.cleanup?.(reply);
  } catch (error) {
    cleanupError = error;
  }

  const seen = `${route.route} as ${persona} answered ${reply.status} ${JSON.stringify(reply.body)}`;
  if (reply.status >= 400) expect(isErrorShape(reply.body), `${seen}: not the { error: { code, message } } shape`).toBe(true);
  switch (expected.kind) {
    case 'refused':
    case 'hidden':
      expect({ status: reply.status, code: errorCode(reply.body) }, seen).toEqual({ status: expected.status, code: expected.code });
      break;
    case 'allowed':
      expect([401, 403], `${seen}: must pass authorization`).not.toContain(reply.status);
      expect(reply.status, seen).toBe(expected.status);
      recipe.verify?.(reply, cell);
      break;
  }
  if (profile.tenant === 'other' && route.access !== 'public') {
    const text = JSON.stringify(reply.body ?? null).toLowerCase();
    const leaked = [...ourIdentifiers(world), ...(prepared.ourIds ?? [])].filter((id) => text.includes(id.toLowerCase()));
    expect(leaked, `${seen}: another tenant sees our data`).toEqual([]);
  }
  if (watchOurs) expect(after, `${seen}: our account's activity moved`).toBe(before);
  if (cleanupError) throw cleanupError;
}

describe('the world of the matrix', () => {
  it('gives every signed-in persona the role, flags and permissions its profile says', async () => {
    for (const persona of PERSONAS) {
      const profile = PROFILES[persona];
      if (profile.session !== 'active') continue;
      if (profile.apiKey) {
        const self = await api.get<{ account: { id: string }; member: { role: { id: string } }; permissions: { keys: string[] } }>('/service-accounts/self', { token: world.actors[persona].token! });
        expect({ account: self.body.account.id, role: self.body.member.role.id, keys: [...self.body.permissions.keys].sort() }, persona).toEqual({
          account: world.ours.accountId,
          role: profile.roleId,
          keys: [...permissionsOf(persona)].sort(),
        });
        continue;
      }
      const me = await api.get<MeDto>('/me', { token: world.actors[persona].token! });
      expect(me.status, persona).toBe(200);
      expect(
        {
          persona,
          account: me.body.account.id,
          role: me.body.member.role.id,
          isOwner: me.body.member.isOwner,
          isBillingContact: me.body.member.isBillingContact,
          keys: [...me.body.permissions.keys].sort(),
        },
        persona,
      ).toEqual({
        persona,
        account: (profile.tenant === 'other' ? world.theirs : world.ours).accountId,
        role: profile.roleId,
        isOwner: profile.isOwner,
        isBillingContact: profile.isBillingContact,
        keys: [...permissionsOf(persona)].sort(),
      });
    }
  });

  it('has a revoked member with an old session and an invitation never accepted', async () => {
    const members = await api.get<MemberPageDto>('/users?limit=200', { token: world.ours.ownerToken });
    const statusOf = (persona: PersonaName) => members.body.items.find((m) => m.id === world.actors[persona].memberId)?.status;
    expect([statusOf('revoked'), statusOf('invited')]).toEqual(['revoked', 'invited']);
    expect(world.actors.revoked.token).toEqual(expect.any(String));
    expect(world.actors.invited.token).toBeNull();
  });
});

describe('authorization matrix', () => {
  it('reads the route table and has no recipe for a route that is gone', () => {
    expect(routes.length).toBeGreaterThan(30);
    const registered = new Set(routes.map((r) => r.route));
    expect(Object.keys(RECIPES).filter((route) => !registered.has(route))).toEqual([]);
  });

  describe.each(routes)('$route', (route) => {
    const cells = PERSONAS.map((persona) => ({ persona, expectation: describeExpectation(route, persona) }));
    it.each(cells)('$persona → $expectation', ({ persona }) => runCell(route, persona));
  });
});
