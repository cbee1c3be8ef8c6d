/**
 * Issue 15's four live bugs, each as it was found: a page opened by URL (or reloaded, or left open
 * across a change of the viewer's own permissions) must follow a change made by another admin,
 * without a click or a reload. Every change here is made over the API by someone else; the tests
 * wait for what the page shows (no fixed sleeps).
 */
import type { MemberDto, RoleDto } from '@rolecall/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

/** Resolves at the next accepted Socket.IO connection (the `40` CONNECT frame); register before navigating. */
function nextLiveConnection(page: Page): Promise<void> {
  return new Promise((resolve) => {
    const onSocket = (socket: import('playwright-core').WebSocket) => {
      socket.on('framereceived', (frame) => {
        if (String(frame.payload).startsWith('40')) {
          page.off('websocket', onSocket);
          resolve();
        }
      });
    };
    page.on('websocket', onSocket);
  });
}

/** Opens `path` by typing it into the address bar (a full page load), then waits for the live connection. */
async function openByUrl(page: Page, path: string): Promise<void> {
  const connected = nextLiveConnection(page);
  await page.goto(`${app.url}${path}`);
  await connected;
}

async function reload(page: Page): Promise<void> {
  const connected = nextLiveConnection(page);
  await page.reload();
  await connected;
}

const api = () => client(app.url);

async function setRole(owner: { token: string }, memberId: string, roleId: string): Promise<void> {
  const current = await api().get<MemberDto>(`/users/${memberId}`, { token: owner.token });
  const reply = await api().patch(
    `/users/${memberId}`,
    { roleId },
    { token: owner.token, headers: ifMatch(current.body.version) },
  );
  expect(reply.status).toBe(200);
}

describe.skipIf(!browserReady)('Pages follow live changes however they were opened (issue 15)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('the Activity page opened by URL, and again after a reload, shows new entries as they are written', async () => {
    const owner = await createAccount(api(), { plan: 'business' });
    const admin = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });
    const bob = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Bob Builder' });
    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, admin.email, PASSWORD);
    const stream = page.getByRole('list', { name: 'Activity, newest first' }).locator(':scope > li');

    for (const [roleId, open] of [
      [ROLE.readonly, () => openByUrl(page, '/activity')],
      [ROLE.editor, () => reload(page)],
    ] as const) {
      await open();
      await page.getByTestId('chain-status').waitFor();
      await expect.poll(() => stream.count()).toBeGreaterThan(1);
      // The first page renders a few entries per task (issue 21): count it once it is all there.
      await page.locator('ol[aria-busy="false"]').waitFor();
      const before = await stream.count();
      await setRole(owner, bob.member.id, roleId);
      await expect.poll(() => stream.count(), { timeout: 8000 }).toBe(before + 1);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a member promoted while their Users page is open sees the list at once, without "Try again"; demoted, the page closes again', async () => {
    const owner = await createAccount(api(), { plan: 'business', name: 'Olive Owner' });
    const reader = await inviteAndAccept(api(), app.config.dataDir, owner, {
      roleId: ROLE.readonly,
      name: 'Rita Reader',
    });
    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, reader.email, PASSWORD);
    await openByUrl(page, '/users');
    await page.getByText('You don’t have access to this page').waitFor();

    await setRole(owner, reader.member.id, ROLE.admin);
    await page.getByRole('link', { name: 'Olive Owner' }).waitFor({ timeout: 8000 });
    await expect.poll(() => page.getByTestId('member-count').innerText()).toBe('2 members');
    expect(await page.getByText('You don’t have permission to do that.').count()).toBe(0);

    await setRole(owner, reader.member.id, ROLE.readonly);
    await page.getByText('You don’t have access to this page').waitFor({ timeout: 8000 });
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('My account follows a live role change: the role name, not only the permission chips', async () => {
    const owner = await createAccount(api(), { plan: 'business' });
    const member = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Eve Evans' });
    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, member.email, PASSWORD);
    await openByUrl(page, '/me');
    await page.getByText('What your role (Editor) allows').waitFor();

    await setRole(owner, member.member.id, ROLE.readonly);
    await page.getByText('What your role (Read only) allows').waitFor({ timeout: 8000 });
    const profile = page.getByRole('region', { name: 'Profile' });
    await expect.poll(() => profile.innerText()).toContain('Read only');
    expect(await profile.innerText()).not.toContain('Editor');

    // A rename of the role the member holds follows too.
    await reload(page);
    const roles = await api().get<{ items: RoleDto[] }>('/roles', { token: owner.token });
    expect(roles.status).toBe(200);
    const custom = await api().post<RoleDto>(
      '/roles',
      { name: 'Helpers', description: '', icon: 'star', permissions: ['people.view'] },
      { token: owner.token },
    );
    expect(custom.status).toBe(201);
    await setRole(owner, member.member.id, custom.body.id);
    await page.getByText('What your role (Helpers) allows').waitFor({ timeout: 8000 });
    const renamed = await api().patch<RoleDto>(
      `/roles/${custom.body.id}`,
      { name: 'Helpers Plus' },
      { token: owner.token, headers: ifMatch(custom.body.version) },
    );
    expect(renamed.status).toBe(200);
    await page.getByText('What your role (Helpers Plus) allows').waitFor({ timeout: 8000 });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a role deleted with reassignment: the moved member’s own page and their profile open at another admin show the new role', async () => {
    const owner = await createAccount(api(), { plan: 'business' });
    const admin = await inviteAndAccept(api(), app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });
    const role = await api().post<RoleDto>(
      '/roles',
      { name: 'Campaigners', description: '', icon: 'megaphone', permissions: ['campaigns.view'] },
      { token: owner.token },
    );
    expect(role.status).toBe(201);
    const carol = await inviteAndAccept(api(), app.config.dataDir, owner, {
      roleId: role.body.id,
      name: 'Carol Campaign',
    });

    const mine = await newPage(browser);
    await signIn(mine.page, app.url, carol.email, PASSWORD);
    await openByUrl(mine.page, '/me');
    await mine.page.getByText('What your role (Campaigners) allows').waitFor();

    const theirs = await newPage(browser);
    await signIn(theirs.page, app.url, admin.email, PASSWORD);
    await openByUrl(theirs.page, `/users/${carol.member.id}`);
    await theirs.page.getByRole('heading', { name: 'Carol Campaign', level: 1 }).waitFor();
    // The profile's role, as its form shows it (the activity further down keeps the names of the time).
    const roleField = theirs.page.getByLabel('Role', { exact: true });
    const shownRole = () =>
      roleField.evaluate((select: HTMLSelectElement) => select.selectedOptions[0]?.textContent?.trim());
    await expect.poll(shownRole).toBe('Campaigners');

    const deleted = await api().delete(`/roles/${role.body.id}?reassignTo=${ROLE.readonly}`, undefined, {
      token: owner.token,
      headers: ifMatch(role.body.version),
    });
    expect(deleted.status).toBe(204);
    await mine.page.getByText('What your role (Read only) allows').waitFor({ timeout: 8000 });
    await expect.poll(shownRole, { timeout: 8000 }).toBe('Read only');
    expect(mine.errors).toEqual([]);
    expect(theirs.errors).toEqual([]);
    await mine.context.close();
    await theirs.context.close();
  });
});
