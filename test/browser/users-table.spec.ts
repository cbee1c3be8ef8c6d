/**
 * Issue 15's rough edges on the Users table, in Chromium: the Talk toggle says what it costs and
 * changes nothing until confirmed; the row menu (keyboard first) runs the profile's membership
 * actions under the profile's rules; and at 390 px (a phone) no page scrolls sideways and the first
 * member is on the first screen.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AccountDto, MemberDetailDto } from '@rolecall/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import {
  createAccount,
  ifMatch,
  invite,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  uniqueEmail,
} from '../api/support/factories.js';
import { client, type Client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let api: Client;

async function member(token: string, id: string): Promise<MemberDetailDto> {
  const reply = await api.get<MemberDetailDto>(`/users/${id}`, { token });
  expect(reply.status).toBe(200);
  return reply.body;
}

async function account(token: string): Promise<AccountDto> {
  const reply = await api.get<AccountDto>('/account', { token });
  expect(reply.status).toBe(200);
  return reply.body;
}

/** Sets Talk access over the API, as another admin would. */
async function setAgent(token: string, id: string, on: boolean): Promise<void> {
  const now = await member(token, id);
  const reply = await api.patch(`/users/${id}`, { agentAccess: on }, { token, headers: ifMatch(now.version) });
  expect(reply.status).toBe(200);
}

/** The text of the element that has focus. */
const focused = (page: Page) => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');

