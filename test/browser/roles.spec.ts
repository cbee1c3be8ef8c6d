import type { RoleDto, RoleListDto } from '@rolecall/contracts';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, inviteAndAccept, PASSWORD, ROLE, type SignedUp } from '../api/support/factories.js';
import { client, type Client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

async function createRole(api: Client, owner: SignedUp, name: string, permissions: string[] = ['people.view']): Promise<RoleDto> {
  const reply = await api.post<RoleDto>('/roles', { name, description: `${name} team`, icon: 'headset', permissions }, { token: owner.token });
  if (reply.status !== 201) throw new Error(`role create failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** The custom roles' names in the order the page shows them. */
function customOrder(page: Page): Promise<string[]> {
  return page.locator('ol[aria-label="Custom roles, in display order"] > li a.name').allInnerTexts();
}

async function savedOrder(api: Client, owner: SignedUp): Promise<string[]> {
  const reply = await api.get<RoleListDto>('/roles', { token: owner.token });
  return reply.body.items.filter((role) => !role.system).map((role) => role.name);
}

/** Drags a row by its handle with a real pointer until it sits above `target`'s row. */
async function dragAbove(page: Page, handle: Locator, target: Locator): Promise<void> {
  const from = await handle.boundingBox();
  const to = await target.boundingBox();
  if (!from || !to) throw new Error('rows are not visible');
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + from.width / 2, to.y + 4, { steps: 12 });
  await page.mouse.up();
}

/**
 * Lets row animations finish and scrolls to the end, so a full-page screenshot shows the sticky
 * save bar where it sits in the page rather than over the fields at the first screen's bottom.
 */
async function settle(page: Page): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForTimeout(300);
}

describe.skipIf(!browserReady)('roles in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it("reorders custom roles by drag and by keyboard, and the other admin's Roles page follows live", async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Ada Admin' });
    await createRole(api, owner, 'Support');
    await createRole(api, owner, 'Marketing');
    const finance = await createRole(api, owner, 'Finance');
    await inviteAndAccept(api, app.config.dataDir, owner, { roleId: finance.id, name: 'Fay Finance' });

    const a = await newPage(browser);
    const b = await newPage(browser, { colorScheme: 'dark' });
    await signIn(a.page, app.url, owner.email, PASSWORD);
    await signIn(b.page, app.url, admin.email, PASSWORD);
    await a.page.goto(`${app.url}/roles`);
    await b.page.goto(`${app.url}/roles`);
    await expect.poll(() => customOrder(a.page)).toEqual(['Support', 'Marketing', 'Finance']);
    await expect.poll(() => customOrder(b.page)).toEqual(['Support', 'Marketing', 'Finance']);
    // Built-in roles come first and cannot be dragged.
    expect(await a.page.locator('ul[aria-labelledby="system-title"] a.name').allInnerTexts()).toEqual(['Admin', 'Editor', 'Read only']);
    expect(await a.page.getByRole('button', { name: 'Move Admin' }).count()).toBe(0);
    // Members show as avatars linking to their profiles.
    await expect.poll(() => a.page.getByRole('link', { name: 'Fay Finance' }).getAttribute('href')).toMatch(/^\/users\//);

    // 1. Drag Finance above Support with the mouse.
    const rows = a.page.locator('ol[aria-label="Custom roles, in display order"] > li');
    await dragAbove(a.page, a.page.getByRole('button', { name: 'Move Finance' }), rows.nth(0));
    await expect.poll(() => customOrder(a.page)).toEqual(['Finance', 'Support', 'Marketing']);
    await expect.poll(() => savedOrder(api, owner)).toEqual(['Finance', 'Support', 'Marketing']);
    await expect.poll(() => customOrder(b.page), { timeout: 3000 }).toEqual(['Finance', 'Support', 'Marketing']);

    // 2. With the keyboard: Space picks Support up, ArrowDown moves it, Space drops it.
    const support = a.page.getByRole('button', { name: 'Move Support' });
    await support.focus();
    await a.page.keyboard.press('Space');
    await expect.poll(() => a.page.getByTestId('reorder-announcement').innerText()).toContain('Support picked up, position 2 of 3');
    await a.page.keyboard.press('ArrowDown');
    await expect.poll(() => a.page.getByTestId('reorder-announcement').innerText()).toContain('moved to position 3 of 3');
    await expect.poll(() => a.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Move Support');
    await a.page.keyboard.press('Space');
    await expect.poll(() => a.page.getByTestId('reorder-announcement').innerText()).toContain('Support dropped at position 3 of 3');
    await expect.poll(() => savedOrder(api, owner)).toEqual(['Finance', 'Marketing', 'Support']);
    await expect.poll(() => customOrder(b.page), { timeout: 3000 }).toEqual(['Finance', 'Marketing', 'Support']);

    // Escape puts a picked-up role back where it was, and nothing is saved.
    await support.focus();
    await a.page.keyboard.press('Space');
    await a.page.keyboard.press('Home');
    await expect.poll(() => customOrder(a.page)).toEqual(['Support', 'Finance', 'Marketing']);
    await a.page.keyboard.press('Escape');
    await expect.poll(() => customOrder(a.page)).toEqual(['Finance', 'Marketing', 'Support']);
    expect(await savedOrder(api, owner)).toEqual(['Finance', 'Marketing', 'Support']);

    // 3. The other admin, who only saw the order change live, reorders without a stale version.
    const marketing = b.page.getByRole('button', { name: 'Move Marketing' });
    await marketing.focus();
    await b.page.keyboard.press('Space');
    await b.page.keyboard.press('ArrowUp');
    await b.page.keyboard.press('Enter');
    await expect.poll(() => savedOrder(api, owner)).toEqual(['Marketing', 'Finance', 'Support']);
    await expect.poll(() => customOrder(a.page), { timeout: 3000 }).toEqual(['Marketing', 'Finance', 'Support']);
    await expect.poll(() => b.page.getByText('Another admin reordered').count()).toBe(0);

    await settle(a.page);
    await keepScreenshot(a.page, 'roles-reordered');
    await keepScreenshot(b.page, 'roles-reordered-live-dark');
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    await a.context.close();
    await b.context.close();
  });

  it('two admins edit the same role: the second to save sees the conflict view and re-applies on top', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Ada Admin' });
    const support = await createRole(api, owner, 'Support', ['people.view', 'campaigns.view']);
    await inviteAndAccept(api, app.config.dataDir, owner, { roleId: support.id, name: 'Sam Support' });

    const a = await newPage(browser);
    const b = await newPage(browser, { colorScheme: 'dark' });
    await signIn(a.page, app.url, owner.email, PASSWORD);
    await signIn(b.page, app.url, admin.email, PASSWORD);
    await a.page.goto(`${app.url}/roles/${support.id}`);
    await b.page.goto(`${app.url}/roles/${support.id}`);
    const nameOf = (page: Page) => page.getByLabel('Name', { exact: true });
    await expect.poll(() => nameOf(a.page).inputValue()).toBe('Support');
    await expect.poll(() => nameOf(b.page).inputValue()).toBe('Support');

    // Presence: each sees the other; B starts editing and A sees it.
    await expect.poll(() => a.page.getByTestId('presence').innerText(), { timeout: 3000 }).toContain('Ada Admin is viewing');
    const publish = b.page.getByRole('group', { name: 'Campaigns & journeys' }).getByRole('checkbox', { name: 'Publish' });
    await publish.check();
    // Ticking Publish ticks View and locks it.
    const view = b.page.getByRole('group', { name: 'Campaigns & journeys' }).getByRole('checkbox', { name: 'View' });
    expect(await view.isChecked()).toBe(true);
    expect(await view.isDisabled()).toBe(true);
    // Admin-only actions are shown but never offered.
    expect(await b.page.getByRole('group', { name: 'Users', exact: true }).getByRole('checkbox', { name: 'Manage' }).isDisabled()).toBe(true);
    await nameOf(b.page).fill('Support desk');
    await expect.poll(() => a.page.getByTestId('presence').innerText(), { timeout: 3000 }).toContain('Ada Admin is editing');

    // A saves a new description first (no permission change: saved at once).
    await a.page.getByLabel('Description').fill('Answers customers in Talk');
    await a.page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(async () => (await api.get<RoleDto>(`/roles/${support.id}`, { token: owner.token })).body.version).toBe(support.version + 1);

    // B's form keeps B's edits (and says someone else saved); saving answers 412 → conflict view.
    await expect.poll(() => b.page.getByText('Another admin saved a change to this role').count(), { timeout: 3000 }).toBe(1);
    expect(await nameOf(b.page).inputValue()).toBe('Support desk');
    await b.page.getByRole('button', { name: 'Save changes' }).click();
    const conflict = b.page.getByTestId('conflict');
    await conflict.waitFor({ timeout: 3000 });
    // It names who saved first (the activity log's author of the role's current version).
    await expect.poll(() => conflict.getByRole('heading').innerText()).toBe('Olive Owner changed the role “Support” first');
    const table = await conflict.locator('tbody tr').allInnerTexts();
    expect(table.find((row) => row.startsWith('Name'))).toMatch(/Support desk\s+Support$/);
    expect(table.find((row) => row.startsWith('Description'))).toMatch(/Not changed by you\s+Answers customers in Talk$/);
    expect(table.find((row) => row.startsWith('Campaigns & journeys permissions'))).toMatch(/View, Publish\s+View$/);
    await settle(b.page);
    await keepScreenshot(b.page, 'role-conflict-dark');

    // Re-applying B's change on top of A's: the impact preview lists Sam, then it saves.
    await conflict.getByRole('button', { name: 'Apply my change again' }).click();
    const impact = b.page.getByTestId('impact');
    await impact.waitFor({ timeout: 3000 });
    expect(await impact.innerText()).toContain('1 member will gain Campaigns & journeys: Publish');
    expect(await impact.innerText()).toContain('Sam Support');
    await keepScreenshot(b.page, 'role-impact-preview-dark');
    await b.page.getByRole('dialog').getByRole('button', { name: 'Save changes' }).click();
    await expect
      .poll(async () => {
        const saved = (await api.get<RoleDto>(`/roles/${support.id}`, { token: owner.token })).body;
        return { name: saved.name, description: saved.description, publish: saved.permissions.includes('campaigns.publish') };
      })
      .toEqual({ name: 'Support desk', description: 'Answers customers in Talk', publish: true });

    // A's untouched form follows B's save live.
    await expect.poll(() => nameOf(a.page).inputValue(), { timeout: 3000 }).toBe('Support desk');
    expect(await a.page.getByRole('group', { name: 'Campaigns & journeys' }).getByRole('checkbox', { name: 'Publish' }).isChecked()).toBe(true);
    await settle(a.page);
    await keepScreenshot(a.page, 'role-editor-live');
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    await a.context.close();
    await b.context.close();
  });

  it('creates a role (and says so in words when the plan has no custom roles), deletes it with reassignment, and shows system roles read-only', async () => {
    const api = client(app.url);

    // The free plan has no custom roles: the editor says so in words.
    const freeOwner = await createAccount(api, { plan: 'free' });
    const free = await newPage(browser);
    await signIn(free.page, app.url, freeOwner.email, PASSWORD);
    await free.page.goto(`${app.url}/roles/new`);
    await free.page.getByLabel('Name', { exact: true }).fill('Auditors');
    await free.page.getByRole('button', { name: 'Create role' }).click();
    await expect.poll(() => free.page.getByRole('alert').allInnerTexts()).toContainEqual(expect.stringContaining('Custom roles aren’t included in the Free plan'));
    await settle(free.page);
    await keepScreenshot(free.page, 'role-new-plan-gate');
    await free.context.close();

    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const { page, errors, context } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/roles`);
    await page.getByRole('link', { name: 'New role' }).click();
    await page.waitForURL(`${app.url}/roles/new`);

    // An empty name is caught before anything is sent, and focus goes to it.
    await page.getByRole('button', { name: 'Create role' }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-invalid'))).toBe('true');
    expect(await page.getByLabel('Name', { exact: true }).evaluate((input) => input === document.activeElement)).toBe(true);

    await page.getByLabel('Name', { exact: true }).fill('Auditors');
    await page.getByLabel('Description').fill('Read the reports and export them');
    await page.getByTitle('Book', { exact: true }).click();
    expect(await page.getByRole('radio', { name: 'Book' }).isChecked()).toBe(true);
    const reports = page.getByRole('group', { name: 'Reports' });
    await reports.getByRole('checkbox', { name: 'Export' }).check();
    expect(await reports.getByRole('checkbox', { name: 'View' }).isChecked()).toBe(true);
    await page.getByRole('checkbox', { name: 'All of Dashboards' }).check();
    expect(await page.getByRole('group', { name: 'Dashboards' }).getByRole('checkbox', { name: 'Delete' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.waitForURL(`${app.url}/roles`);
    await expect.poll(() => customOrder(page)).toEqual(['Auditors']);
    const created = (await api.get<RoleListDto>('/roles', { token: owner.token })).body.items.find((role) => role.name === 'Auditors')!;
    expect(created.icon).toBe('book');
    expect([...created.permissions].sort()).toEqual(
      ['dashboards.create', 'dashboards.delete', 'dashboards.edit', 'dashboards.view', 'reports.export', 'reports.view'].sort(),
    );

    // Someone holds it: deleting asks where they go and shows what they lose.
    const auditor = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: created.id, name: 'Abe Auditor' });
    await expect.poll(() => page.getByRole('link', { name: 'Abe Auditor' }).count(), { timeout: 3000 }).toBe(1);
    await page.getByRole('button', { name: 'More actions for Auditors' }).focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Edit');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Move them to').selectOption({ label: 'Read only' });
    await expect.poll(() => dialog.getByTestId('impact').innerText()).toContain('1 member will lose');
    expect(await dialog.getByTestId('impact').innerText()).toContain('Reports: Export');
    await keepScreenshot(page, 'role-delete-reassign');
    await dialog.getByRole('button', { name: 'Delete and move to Read only' }).click();
    await expect.poll(() => customOrder(page)).toEqual([]);
    const moved = await api.get<{ role: { id: string } }>(`/users/${auditor.member.id}`, { token: owner.token });
    expect(moved.body.role.id).toBe(ROLE.readonly);

    // System roles are viewable, never editable.
    await page.goto(`${app.url}/roles/${ROLE.editor}`);
    await page.getByText('System roles can’t be changed').waitFor();
    expect(await page.getByLabel('Name', { exact: true }).isDisabled()).toBe(true);
    expect(await page.getByRole('group', { name: 'Campaigns & journeys' }).getByRole('checkbox', { name: 'Publish' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
    await settle(page);
    await keepScreenshot(page, 'role-system-readonly');
    expect(errors).toEqual([]);
    await context.close();
  });
});
