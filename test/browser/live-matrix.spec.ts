/**
 * Issue 15's browser matrix: every page of the dashboard × every event that concerns it. Each
 * cell opens the page directly by URL (a full page load, never a click in the nav; some cells
 * reload it as well), waits for its live connection (the Socket.IO `40` CONNECT frame, every
 * acknowledged request answered) and for its data, then another admin causes the event over the
 * REST API, and the cell waits for the page to show it: the time from just before the API call to
 * then is the cell's figure. A cell that does not update within UPDATE_MS fails; every cell is run
 * before the test fails, so one run prints the whole matrix (afterAll) and lists each failing cell
 * with what its page showed instead (screenshots under test-results/screenshots/matrix-*.png).
 *
 * One account and two tabs serve every cell, in sequence: Vera, an admin, watches what other
 * admins do to other members, roles, the account and its teams; Sam is the viewer whose own
 * membership changes (promoted, demoted, his role renamed, edited or deleted, made owner or billing
 * contact, SSO enforced, 2FA required). Olga, the owner, makes every change.
 */
import type { AccountDto, MemberDetailDto, MemberDto, RoleDto } from '@rolecall/contracts';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import {
  createAccount,
  enrolTotp,
  ifMatch,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  uniqueEmail,
  type Joined,
  type SignedUp,
} from '../api/support/factories.js';
import { client, type Client, type Reply } from '../api/support/http.js';
import { invitationToken } from '../api/support/outbox.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';
import { LiveTraffic, Matrix, until } from './support/matrix.js';

/** How long a page may take to load and show its data before the event. */
const READY_MS = 10_000;
/** How long a page may take to show a change: live updates take well under a second. */
const UPDATE_MS = 6_000;

const PAGES = ['/users', '/users/:id', '/roles', '/roles/:id', '/activity', '/account', '/me'] as const;
type PageKey = (typeof PAGES)[number];
const RELOADED = ' ↻';

const EVENTS = {
  roleChange: 'role chg',
  talk: 'Talk',
  invited: 'invited',
  accepted: 'accepted',
  revoked: 'revoked',
  reactivated: 'reactiv',
  renamed: 'renamed',
  permissions: 'perms',
  roleDeleted: 'role del',
  owner: 'owner',
  billing: 'billing',
  team: 'team',
  promoted: 'promoted',
  demoted: 'demoted',
  twoFactor: '2FA req',
  sso: 'SSO',
} as const;
type EventKey = keyof typeof EVENTS;

const LEGEND = [
  'ms from just before the API call until the page showed the change; FAIL: not within the bound; —: the event does not concern the page.',
  `Rows ending in${RELOADED} were opened by URL and reloaded before the event. Vera (Admin) views every page except /me, where Sam is the viewer.`,
  'role chg: another member’s role changed · Talk: their Talk access turned on · invited / accepted: an invitation sent / accepted ·',
  'revoked / reactiv: a member revoked / reactivated · renamed / perms: a role renamed / its permissions edited (on /me: the viewer’s role) ·',
  'role del: a role deleted with its members reassigned (on /me: the viewer’s) · owner / billing: ownership / billing contact transferred',
  '(on /me: to the viewer) · team: a Talk team created · promoted / demoted: the viewer Read only → Admin / Admin → Read only ·',
  '2FA req: the account starts requiring 2FA (the viewer has none) · SSO: the account enforces Google sign-in (the viewer used a password).',
];

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let world: World;
const tabs = {} as Record<Viewer, Tab>;
const matrix = new Matrix([...PAGES, ...PAGES.map((page) => `${page}${RELOADED}`)], Object.values(EVENTS));
/** What each failing cell's page showed instead, for the report under the table. */
const shownInstead: string[] = [];

// ── The account, changed over the API by its owner ─────────────────────────────────────────