describe.skipIf(!browserReady)('the Users table: Talk cost confirm, row menu, phones (issue 15)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    api = client(app.url);
  }, 60_000);
  afterAll(() => close?.());

  it('the Talk toggle shows what it costs and changes nothing until confirmed; Cancel and Escape leave it as it was', async () => {
    // Starter: 3 agent seats, the first free, each further one $19/month.
    const owner = await createAccount(api, { plan: 'starter', name: 'Olive Owner' });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Bob Builder', agentAccess: true });
    const cara = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Cara Clark' });
    const dan = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Dan Dare' });
    expect((await account(owner.token)).agentSeats).toMatchObject({ used: 1, monthlyCost: 0 });

    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.getByRole('link', { name: 'Cara Clark' }).waitFor();

    // Cara on: a second agent seat, +$19/month. Cancel: nothing changes.
    await page.getByRole('button', { name: 'No access for Cara Clark: turn on' }).click();
    const dialog = page.getByRole('dialog', { name: 'Turn on Talk access for Cara Clark?' });
    await dialog.waitFor();
    expect(await dialog.getByTestId('talk-cost').innerText()).toBe(
      'Your bill goes up by $19/month: an extra agent seat.',
    );
    const numbers = await dialog.locator('dl').innerText();
    expect(numbers).toMatch(/Agent seats in use\s+1 → 2 of 3/);
    expect(numbers).toMatch(/Talk cost\s+\$0 → \$19\/month/);
    // Money goes out: Cancel has the focus, so Enter does not spend it.
    expect(await focused(page)).toBe('Cancel');
    await keepScreenshot(page, 'users-talk-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await member(owner.token, cara.member.id)).agentAccess).toBe(false);
    await page.getByRole('button', { name: 'No access for Cara Clark: turn on' }).waitFor();

    // Escape cancels as well, and focus goes back to the toggle.
    await page.getByRole('button', { name: 'No access for Cara Clark: turn on' }).click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focused(page)).toContain('Cara Clark: turn on');
    expect((await member(owner.token, cara.member.id)).agentAccess).toBe(false);

    // Confirmed: now it changes, and the seat meter follows.
    await page.getByRole('button', { name: 'No access for Cara Clark: turn on' }).click();
    await dialog.getByRole('button', { name: 'Turn on Talk access' }).click();
    await page.getByRole('button', { name: 'Access for Cara Clark: turn off' }).waitFor();
    expect((await member(owner.token, cara.member.id)).agentAccess).toBe(true);
    await expect.poll(() => page.getByTestId('seat-meter').innerText()).toMatch(/Agent seats \(Talk\)\s+2 of 3/);

    // Bob off: the bill goes down.
    await page.getByRole('button', { name: 'Access for Bob Builder: turn off' }).click();
    const off = page.getByRole('dialog', { name: 'Turn off Talk access for Bob Builder?' });
    await off.waitFor();
    expect(await off.getByTestId('talk-cost').innerText()).toBe(
      'Your bill goes down by $19/month: one agent seat fewer.',
    );
    expect(await off.locator('dl').innerText()).toMatch(/Agent seats in use\s+2 → 1 of 3/);
    expect((await member(owner.token, bob.member.id)).agentAccess).toBe(true);
    await off.getByRole('button', { name: 'Turn off Talk access' }).click();
    await page.getByRole('button', { name: 'No access for Bob Builder: turn on' }).waitFor();
    expect((await member(owner.token, bob.member.id)).agentAccess).toBe(false);

    // Cara's is now the only agent seat, the free one: turning it off saves nothing, and says so.
    await page.getByRole('button', { name: 'Access for Cara Clark: turn off' }).click();
    const free = page.getByRole('dialog', { name: 'Turn off Talk access for Cara Clark?' });
    await free.waitFor();
    expect(await free.getByTestId('talk-cost').innerText()).toBe(
      'No change to your bill: the first agent seat is free.',
    );
    await free.getByRole('button', { name: 'Cancel' }).click();
    await free.waitFor({ state: 'hidden' });
    expect((await member(owner.token, cara.member.id)).agentAccess).toBe(true);

    // Every agent seat taken (another admin's changes, seen live): the dialog says so and offers no confirm.
    await setAgent(owner.token, bob.member.id, true);
    await setAgent(owner.token, owner.member.id, true);
    await expect.poll(() => page.getByTestId('seat-meter').innerText()).toMatch(/Agent seats \(Talk\)\s+3 of 3/);
    await page.getByRole('button', { name: 'No access for Dan Dare: turn on' }).click();
    const full = page.getByRole('dialog', { name: 'Turn on Talk access for Dan Dare?' });
    await full.waitFor();
    expect(await full.getByRole('alert').innerText()).toBe(
      'Dan Dare can’t get Talk access. The starter plan has 3 agent seats and 3 are in use; this needs 1 more. Turn off Talk access for someone, or upgrade the plan.',
    );
    expect(await full.getByRole('button', { name: 'Turn on Talk access' }).count()).toBe(0);
    await full.getByRole('button', { name: 'Cancel' }).click();
    await full.waitFor({ state: 'hidden' });
    expect((await member(owner.token, dan.member.id)).agentAccess).toBe(false);

    expect(errors).toEqual([]);
    await context.close();
  });

  it('the row menu, by keyboard: the owner makes Bob the billing contact; only the owner is offered ownership; an admin revokes and reactivates; a 412 is explained', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const adam = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Adam Admin', roleId: ROLE.admin });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Bob Builder' });
    const cara = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Cara Clark' });

    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    const bobMenu = page.getByRole('button', { name: 'More actions for Bob Builder' });
    await bobMenu.waitFor();
    // The owner's own row has nothing the owner may do to it but what they already are (billing contact).
    expect(await page.getByRole('button', { name: 'More actions for Olive Owner' }).count()).toBe(0);

    // Keyboard: Enter opens on the first entry, arrows move, Escape closes and focus comes back.
    await bobMenu.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu', { name: 'More actions for Bob Builder' });
    await menu.waitFor();
    expect(await menu.getByRole('menuitem').allInnerTexts()).toEqual([
      'Make account owner',
      'Make billing contact',
      'Revoke access',
    ]);
    expect(await focused(page)).toBe('Make account owner');
    await page.keyboard.press('ArrowDown');
    expect(await focused(page)).toBe('Make billing contact');
    await page.keyboard.press('End');
    expect(await focused(page)).toBe('Revoke access');
    await page.keyboard.press('ArrowDown');
    expect(await focused(page)).toBe('Make account owner');
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    expect(await bobMenu.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await bobMenu.getAttribute('aria-expanded')).toBe('false');

    // ↓ opens it too; Make billing contact → the profile's confirm → the row gets the mark.
    await page.keyboard.press('ArrowDown');
    await menu.waitFor();
    await page.keyboard.press('ArrowDown');
    await keepScreenshot(page, 'users-row-menu');
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('dialog', { name: 'Make Bob Builder the billing contact?' });
    await confirm.waitFor();
    expect((await account(owner.token)).billingContactId).toBe(owner.member.id);
    await confirm.getByRole('button', { name: 'Make billing contact' }).click();
    await confirm.waitFor({ state: 'hidden' });
    const bobRow = page.getByRole('row').filter({ hasText: 'Bob Builder' });
    await expect.poll(() => bobRow.innerText()).toContain('Billing contact');
    expect(await page.getByRole('row').filter({ hasText: 'Olive Owner' }).innerText()).not.toContain('Billing contact');
    expect((await account(owner.token)).billingContactId).toBe(bob.member.id);
    expect(await bobMenu.evaluate((el) => el === document.activeElement)).toBe(true);
    // The billing contact can't be revoked: Bob's menu drops Revoke (and Make billing contact).
    await bobMenu.click();
    expect(await menu.getByRole('menuitem').allInnerTexts()).toEqual(['Make account owner']);
    await page.keyboard.press('Escape');

    // An admin who is not the owner: no ownership, no billing, but Revoke; none on their own row.
    const other = await newPage(browser);
    await signIn(other.page, app.url, adam.email, PASSWORD);
    const caraMenu = other.page.getByRole('button', { name: 'More actions for Cara Clark' });
    await caraMenu.waitFor();
    expect(await other.page.getByRole('button', { name: 'More actions for Adam Admin' }).count()).toBe(0);
    expect(await other.page.getByRole('button', { name: 'More actions for Olive Owner' }).count()).toBe(0);
    await caraMenu.click();
    const caraItems = other.page.getByRole('menu', { name: 'More actions for Cara Clark' }).getByRole('menuitem');
    expect(await caraItems.allInnerTexts()).toEqual(['Revoke access']);
    await caraItems.first().click();
    const revoke = other.page.getByRole('dialog', { name: 'Revoke Cara Clark’s access?' });
    await revoke.getByRole('button', { name: 'Revoke access' }).click();
    await revoke.waitFor({ state: 'hidden' });
    const caraRow = other.page.getByRole('row').filter({ hasText: 'Cara Clark' });
    await expect.poll(() => caraRow.innerText()).toContain('Revoked');
    expect((await member(owner.token, cara.member.id)).status).toBe('revoked');
    // Revoked: the menu offers Reactivate.
    await caraMenu.click();
    expect(await caraItems.allInnerTexts()).toEqual(['Reactivate']);
    await caraItems.first().click();
    await other.page
      .getByRole('dialog', { name: 'Reactivate Cara Clark?' })
      .getByRole('button', { name: 'Reactivate' })
      .click();
    await expect.poll(() => caraRow.innerText()).toContain('Active');
    expect((await member(owner.token, cara.member.id)).status).toBe('active');
    // And the owner's tab followed, live.
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Cara Clark' }).innerText()).toContain('Active');

    // A 412 (the page's version is stale): said in words, nothing changed, the row read again.
    await other.page.route(`**/api/v1/users/${cara.member.id}/revoke`, (route) =>
      route.continue({ headers: { ...route.request().headers(), 'if-match': '"1"' } }),
    );
    await caraMenu.click();
    await caraItems.first().click();
    await other.page
      .getByRole('dialog', { name: 'Revoke Cara Clark’s access?' })
      .getByRole('button', { name: 'Revoke access' })
      .click();
    const stale = other.page.getByRole('alert').filter({ hasText: 'changed by someone else' });
    await stale.waitFor();
    expect(await stale.innerText()).toBe(
      'Cara Clark was changed by someone else a moment ago. Their change is shown now; try again if you still want to revoke Cara Clark’s access.',
    );
    expect(await caraRow.innerText()).toContain('Active');
    expect((await member(owner.token, cara.member.id)).status).toBe('active');

    // Ownership from the owner's menu: Bob becomes the owner (and Admin); the former owner loses the entry.
    await bobMenu.click();
    await menu.getByRole('menuitem', { name: 'Make account owner' }).click();
    await page
      .getByRole('dialog', { name: 'Transfer ownership to Bob Builder?' })
      .getByRole('button', { name: 'Make account owner' })
      .click();
    await expect.poll(() => bobRow.innerText()).toContain('Owner');
    expect((await account(owner.token)).ownerId).toBe(bob.member.id);
    await expect.poll(() => bobRow.innerText()).toContain('Admin');
    await expect.poll(() => page.getByRole('button', { name: 'More actions for Bob Builder' }).count()).toBe(0);

    expect(errors).toEqual([]);
    expect(other.errors).toEqual([]);
    await other.context.close();
    await context.close();
  });

  it('at 390 px no page scrolls sideways, and the Users page shows its first member on the first screen', async () => {
    const owner = await createAccount(api, {
      plan: 'business',
      name: 'Olive Owner',
      accountName: 'Acme Widgets International',
    });
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, {
      name: 'Mia Montgomery-Whitfield',
      agentAccess: true,
    });
    await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Bob Builder', roleId: ROLE.readonly });
    await invite(api, owner, [uniqueEmail('a-rather-long-invited-address')]);
    const now = await account(owner.token);
    await api.patch('/account', { teamsEnabled: true }, { token: owner.token, headers: ifMatch(now.version) });

    const { page, context, errors } = await newPage(browser);
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, app.url, owner.email, PASSWORD);
    const pages: [string, string, string][] = [
      ['users', '/users', 'Users'],
      ['roles', '/roles', 'Roles'],
      ['activity', '/activity', 'Activity'],
      ['member', `/users/${mia.member.id}`, 'Mia Montgomery-Whitfield'],
      ['account', '/account', 'Account'],
    ];
    for (const [name, path, heading] of pages) {
      await page.goto(`${app.url}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${path} is ${width} px wide`).toBeLessThanOrEqual(390);
      const shot = await keepScreenshot(page, `phone-390-${name}`);
      if (name === 'users') {
        const first = await page.locator('tbody tr').first().boundingBox();
        expect(first, 'a first row').not.toBeNull();
        expect(first!.y, `the first row starts ${first!.y} px down`).toBeLessThan(844);
        // Stacked: who, role, status and the Talk toggle all within the screen's width.
        const row = page.getByRole('row').filter({ hasText: 'Mia Montgomery-Whitfield' });
        for (const part of [
          row.getByRole('link', { name: 'Mia Montgomery-Whitfield' }),
          row.getByText('Active', { exact: true }),
          row.getByRole('button', { name: /Access for Mia Montgomery-Whitfield/ }),
          row.getByRole('button', { name: 'More actions for Mia Montgomery-Whitfield' }),
        ]) {
          const box = await part.boundingBox();
          expect(box && box.x >= 0 && box.x + box.width <= 390, await part.innerText()).toBe(true);
        }
        mkdirSync(DOCS, { recursive: true });
        copyFileSync(shot, resolve(DOCS, 'users-390.png'));

        // The filters fold behind a button that counts those in use.
        const filters = page.getByRole('button', { name: /^Filters/ });
        expect(await filters.getAttribute('aria-expanded')).toBe('false');
        expect(await page.locator('#users-status').isVisible()).toBe(false);
        await filters.click();
        await page.locator('#users-status').selectOption('active');
        expect(await filters.innerText()).toMatch(/Filters\s*1/);
        expect(await filters.getAttribute('aria-expanded')).toBe('true');
        await expect.poll(() => page.getByTestId('member-count').innerText()).toBe('3 members match');
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
        await keepScreenshot(page, 'phone-390-users-filters');
        await filters.click();
        expect(await page.locator('#users-status').isVisible()).toBe(false);
      }
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('renders the first page of rows a few per render, the table hidden until all are there (issue 21)', async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olive Owner' });
    const emails = Array.from({ length: 20 }, (_, i) => `row${i}@example.com`);
    expect((await invite(api, owner, emails)).status).toBe(201);
    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    // What each DOM update added to the table's body (one MutationObserver callback per render),
    // and whether the table could be seen then: eight MemberRows in one task ran past 50 ms on
    // Lighthouse's slower phone CPU.
    await page.addInitScript(() => {
      const renders: { rows: number; shown: boolean }[] = [];
      (window as unknown as { renders: typeof renders }).renders = renders;
      new MutationObserver((records) => {
        let rows = 0;
        for (const record of records)
          for (const node of Array.from(record.addedNodes))
            if (node instanceof HTMLTableRowElement && node.closest('tbody')) rows += 1;
        const region = document.querySelector('[role="region"][aria-label="Members"]');
        if (rows && region) renders.push({ rows, shown: getComputedStyle(region).visibility === 'visible' });
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${app.url}/users`);
    await page.getByRole('row').filter({ hasText: 'row19@example.com' }).waitFor();
    const renders = await page.evaluate(
      () => (window as unknown as { renders: { rows: number; shown: boolean }[] }).renders,
    );
    expect(renders.reduce((sum, render) => sum + render.rows, 0)).toBe(21);
    expect(Math.max(...renders.map((render) => render.rows))).toBeLessThanOrEqual(4);
    // Nothing shows until the last batch is in (each batch widened the columns).
    expect(renders.slice(0, -1).filter((render) => render.shown)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