async function expectStatus<T>(reply: Promise<Reply<T>>, status: number, what: string): Promise<T> {
  const answer = await reply;
  if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

class World {
  owner!: SignedUp;
  vera!: Joined;
  sam!: Joined;
  bob!: Joined;
  tom!: Joined;
  carl!: Joined;
  /** Carl's role (renamed, edited; where Carl goes back when a temporary role of his is deleted). */
  campaigners!: RoleDto;
  /** Sam's role whenever he is not Read only or Admin. */
  helpers!: RoleDto;
  #counter = 0;

  constructor(
    readonly api: Client,
    readonly dataDir: string,
  ) {}

  async setUp(now: Date): Promise<void> {
    this.owner = await createAccount(this.api, { plan: 'business', name: 'Olga Novak', accountName: 'Acme' });
    // The owner keeps acting while the account requires 2FA.
    await enrolTotp(this.api, this.owner.token, now);
    const join = (name: string, roleId: string) =>
      inviteAndAccept(this.api, this.dataDir, this.owner, { name, roleId });
    this.vera = await join('Vera Viewer', ROLE.admin);
    this.sam = await join('Sam Self', ROLE.readonly);
    this.bob = await join('Bob Builder', ROLE.editor);
    this.tom = await join('Tom Twin', ROLE.admin);
    this.campaigners = await this.createRole('Campaigners 0', ['campaigns.view', 'reports.view']);
    this.carl = await join('Carl Carter', this.campaigners.id);
    this.helpers = await this.createRole('Helpers 0', ['people.view', 'reports.view']);
    await this.patchAccount({ teamsEnabled: true });
  }

  /** A name not used before, e.g. "Team 7". */
  fresh(prefix: string): string {
    return `${prefix} ${++this.#counter}`;
  }

  private get token() {
    return { token: this.owner.token };
  }

  member(id: string): Promise<MemberDetailDto> {
    return expectStatus(this.api.get<MemberDetailDto>(`/users/${id}`, this.token), 200, 'GET member');
  }

  async patchMember(id: string, change: Record<string, unknown>): Promise<void> {
    const current = await this.member(id);
    await expectStatus(
      this.api.patch(`/users/${id}`, change, { ...this.token, headers: ifMatch(current.version) }),
      200,
      `PATCH member ${JSON.stringify(change)}`,
    );
  }

  async setRole(who: Joined, roleId: string): Promise<void> {
    if ((await this.member(who.member.id)).role.id !== roleId) await this.patchMember(who.member.id, { roleId });
  }

  async setAgent(who: Joined, agentAccess: boolean): Promise<void> {
    if ((await this.member(who.member.id)).agentAccess !== agentAccess)
      await this.patchMember(who.member.id, { agentAccess });
  }

  async setStatus(who: Joined, status: 'active' | 'revoked'): Promise<void> {
    const current = await this.member(who.member.id);
    if (current.status === status) return;
    const action = status === 'revoked' ? 'revoke' : 'reactivate';
    await expectStatus(
      this.api.post(`/users/${who.member.id}/${action}`, undefined, {
        ...this.token,
        headers: ifMatch(current.version),
      }),
      200,
      action,
    );
  }

  role(id: string): Promise<RoleDto> {
    return expectStatus(this.api.get<RoleDto>(`/roles/${id}`, this.token), 200, 'GET role');
  }

  createRole(name: string, permissions: string[]): Promise<RoleDto> {
    return expectStatus(
      this.api.post<RoleDto>('/roles', { name, description: '', icon: 'star', permissions }, this.token),
      201,
      'POST role',
    );
  }

  async patchRole(id: string, change: Record<string, unknown>): Promise<void> {
    const current = await this.role(id);
    await expectStatus(
      this.api.patch(`/roles/${id}`, change, { ...this.token, headers: ifMatch(current.version) }),
      200,
      'PATCH role',
    );
  }

  async deleteRole(id: string, reassignTo: string): Promise<void> {
    const current = await this.role(id);
    await expectStatus(
      this.api.delete(`/roles/${id}?reassignTo=${reassignTo}`, undefined, {
        ...this.token,
        headers: ifMatch(current.version),
      }),
      204,
      'DELETE role',
    );
  }

  account(): Promise<AccountDto> {
    return expectStatus(this.api.get<AccountDto>('/account', this.token), 200, 'GET account');
  }

  async patchAccount(change: Record<string, unknown>): Promise<void> {
    const current = await this.account();
    await expectStatus(
      this.api.patch('/account', change, { ...this.token, headers: ifMatch(current.version) }),
      200,
      `PATCH account ${JSON.stringify(change)}`,
    );
  }

  /** As `by` (the owner, or for billing also an Admin billing contact); nothing to do when `to` already holds it. */
  async transfer(what: 'ownership' | 'billing', to: { member: { id: string } }, by: { token: string }): Promise<void> {
    const current = await this.account();
    if ((what === 'ownership' ? current.ownerId : current.billingContactId) === to.member.id) return;
    await expectStatus(
      this.api.post(
        `/account/transfer-${what}`,
        { memberId: to.member.id },
        { token: by.token, headers: ifMatch(current.version) },
      ),
      200,
      `transfer ${what}`,
    );
  }

  async createTeam(name: string): Promise<void> {
    await expectStatus(this.api.post('/teams', { name }, this.token), 201, 'POST team');
  }

  async invite(email: string, roleId: string): Promise<MemberDto> {
    const body = await expectStatus(
      this.api.post<{ items: MemberDto[] }>(
        '/users/invitations',
        { emails: [email], roleId, agentAccess: false, teamIds: [] },
        this.token,
      ),
      201,
      'invite',
    );
    return body.items[0]!;
  }

  async accept(email: string, name: string): Promise<void> {
    await expectStatus(
      this.api.post('/invitations/accept', { token: invitationToken(this.dataDir, email), name, password: PASSWORD }),
      200,
      'accept',
    );
  }

  /** Bob as most cells start from: active, Editor, no Talk access. */
  async bobAsUsual(): Promise<void> {
    await this.setStatus(this.bob, 'active');
    await this.setRole(this.bob, ROLE.editor);
    await this.setAgent(this.bob, false);
  }
}

// ── What the pages show ────────────────────────────────────────────────────────────────────

/** The text of the first match, or '' when there is none (never waits for one to appear). */
async function textOf(locator: Locator): Promise<string> {
  if ((await locator.count()) === 0) return '';
  return locator.first().innerText({ timeout: 1000 });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `text` contains `words` as whole words ("Team 1" is not in "Team 12"). */
const has = (text: string, words: string) =>
  new RegExp(`(^|[^\\p{L}\\p{N}])${escape(words)}($|[^\\p{L}\\p{N}])`, 'u').test(text);

const main = (page: Page) => page.locator('main');
const mainText = (page: Page) => textOf(main(page));
const visible = (locator: Locator) => locator.first().isVisible();
const heading1 = (page: Page) => textOf(page.getByRole('heading', { level: 1 }));
const navLink = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const noAccess = (page: Page) => visible(page.getByText('You don’t have access to this page'));

// Users
const memberRow = (page: Page, text: string) => textOf(page.getByRole('row').filter({ hasText: text }));
const usersListed = async (page: Page) =>
  (await visible(main(page).getByRole('link', { name: 'Olga Novak', exact: true }))) &&
  /\d+ members?/.test(await textOf(page.getByTestId('member-count')));
// A member's profile: the header holding the name (status, role, owner and billing marks).
const profileHead = (page: Page) =>
  textOf(
    main(page)
      .locator('header')
      .filter({ has: page.getByRole('heading', { level: 1 }) }),
  );
const profileOf = async (page: Page, name: string) => (await heading1(page)).trim() === name;
const talkBox = (page: Page) => page.getByRole('checkbox', { name: /Talk access/ });

// Roles
const rolesListed = (page: Page) => visible(main(page).getByRole('link', { name: 'Editor', exact: true }));
const roleItem = (page: Page, name: string) =>
  textOf(
    main(page)
      .locator('li')
      .filter({ has: page.getByRole('link', { name, exact: true }) }),
  );
function counts(text: string): { members: number; invited: number } | null {
  const members = /(\d+) members?\b/.exec(text);
  if (!members) return null;
  const invited = /(\d+) invited/.exec(text);
  return { members: Number(members[1]), invited: invited ? Number(invited[1]) : 0 };
}
const roleName = (page: Page) => page.getByLabel('Name', { exact: true }).inputValue({ timeout: 1000 });
const editorOpen = async (page: Page, name: string) =>
  (await page.getByLabel('Name', { exact: true }).count()) > 0 && (await roleName(page)) === name;
/** The role editor's subtitle: "A built-in role, held by 3 members and 1 invited." */
function heldBy(text: string): { members: number; invited: number } | null {
  if (/Nobody has it yet/.test(text)) return { members: 0, invited: 0 };
  const members = /held by (\d+) members?/.exec(text);
  if (!members) return null;
  const invited = /and (\d+) invited/.exec(text);
  return { members: Number(members[1]), invited: invited ? Number(invited[1]) : 0 };
}

// Activity
const stream = (page: Page) => page.getByRole('list', { name: 'Activity, newest first' }).locator(':scope > li');
const isEntry = (text: string) => text.trim() !== '' && !/^(Loading|Nothing matches)/.test(text.trim());
const activityListed = async (page: Page) => isEntry(await textOf(stream(page)));
/** The newest entry's text without its times. */
async function newestEntry(page: Page): Promise<string> {
  if ((await stream(page).count()) === 0) return '';
  return stream(page)
    .first()
    .evaluate(
      (entry) => {
        const copy = entry.cloneNode(true) as HTMLElement;
        copy.querySelectorAll('time').forEach((time) => time.remove());
        return (copy.textContent ?? '').replace(/\s+/g, ' ').trim();
      },
      undefined,
      { timeout: 1000 },
    );
}

// Account
const fact = (page: Page, term: string) => textOf(main(page).locator(`dt:text-is("${term}") + dd`));
const numberIn = (pattern: RegExp) => (text: string) => {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : null;
};
/** "16 of 50 used (5 invited)" → 16; "1 of unlimited (first one free)" → 1. */
const firstNumber = numberIn(/(\d+)/);
const invitedOf = numberIn(/\((\d+) invited\)/);
const accountShown = async (page: Page) => (await textOf(page.getByTestId('plan'))) === 'Business';

// My account
const myRole = (page: Page) => textOf(page.getByRole('region', { name: 'Profile' }).locator('dt:text-is("Role") + dd'));
const myRoleIs = async (page: Page, name: string) =>
  new RegExp(`^${escape(name)}(\\s|$)`).test((await myRole(page)).trim());
const chips = (page: Page, feature: string) => page.getByRole('list', { name: `${feature}: allowed actions` });

const signedOutForSso = (page: Page) => visible(page.getByText(/requires single sign-on/));
const atEnrolment = async (page: Page) =>
  new URL(page.url()).pathname === '/enrol-2fa' &&
  (await visible(page.getByText(/requires two-factor authentication/)));

// ── Cells ──────────────────────────────────────────────────────────────────────────────────

type Viewer = 'vera' | 'sam';

interface Tab {
  page: Page;
  live: LiveTraffic;
  errors: string[];
  email: string;
}

/** A cell ready to run: the state before the event is set on the server. */
interface Prepared {
  path: string;
  /** The page shows its data as it stands before the event (polled; pure). */
  before: (page: Page) => Promise<boolean>;
  /** The event, over the REST API. */
  act: () => Promise<void>;
  /** The page shows the change (polled; pure). */
  after: (page: Page) => Promise<boolean>;
  /** What to quote when the cell fails (defaults to the page's main text). */
  shown?: (page: Page) => Promise<string>;
  cleanup?: () => Promise<void>;
}

interface Cell {
  page: PageKey;
  event: EventKey;
  viewer: Viewer;
  reload?: boolean;
  prepare: () => Promise<Prepared>;
}

/**
 * The Activity page: a new newest entry, naming what changed. An entry is told from the one before
 * by its text without its <time> (relative times such as "just now" change on their own), so the
 * check holds whether the page prepends live entries or fetches the list again.
 */
function activity(hints: string[], act: () => Promise<void>, cleanup?: () => Promise<void>): Prepared {
  let previous = '';
  return {
    path: '/activity',
    before: async (page) => {
      if (!(await activityListed(page))) return false;
      previous = await newestEntry(page);
      return true;
    },
    act,
    after: async (page) => {
      const newest = await newestEntry(page);
      return newest !== previous && hints.some((hint) => has(newest, hint));
    },
    shown: async (page) => `newest entry: ${await textOf(stream(page))} (expected one naming ${hints.join(' or ')})`,
    cleanup,
  };
}

/** Every cell: event → page → how to prepare it. Vera views every page but /me, where Sam does. */
function cells(w: World): Cell[] {
  const bob = w.bob;
  const out: Cell[] = [];
  const add = (event: EventKey, viewer: Viewer, pages: Partial<Record<PageKey, () => Promise<Prepared>>>) => {
    for (const page of PAGES) {
      const prepare = pages[page];
      if (prepare) out.push({ page, event, viewer: page === '/me' ? 'sam' : viewer, prepare });
    }
  };
  const bobsHead = (page: Page) => profileHead(page);

  // Another member's role changes: Bob, Editor → Read only.
  add('roleChange', 'vera', {
    '/users': async () => {
      await w.bobAsUsual();
      return {
        path: '/users',
        before: async (page) => (await usersListed(page)) && has(await memberRow(page, 'Bob Builder'), 'Editor'),
        act: () => w.setRole(bob, ROLE.readonly),
        after: async (page) => {
          const row = await memberRow(page, 'Bob Builder');
          return has(row, 'Read only') && !has(row, 'Editor');
        },
        shown: (page) => memberRow(page, 'Bob Builder'),
      };
    },
    '/users/:id': async () => {
      await w.bobAsUsual();
      return {
        path: `/users/${bob.member.id}`,
        before: async (page) => (await profileOf(page, 'Bob Builder')) && has(await bobsHead(page), 'Editor'),
        act: () => w.setRole(bob, ROLE.readonly),
        after: async (page) => {
          const head = await bobsHead(page);
          return has(head, 'Read only') && !has(head, 'Editor');
        },
        shown: bobsHead,
      };
    },
    '/roles': async () => {
      await w.bobAsUsual();
      const readers = (await w.role(ROLE.readonly)).memberCount;
      return {
        path: '/roles',
        before: async (page) => counts(await roleItem(page, 'Read only'))?.members === readers,
        act: () => w.setRole(bob, ROLE.readonly),
        after: async (page) => counts(await roleItem(page, 'Read only'))?.members === readers + 1,
        shown: async (page) => `Read only: ${await roleItem(page, 'Read only')} (expected ${readers + 1} members)`,
      };
    },
    '/roles/:id': async () => {
      await w.bobAsUsual();
      const readers = (await w.role(ROLE.readonly)).memberCount;
      return {
        path: `/roles/${ROLE.readonly}`,
        before: async (page) =>
          (await editorOpen(page, 'Read only')) && heldBy(await mainText(page))?.members === readers,
        act: () => w.setRole(bob, ROLE.readonly),
        after: async (page) => heldBy(await mainText(page))?.members === readers + 1,
        shown: async (page) =>
          `${/(A built-in role[^\n]*)/.exec(await mainText(page))?.[1] ?? ''} (expected ${readers + 1} members)`,
      };
    },
    '/activity': async () => {
      await w.bobAsUsual();
      return activity([bob.email, 'Bob Builder'], () => w.setRole(bob, ROLE.readonly));
    },
  });

  // Bob's Talk access turned on.
  add('talk', 'vera', {
    '/users': async () => {
      await w.bobAsUsual();
      return {
        path: '/users',
        before: async (page) => (await usersListed(page)) && /No access/.test(await memberRow(page, 'Bob Builder')),
        act: () => w.setAgent(bob, true),
        after: async (page) => {
          const row = await memberRow(page, 'Bob Builder');
          return /\bAccess\b/.test(row) && !/No access/.test(row);
        },
        shown: (page) => memberRow(page, 'Bob Builder'),
      };
    },
    '/users/:id': async () => {
      await w.bobAsUsual();
      return {
        path: `/users/${bob.member.id}`,
        before: async (page) =>
          (await profileOf(page, 'Bob Builder')) &&
          (await talkBox(page).count()) > 0 &&
          !(await talkBox(page).isChecked()),
        act: () => w.setAgent(bob, true),
        after: (page) => talkBox(page).isChecked({ timeout: 1000 }),
        shown: async (page) =>
          `Talk access box ${(await talkBox(page).isChecked({ timeout: 1000 })) ? 'ticked' : 'not ticked'}`,
      };
    },
    '/account': async () => {
      await w.bobAsUsual();
      const agents = (await w.account()).agentSeats.used;
      return {
        path: '/account',
        before: async (page) => (await accountShown(page)) && firstNumber(await fact(page, 'Agent seats')) === agents,
        act: () => w.setAgent(bob, true),
        after: async (page) => firstNumber(await fact(page, 'Agent seats')) === agents + 1,
        shown: async (page) => `Agent seats: ${await fact(page, 'Agent seats')} (expected ${agents + 1})`,
      };
    },
    '/activity': async () => {
      await w.bobAsUsual();
      return activity([bob.email, 'Bob Builder'], () => w.setAgent(bob, true));
    },
  });

  // An invitation sent (as Editor) to a new address.
  const inviteCell = async (page: PageKey): Promise<Prepared> => {
    const email = uniqueEmail('invitee');
    const editors = await w.role(ROLE.editor);
    const seats = (await w.account()).seats;
    const act = async () => void (await w.invite(email, ROLE.editor));
    switch (page) {
      case '/users':
        return {
          path: '/users',
          before: async (p) => (await usersListed(p)) && (await memberRow(p, email)) === '',
          act,
          after: async (p) => has(await memberRow(p, email), 'Invited'),
          shown: async (p) =>
            `row for ${email}: "${await memberRow(p, email)}"; ${await textOf(p.getByTestId('member-count'))}`,
        };
      case '/roles':
        return {
          path: '/roles',
          before: async (p) => counts(await roleItem(p, 'Editor'))?.invited === editors.invitedCount,
          act,
          after: async (p) => counts(await roleItem(p, 'Editor'))?.invited === editors.invitedCount + 1,
          shown: async (p) => `Editor: ${await roleItem(p, 'Editor')} (expected ${editors.invitedCount + 1} invited)`,
        };
      case '/roles/:id':
        return {
          path: `/roles/${ROLE.editor}`,
          before: async (p) =>
            (await editorOpen(p, 'Editor')) && heldBy(await mainText(p))?.invited === editors.invitedCount,
          act,
          after: async (p) => heldBy(await mainText(p))?.invited === editors.invitedCount + 1,
          shown: async (p) =>
            `${/(A built-in role[^\n]*)/.exec(await mainText(p))?.[1] ?? ''} (expected ${editors.invitedCount + 1} invited)`,
        };
      case '/account':
        return {
          path: '/account',
          before: async (p) =>
            (await accountShown(p)) &&
            firstNumber(await fact(p, 'Seats')) === seats.used &&
            invitedOf(await fact(p, 'Seats')) === seats.invited,
          act,
          after: async (p) =>
            firstNumber(await fact(p, 'Seats')) === seats.used + 1 &&
            invitedOf(await fact(p, 'Seats')) === seats.invited + 1,
          shown: async (p) =>
            `Seats: ${await fact(p, 'Seats')} (expected ${seats.used + 1} used, ${seats.invited + 1} invited)`,
        };
      default:
        return activity([email], act);
    }
  };
  add('invited', 'vera', {
    '/users': () => inviteCell('/users'),
    '/roles': () => inviteCell('/roles'),
    '/roles/:id': () => inviteCell('/roles/:id'),
    '/account': () => inviteCell('/account'),
    '/activity': () => inviteCell('/activity'),
  });

  // An invitation (sent before the page opened) accepted by its invitee.
  const acceptCell = async (page: PageKey): Promise<Prepared> => {
    const email = uniqueEmail('joiner');
    const name = w.fresh('Jo Joiner');
    const invited = await w.invite(email, ROLE.editor);
    const editors = await w.role(ROLE.editor);
    const seats = (await w.account()).seats;
    const act = () => w.accept(email, name);
    switch (page) {
      case '/users':
        return {
          path: '/users',
          before: async (p) => (await usersListed(p)) && has(await memberRow(p, email), 'Invited'),
          act,
          after: async (p) => {
            const row = await memberRow(p, email);
            return has(row, 'Active') && !has(row, 'Invited');
          },
          shown: (p) => memberRow(p, email),
        };
      case '/users/:id':
        return {
          path: `/users/${invited.id}`,
          before: async (p) => has(await profileHead(p), 'Invited'),
          act,
          after: async (p) => {
            const head = await profileHead(p);
            return has(head, 'Active') && !has(head, 'Invited');
          },
          shown: profileHead,
        };
      case '/roles':
        return {
          path: '/roles',
          before: async (p) => counts(await roleItem(p, 'Editor'))?.members === editors.memberCount,
          act,
          after: async (p) => counts(await roleItem(p, 'Editor'))?.members === editors.memberCount + 1,
          shown: async (p) => `Editor: ${await roleItem(p, 'Editor')} (expected ${editors.memberCount + 1} members)`,
        };
      case '/roles/:id':
        return {
          path: `/roles/${ROLE.editor}`,
          before: async (p) =>
            (await editorOpen(p, 'Editor')) && heldBy(await mainText(p))?.members === editors.memberCount,
          act,
          after: async (p) => heldBy(await mainText(p))?.members === editors.memberCount + 1,
          shown: async (p) =>
            `${/(A built-in role[^\n]*)/.exec(await mainText(p))?.[1] ?? ''} (expected ${editors.memberCount + 1} members)`,
        };
      case '/account':
        return {
          path: '/account',
          before: async (p) => (await accountShown(p)) && invitedOf(await fact(p, 'Seats')) === seats.invited,
          act,
          after: async (p) => invitedOf(await fact(p, 'Seats')) === seats.invited - 1,
          shown: async (p) => `Seats: ${await fact(p, 'Seats')} (expected ${seats.invited - 1} invited)`,
        };
      default:
        return activity([email, name], act);
    }
  };
  add('accepted', 'vera', {
    '/users': () => acceptCell('/users'),
    '/users/:id': () => acceptCell('/users/:id'),
    '/roles': () => acceptCell('/roles'),
    '/roles/:id': () => acceptCell('/roles/:id'),
    '/account': () => acceptCell('/account'),
    '/activity': () => acceptCell('/activity'),
  });

  // Bob revoked, then (another column) reactivated.
  const statusCell = async (page: PageKey, to: 'revoked' | 'active'): Promise<Prepared> => {
    await w.bobAsUsual();
    if (to === 'active') await w.setStatus(bob, 'revoked');
    const from = to === 'revoked' ? 'Active' : 'Revoked';
    const label = to === 'revoked' ? 'Revoked' : 'Active';
    const editors = (await w.role(ROLE.editor)).memberCount;
    const used = (await w.account()).seats.used;
    const step = to === 'revoked' ? -1 : 1;
    const act = () => w.setStatus(bob, to);
    switch (page) {
      case '/users':
        return {
          path: '/users',
          before: async (p) => (await usersListed(p)) && has(await memberRow(p, 'Bob Builder'), from),
          act,
          after: async (p) => {
            const row = await memberRow(p, 'Bob Builder');
            return has(row, label) && !has(row, from);
          },
          shown: (p) => memberRow(p, 'Bob Builder'),
        };
      case '/users/:id':
        return {
          path: `/users/${bob.member.id}`,
          before: async (p) => (await profileOf(p, 'Bob Builder')) && has(await profileHead(p), from),
          act,
          after: async (p) => {
            const head = await profileHead(p);
            return has(head, label) && !has(head, from);
          },
          shown: profileHead,
        };
      case '/roles':
        return {
          path: '/roles',
          before: async (p) => counts(await roleItem(p, 'Editor'))?.members === editors,
          act,
          after: async (p) => counts(await roleItem(p, 'Editor'))?.members === editors + step,
          shown: async (p) => `Editor: ${await roleItem(p, 'Editor')} (expected ${editors + step} members)`,
        };
      case '/account':
        return {
          path: '/account',
          before: async (p) => (await accountShown(p)) && firstNumber(await fact(p, 'Seats')) === used,
          act,
          after: async (p) => firstNumber(await fact(p, 'Seats')) === used + step,
          shown: async (p) => `Seats: ${await fact(p, 'Seats')} (expected ${used + step} used)`,
        };
      default:
        return activity([bob.email, 'Bob Builder'], act);
    }
  };
  for (const [event, to] of [
    ['revoked', 'revoked'],
    ['reactivated', 'active'],
  ] as const) {
    add(event, 'vera', {
      '/users': () => statusCell('/users', to),
      '/users/:id': () => statusCell('/users/:id', to),
      '/roles': () => statusCell('/roles', to),
      '/account': () => statusCell('/account', to),
      '/activity': () => statusCell('/activity', to),
    });
  }

  // A role renamed: Carl's Campaigners (on /me: Sam's Helpers).
  const renameCell = async (page: PageKey): Promise<Prepared> => {
    if (page === '/me') {
      await w.setRole(w.sam, w.helpers.id);
      const before = (await w.role(w.helpers.id)).name;
      const after = w.fresh('Helpers');
      return {
        path: '/me',
        before: (p) => myRoleIs(p, before),
        act: () => w.patchRole(w.helpers.id, { name: after }),
        after: (p) => myRoleIs(p, after),
        shown: async (p) => `Role: ${await myRole(p)} (expected ${after})`,
      };
    }
    await w.setRole(w.carl, w.campaigners.id);
    const before = (await w.role(w.campaigners.id)).name;
    const after = w.fresh('Campaigners');
    const act = () => w.patchRole(w.campaigners.id, { name: after });
    switch (page) {
      case '/users':
        return {
          path: '/users',
          before: async (p) => (await usersListed(p)) && has(await memberRow(p, 'Carl Carter'), before),
          act,
          after: async (p) => has(await memberRow(p, 'Carl Carter'), after),
          shown: (p) => memberRow(p, 'Carl Carter'),
        };
      case '/users/:id':
        return {
          path: `/users/${w.carl.member.id}`,
          before: async (p) => (await profileOf(p, 'Carl Carter')) && has(await profileHead(p), before),
          act,
          after: async (p) => has(await profileHead(p), after),
          shown: profileHead,
        };
      case '/roles':
        return {
          path: '/roles',
          before: async (p) => (await rolesListed(p)) && (await roleItem(p, before)) !== '',
          act,
          after: async (p) => (await roleItem(p, after)) !== '' && (await roleItem(p, before)) === '',
          shown: async (p) => `${before}: "${await roleItem(p, before)}"; ${after}: "${await roleItem(p, after)}"`,
        };
      case '/roles/:id':
        return {
          path: `/roles/${w.campaigners.id}`,
          before: (p) => editorOpen(p, before),
          act,
          after: async (p) => (await roleName(p)) === after,
          shown: async (p) => `Name field: ${await roleName(p)}; heading: ${await heading1(p)} (expected ${after})`,
        };
      default:
        return activity([after, before], act);
    }
  };
  add('renamed', 'vera', {
    '/users': () => renameCell('/users'),
    '/users/:id': () => renameCell('/users/:id'),
    '/roles': () => renameCell('/roles'),
    '/roles/:id': () => renameCell('/roles/:id'),
    '/activity': () => renameCell('/activity'),
    '/me': () => renameCell('/me'),
  });

  // A role's permissions edited: Reports › Export turned on or off (on /me: in Sam's role).
  const permissionsCell = async (page: PageKey): Promise<Prepared> => {
    const role = page === '/me' ? w.helpers : w.campaigners;
    if (page === '/me') await w.setRole(w.sam, w.helpers.id);
    const current = await w.role(role.id);
    const exporting = current.permissions.includes('reports.export');
    const permissions = exporting
      ? current.permissions.filter((key) => key !== 'reports.export')
      : [...current.permissions, 'reports.export'];
    const act = () => w.patchRole(role.id, { permissions });
    switch (page) {
      case '/me': {
        const exports = async (p: Page) => /\bExport\b/.test(await textOf(chips(p, 'Reports')));
        return {
          path: '/me',
          before: async (p) => (await myRoleIs(p, current.name)) && (await exports(p)) === exporting,
          act,
          after: async (p) => (await exports(p)) === !exporting,
          shown: async (p) =>
            `Reports chips: ${await textOf(chips(p, 'Reports'))} (expected Export ${exporting ? 'gone' : 'shown'})`,
        };
      }
      case '/roles/:id': {
        const box = (p: Page) => p.getByRole('group', { name: 'Reports' }).getByRole('checkbox', { name: 'Export' });
        return {
          path: `/roles/${role.id}`,
          before: async (p) =>
            (await editorOpen(p, current.name)) && (await box(p).isChecked({ timeout: 1000 })) === exporting,
          act,
          after: async (p) => (await box(p).isChecked({ timeout: 1000 })) === !exporting,
          shown: async (p) =>
            `Reports › Export ${(await box(p).isChecked({ timeout: 1000 })) ? 'ticked' : 'not ticked'} (expected ${exporting ? 'not ticked' : 'ticked'})`,
        };
      }
      default:
        return activity([current.name], act);
    }
  };
  add('permissions', 'vera', {
    '/roles/:id': () => permissionsCell('/roles/:id'),
    '/activity': () => permissionsCell('/activity'),
    '/me': () => permissionsCell('/me'),
  });

  // A role deleted, its members reassigned: a temporary role of Carl's (on /me: of Sam's) goes, they go back.
  const deleteCell = async (page: PageKey): Promise<Prepared> => {
    const who = page === '/me' ? w.sam : w.carl;
    const home = page === '/me' ? w.helpers : w.campaigners;
    const temporary = await w.createRole(w.fresh('Temporary'), ['people.view']);
    await w.setRole(who, temporary.id);
    const homeName = (await w.role(home.id)).name;
    const act = () => w.deleteRole(temporary.id, home.id);
    switch (page) {
      case '/me':
        return {
          path: '/me',
          before: (p) => myRoleIs(p, temporary.name),
          act,
          after: (p) => myRoleIs(p, homeName),
          shown: async (p) => `Role: ${await myRole(p)} (expected ${homeName})`,
        };
      case '/users':
        return {
          path: '/users',
          before: async (p) => (await usersListed(p)) && has(await memberRow(p, 'Carl Carter'), temporary.name),
          act,
          after: async (p) => {
            const row = await memberRow(p, 'Carl Carter');
            return has(row, homeName) && !has(row, temporary.name);
          },
          shown: (p) => memberRow(p, 'Carl Carter'),
        };
      case '/users/:id':
        return {
          path: `/users/${w.carl.member.id}`,
          before: async (p) => (await profileOf(p, 'Carl Carter')) && has(await profileHead(p), temporary.name),
          act,
          after: async (p) => {
            const head = await profileHead(p);
            return has(head, homeName) && !has(head, temporary.name);
          },
          shown: profileHead,
        };
      case '/roles':
        return {
          path: '/roles',
          before: async (p) => (await roleItem(p, temporary.name)) !== '',
          act,
          after: async (p) => (await rolesListed(p)) && (await roleItem(p, temporary.name)) === '',
          shown: async (p) => `${temporary.name}: "${await roleItem(p, temporary.name)}"`,
        };
      case '/roles/:id':
        return {
          path: `/roles/${temporary.id}`,
          before: (p) => editorOpen(p, temporary.name),
          act,
          after: async (p) => /deleted/i.test(await mainText(p)),
          shown: mainText,
        };
      default:
        return activity([temporary.name], act);
    }
  };
  add('roleDeleted', 'vera', {
    '/users': () => deleteCell('/users'),
    '/users/:id': () => deleteCell('/users/:id'),
    '/roles': () => deleteCell('/roles'),
    '/roles/:id': () => deleteCell('/roles/:id'),
    '/activity': () => deleteCell('/activity'),
    '/me': () => deleteCell('/me'),
  });

  // Ownership, then (another column) the billing contact, handed to Tom (on /me: to Sam), and back.
  const transferCell = async (page: PageKey, what: 'ownership' | 'billing'): Promise<Prepared> => {
    const to = page === '/me' ? w.sam : w.tom;
    const name = page === '/me' ? 'Sam Self' : 'Tom Twin';
    if (page === '/me') await w.setRole(w.sam, ROLE.readonly);
    const mark = what === 'ownership' ? /\bOwner\b/ : /Billing contact/i;
    const act = () => w.transfer(what, to, w.owner);
    // Ownership goes back from the new owner; the owner takes the billing contact back.
    const cleanup = () => w.transfer(what, w.owner, what === 'ownership' ? to : w.owner);
    switch (page) {
      case '/me':
        return {
          path: '/me',
          before: async (p) => (await myRoleIs(p, 'Read only')) && !mark.test(await myRole(p)),
          act,
          after: async (p) =>
            mark.test(await myRole(p)) &&
            (what === 'ownership' ? await myRoleIs(p, 'Admin') : await visible(chips(p, 'Billing'))),
          shown: async (p) => `Role: ${await myRole(p)}; Billing chips: ${await textOf(chips(p, 'Billing'))}`,
          cleanup,
        };
      case '/users':
        return {
          path: '/users',
          before: async (p) => (await usersListed(p)) && !mark.test(await memberRow(p, name)),
          act,
          after: async (p) => mark.test(await memberRow(p, name)),
          shown: (p) => memberRow(p, name),
          cleanup,
        };
      case '/users/:id':
        return {
          path: `/users/${to.member.id}`,
          before: async (p) => (await profileOf(p, name)) && !mark.test(await profileHead(p)),
          act,
          after: async (p) => mark.test(await profileHead(p)),
          shown: profileHead,
          cleanup,
        };
      case '/account': {
        const term = what === 'ownership' ? 'Owner' : 'Billing contact';
        return {
          path: '/account',
          before: async (p) => (await accountShown(p)) && (await fact(p, term)).trim() === 'Olga Novak',
          act,
          after: async (p) => (await fact(p, term)).trim() === name,
          shown: async (p) => `${term}: ${await fact(p, term)}`,
          cleanup,
        };
      }
      default:
        return activity([name, to.email, 'Acme'], act, cleanup);
    }
  };
  for (const what of ['ownership', 'billing'] as const) {
    add(what === 'ownership' ? 'owner' : 'billing', 'vera', {
      '/users': () => transferCell('/users', what),
      '/users/:id': () => transferCell('/users/:id', what),
      '/account': () => transferCell('/account', what),
      '/activity': () => transferCell('/activity', what),
      '/me': () => transferCell('/me', what),
    });
  }

  // A Talk team created: it shows in the Users filter, a profile's teams, the Account page.
  const teamCell = async (page: PageKey): Promise<Prepared> => {
    const name = w.fresh('Team');
    const act = () => w.createTeam(name);
    const named = async (p: Page) => has(await mainText(p), name);
    const rendered: Record<string, (p: Page) => Promise<boolean>> = {
      '/users': usersListed,
      '/users/:id': (p) => profileOf(p, 'Bob Builder'),
      '/account': async (p) =>
        (await accountShown(p)) && (await visible(p.getByRole('heading', { name: 'Talk teams' }))),
    };
    if (page === '/activity') return activity([name], act);
    return {
      path: page === '/users/:id' ? `/users/${bob.member.id}` : page,
      before: async (p) => (await rendered[page]!(p)) && !(await named(p)),
      act,
      after: named,
      shown: async (p) => `no "${name}" in the page: ${await mainText(p)}`,
    };
  };
  add('team', 'vera', {
    '/users': () => teamCell('/users'),
    '/users/:id': () => teamCell('/users/:id'),
    '/account': () => teamCell('/account'),
    '/activity': () => teamCell('/activity'),
  });

  // ── The viewer's own membership (Sam) ──

  /** Each page as an Admin sees it, with its data. */
  const asAdmin: Record<PageKey, { path: () => string; shows: (page: Page) => Promise<boolean> }> = {
    '/users': {
      path: () => '/users',
      shows: async (p) =>
        (await usersListed(p)) &&
        (await p.getByText('You don’t have permission to do that.').count()) === 0 &&
        (await visible(navLink(p, 'Users'))),
    },
    '/users/:id': { path: () => `/users/${bob.member.id}`, shows: (p) => profileOf(p, 'Bob Builder') },
    '/roles': { path: () => '/roles', shows: rolesListed },
    '/roles/:id': {
      path: () => `/roles/${w.campaigners.id}`,
      shows: async (p) =>
        (await p.getByLabel('Name', { exact: true }).count()) > 0 && has(await roleName(p), 'Campaigners'),
    },
    '/activity': { path: () => '/activity', shows: activityListed },
    '/account': { path: () => '/account', shows: accountShown },
    '/me': {
      path: () => '/me',
      shows: async (p) => (await myRoleIs(p, 'Admin')) && /\bManage\b/.test(await textOf(chips(p, 'Users'))),
    },
  };
  /** Each page as a Read only member sees it: no access (and no Users in the nav), or My account. */
  const asReader = (page: PageKey) => async (p: Page) => {
    if (page === '/me') return (await myRoleIs(p, 'Read only')) && (await chips(p, 'Users').count()) === 0;
    if (!(await noAccess(p))) return false;
    return page !== '/users' || (await navLink(p, 'Users').count()) === 0;
  };
  const roleCell =
    (page: PageKey, from: string, to: string): (() => Promise<Prepared>) =>
    async () => {
      await w.setRole(w.sam, from);
      const promoted = to === ROLE.admin;
      return {
        path: asAdmin[page].path(),
        before: promoted ? asReader(page) : asAdmin[page].shows,
        act: () => w.setRole(w.sam, to),
        after: promoted ? asAdmin[page].shows : asReader(page),
      };
    };
  add('promoted', 'sam', Object.fromEntries(PAGES.map((page) => [page, roleCell(page, ROLE.readonly, ROLE.admin)])));
  add('demoted', 'sam', Object.fromEntries(PAGES.map((page) => [page, roleCell(page, ROLE.admin, ROLE.readonly)])));

  // The account requires 2FA (Sam has none), then enforces Google sign-in (Sam signed in with a password).
  // An Admin on the admin pages; on My account a Read only member, as most members are.
  const accountCell =
    (
      page: PageKey,
      change: Record<string, unknown>,
      undo: Record<string, unknown>,
      shows: (p: Page) => Promise<boolean>,
    ) =>
    async (): Promise<Prepared> => {
      await w.setRole(w.sam, page === '/me' ? ROLE.readonly : ROLE.admin);
      return {
        path: asAdmin[page].path(),
        before: page === '/me' ? asReader('/me') : asAdmin[page].shows,
        act: () => w.patchAccount(change),
        after: shows,
        cleanup: async () => {
          await w.patchAccount(undo);
          await signInAgain('sam');
        },
      };
    };
  // Not /me as a Read only member: nothing is pushed to a member outside the account room when the
  // account starts requiring 2FA; SPEC §4 enforces it from their next request (every API call and
  // every reconnect then answers ENROLMENT_REQUIRED and the dashboard moves to enrolment). Telling
  // such sessions at once is an open follow-up (README, issue 15 note).
  const twoFactorPages: PageKey[] = ['/users/:id', '/roles', '/account'];
  add(
    'twoFactor',
    'sam',
    Object.fromEntries(
      twoFactorPages.map((page) => [page, accountCell(page, { require2fa: true }, { require2fa: false }, atEnrolment)]),
    ),
  );
  const ssoPages: PageKey[] = ['/users', '/roles/:id', '/activity', '/me'];
  add(
    'sso',
    'sam',
    Object.fromEntries(
      ssoPages.map((page) => [
        page,
        accountCell(page, { authEnforcement: 'google' }, { authEnforcement: 'any' }, signedOutForSso),
      ]),
    ),
  );

  return out;
}

// ── Running a cell ─────────────────────────────────────────────────────────────────────────

async function signInAgain(viewer: Viewer): Promise<void> {
  const tab = tabs[viewer];
  await signIn(tab.page, app.url, tab.email, PASSWORD);
}

async function excerpt(page: Page): Promise<string> {
  const text = await textOf(main(page)).catch(() => '');
  return (text || (await textOf(page.locator('body')).catch(() => ''))).replace(/\s+/g, ' ').trim().slice(0, 300);
}

async function run(cell: Cell): Promise<void> {
  const row = `${cell.page}${cell.reload ? RELOADED : ''}`;
  const column = EVENTS[cell.event];
  const tab = tabs[cell.viewer];
  const { page, live } = tab;
  let cleanup: (() => Promise<void>) | undefined;
  const fail = async (why: string, shown: string) => {
    matrix.record(row, column, { failure: why });
    const slug = `${row.replace(RELOADED, ' reloaded')}-${column}`.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');
    await keepScreenshot(page, `matrix-${slug}`).catch(() => undefined);
    shownInstead.push(
      `${row} × ${column} (${new URL(page.url()).pathname}): ${shown.replace(/\s+/g, ' ').trim().slice(0, 400)}`,
    );
  };
  try {
    const prepared = await cell.prepare();
    cleanup = prepared.cleanup;
    const open = async (navigate: () => Promise<unknown>) => {
      const connected = live.nextConnection(READY_MS);
      await navigate();
      await connected;
      return until(async () => live.settled && (await prepared.before(page)), READY_MS);
    };
    let ready = await open(() => page.goto(`${app.url}${prepared.path}`));
    if (ready && cell.reload) ready = await open(() => page.reload());
    if (!ready) {
      await fail('the page never showed its data as it was before the event', await excerpt(page));
      return;
    }
    const start = performance.now();
    await prepared.act();
    const shown = await until(() => prepared.after(page), UPDATE_MS);
    const ms = performance.now() - start;
    if (shown) matrix.record(row, column, { ms });
    else
      await fail(
        `not shown within ${UPDATE_MS} ms`,
        await (prepared.shown ?? excerpt)(page).catch(() => excerpt(page)),
      );
  } catch (error) {
    await fail(`${(error as Error).message.split('\n')[0]}`, await excerpt(page).catch(() => ''));
  } finally {
    await cleanup?.();
  }
}

/**
 * Runs the cells in order and fails with the list of the ones that failed (after running them all).
 * Within `budgetMs` (kept under the test's timeout, so a timed-out test never leaves cells running
 * into the next one): once spent, the remaining cells fail without running.
 */
async function runAll(list: Cell[], budgetMs: number): Promise<void> {
  const before = new Set(matrix.failures());
  const deadline = performance.now() + budgetMs;
  for (const cell of list) {
    if (performance.now() < deadline) await run(cell);
    else
      matrix.record(`${cell.page}${cell.reload ? RELOADED : ''}`, EVENTS[cell.event], {
        failure: 'not run: the time budget was spent',
      });
  }
  const failed = matrix.failures().filter((failure) => !before.has(failure));
  // Anything a page threw meanwhile fails the test too (each error is reported once).
  for (const tab of Object.values(tabs)) failed.push(...tab.errors.splice(0).map((error) => `page error: ${error}`));
  expect(failed, `${failed.length} of ${list.length} cells failed:\n${failed.join('\n')}`).toEqual([]);
}

describe.skipIf(!browserReady)('the live matrix: every page, opened by URL, follows every change (issue 15)', () => {
  let all: Cell[] = [];

  beforeAll(async () => {
    // Google sign-in set up on the server, so the account can enforce it (nobody signs in with it here).
    ({ app, browser, close } = await startProduct({
      overrides: {
        sso: {
          google: { issuer: 'https://accounts.google.com', clientId: 'rolecall-matrix', clientSecret: 'unused' },
          microsoft: null,
          allowHttpIssuers: false,
          secretsKey: null,
        },
      },
    }));
    world = new World(client(app.url), app.config.dataDir);
    await world.setUp(app.clock.now());
    for (const [viewer, who] of [
      ['vera', world.vera],
      ['sam', world.sam],
    ] as const) {
      const { page, errors } = await newPage(browser);
      tabs[viewer] = { page, errors, live: new LiveTraffic(page), email: who.email };
      await signIn(page, app.url, who.email, PASSWORD);
    }
    all = cells(world);
  }, 60_000);

  afterAll(async () => {
    if (matrix.size > 0) {
      const lines = [`Live matrix (${app.database}): ${matrix.size} cells`, matrix.table(), '', ...LEGEND];
      if (shownInstead.length)
        lines.push('', 'Failing cells, and what the page showed instead:', ...shownInstead.map((line) => `  ${line}`));
      console.log(lines.join('\n'));
    }
    await close?.();
  });

  it('pages Vera opened by URL follow what other admins change', async () => {
    await runAll(
      all.filter((cell) => cell.viewer === 'vera'),
      270_000,
    );
  }, 300_000);

  it('and so do they once reloaded', async () => {
    const reloaded: [PageKey, EventKey][] = [
      ['/users', 'roleChange'],
      ['/users/:id', 'talk'],
      ['/roles', 'renamed'],
      ['/roles/:id', 'permissions'],
      ['/activity', 'revoked'],
      ['/account', 'team'],
      ['/me', 'renamed'],
    ];
    await runAll(
      reloaded.map(([page, event]) => {
        const cell = all.find((candidate) => candidate.page === page && candidate.event === event)!;
        return { ...cell, reload: true };
      }),
      90_000,
    );
  }, 120_000);

  it('every page Sam opened by URL follows changes to his own membership', async () => {
    const order: EventKey[] = [
      'renamed',
      'permissions',
      'roleDeleted',
      'owner',
      'billing',
      'promoted',
      'demoted',
      'twoFactor',
      'sso',
    ];
    await runAll(
      order.flatMap((event) => all.filter((cell) => cell.viewer === 'sam' && cell.event === event)),
      270_000,
    );
  }, 300_000);
});
