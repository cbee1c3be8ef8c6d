/**
 * "View as" and "Duplicate a role" (issue 17 §4–5) in Chromium: the profile's "What can X do" lists
 * where each permission comes from and follows a live change of the member's role and agent
 * access; "Preview the dashboard as <role>" shows the role's nav read-only (action buttons absent) and Exit preview restores; Duplicate in the roles menu makes
 * "X (copy)". Screenshots: docs/view-as.png, docs/preview-as-role.png, docs/role-duplicate.png.
 */
import type { ActivityEntryDto, MemberDto, RoleDto, RoleListDto } from '@rolecall/contracts';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, type SignedUp } from '../api/support/factories.js';
import { client, type Client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let api: Client;

async function createRole(owner: SignedUp, name: string, permissions: string[]): Promise<RoleDto> {
  const reply = await api.post<RoleDto>(
    '/roles',
    { name, description: `${name} team`, icon: 'headset', permissions },
    { token: owner.token },
  );
  if (reply.status !== 201) throw new Error(`role create failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Closes the confirmations (they would cover the card in a screenshot). */
async function dismissToasts(page: Page): Promise<void> {
  const buttons = page.locator('.toast button[aria-label="Dismiss"]');
  while ((await buttons.count()) > 0) await buttons.first().click();
}

const navItems = (page: Page) => page.locator('nav[aria-label="Main"] a').allInnerTexts();

describe.skipIf(!browserReady)('view as and duplicate in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    api = client(app.url);
    mkdirSync(DOCS, { recursive: true });
  }, 60_000);
  afterAll(() => close?.());

  it('"What can X do" lists the sources and follows a live change of the role and of agent access', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const support = await createRole(owner, 'Support agent', ['talk.reply', 'people.view']);
    const sam = await inviteAndAccept(api, app.config.dataDir, owner, {
      roleId: support.id,
      agentAccess: true,
      name: 'Sam Support',
    });
    const { page, context, errors } = await newPage(browser);
    try {
      await signIn(page, app.url, owner.email, PASSWORD);
      await page.goto(`${app.url}/users/${sam.member.id}`);
      const card = page.getByTestId('member-permissions');
      await expect.poll(() => card.getByRole('heading', { level: 2 }).textContent()).toBe('What can Sam Support do');
      const talk = card.locator('.features > li').filter({ hasText: 'Talk inbox' });
      await expect.poll(() => talk.locator('.from').textContent()).toBe('From Support agent + Talk agent access');
      expect(await talk.getByRole('listitem').allInnerTexts()).toEqual(['View', 'Reply']);
      expect(await card.locator('.features > li').filter({ hasText: 'People' }).locator('.from').textContent()).toBe(
        'From Support agent',
      );

      // Another admin edits the role: the card follows without a reload.
      const edited = await api.patch(
        `/roles/${support.id}`,
        { permissions: ['talk.reply', 'people.view', 'reports.export'] },
        { token: owner.token, headers: ifMatch(support.version) },
      );
      expect(edited.status).toBe(200);
      await expect
        .poll(() => card.locator('.features > li').filter({ hasText: 'Reports' }).getByRole('listitem').allInnerTexts())
        .toEqual(['View', 'Export']);

      // Agent access off: the Talk keys move to "granted by the role but not held", with why.
      const version = (await api.get<MemberDto>(`/users/${sam.member.id}`, { token: owner.token })).body.version;
      expect(
        (
          await api.patch(
            `/users/${sam.member.id}`,
            { agentAccess: false },
            { token: owner.token, headers: ifMatch(version) },
          )
        ).status,
      ).toBe(200);
      await expect.poll(() => card.locator('.features > li').filter({ hasText: 'Talk inbox' }).count()).toBe(0);
      await expect
        .poll(() => card.locator('.more').first().textContent())
        .toContain('Needs Talk agent access: Talk inbox: View, Reply');

      // Back on, for the screenshot with every source.
      expect(
        (
          await api.patch(
            `/users/${sam.member.id}`,
            { agentAccess: true },
            { token: owner.token, headers: ifMatch(version + 1) },
          )
        ).status,
      ).toBe(200);
      await expect.poll(() => card.locator('.features > li').filter({ hasText: 'Talk inbox' }).count()).toBe(1);
      await dismissToasts(page);
      await card.scrollIntoViewIfNeeded();
      await card.screenshot({ path: resolve(DOCS, 'view-as.png') });
      await keepScreenshot(page, 'view-as');

      // The owner's own card names the owner's extras.
      await page.goto(`${app.url}/users/${owner.member.id}`);
      await expect.poll(() => card.textContent()).toContain('As the account owner');
      expect(await card.textContent()).toContain('Change the plan');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('previews the dashboard as a role read-only: the role’s nav, no action buttons, logged; Exit restores', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const lead = await createRole(owner, 'Team lead', ['users.view', 'people.view']);
    await inviteAndAccept(api, app.config.dataDir, owner, { roleId: lead.id, name: 'Lee Lead' });
    const { page, context, errors } = await newPage(browser);
    try {
      await signIn(page, app.url, owner.email, PASSWORD);
      await page.goto(`${app.url}/users`);
      await expect.poll(() => navItems(page)).toEqual(['Users', 'Roles', 'Activity', 'Account', 'My account']);
      await expect.poll(() => page.getByRole('button', { name: 'New user' }).count()).toBe(1);
      expect(await page.getByRole('link', { name: 'Export CSV' }).count()).toBe(1);

      await page.goto(`${app.url}/roles`);
      await page.getByRole('button', { name: 'More actions for Team lead' }).click();
      await page.getByRole('menuitem', { name: 'Preview the dashboard as Team lead' }).click();

      const banner = page.getByRole('region', { name: 'Preview' });
      await expect.poll(() => banner.textContent()).toContain('Previewing as Team lead');
      await page.waitForURL((url) => url.pathname === '/users');
      await expect.poll(() => navItems(page)).toEqual(['Users', 'My account']);
      // The list shows (with the admin's own session), but no action: no New user, no import, no bulk action.
      await expect.poll(() => page.getByRole('link', { name: 'Lee Lead' }).count()).toBeGreaterThan(0);
      expect(await page.getByRole('button', { name: 'New user' }).count()).toBe(0);
      // Nor an export: it is logged as the admin's own act (users.exported).
      expect(await page.getByRole('link', { name: 'Export CSV' }).count()).toBe(0);
      expect(
        await page
          .locator('main')
          .getByRole('button', { name: /^(New user|Import|Revoke|Delete|Change role)/ })
          .count(),
      ).toBe(0);
      await page.screenshot({ path: resolve(DOCS, 'preview-as-role.png') });
      await keepScreenshot(page, 'preview-as-role');

      // A member's profile: no role editing, no revoke; "What can X do" has no second preview.
      await page.getByRole('link', { name: 'Lee Lead' }).first().click();
      await expect.poll(() => page.getByTestId('member-permissions').count()).toBe(1);
      expect(await page.getByRole('button', { name: /Revoke|Save|Preview the dashboard/ }).count()).toBe(0);
      expect(await page.locator('main select:not([disabled])').count()).toBe(0);
      // A reload ends the preview (it lives in this tab's memory only).
      await page.goto(`${app.url}/roles`);
      await expect.poll(() => navItems(page)).toEqual(['Users', 'Roles', 'Activity', 'Account', 'My account']);
      expect(await banner.count()).toBe(0);

      // Once more, then Exit preview restores the own dashboard on the page it started from.
      await page.goto(`${app.url}/roles`);
      await page.getByRole('button', { name: 'More actions for Team lead' }).click();
      await page.getByRole('menuitem', { name: 'Preview the dashboard as Team lead' }).click();
      await expect.poll(() => navItems(page)).toEqual(['Users', 'My account']);
      await banner.getByRole('button', { name: 'Exit preview' }).click();
      await page.waitForURL((url) => url.pathname === '/roles');
      await expect.poll(() => navItems(page)).toEqual(['Users', 'Roles', 'Activity', 'Account', 'My account']);
      expect(await banner.count()).toBe(0);
      await page.goto(`${app.url}/users`);
      await expect.poll(() => page.getByRole('button', { name: 'New user' }).count()).toBe(1);

      const log = await api.get<{ items: ActivityEntryDto[] }>('/activity?action=role.previewed', {
        token: owner.token,
      });
      expect(log.body.items.map((entry) => entry.target.label)).toEqual(['Team lead', 'Team lead']);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('duplicates a role from the roles menu: "X (copy)" appears in the list', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    await createRole(owner, 'Support agent', ['talk.reply', 'people.view']);
    const { page, context, errors } = await newPage(browser);
    try {
      await signIn(page, app.url, owner.email, PASSWORD);
      await page.goto(`${app.url}/roles`);
      // Admin cannot be copied (its keys are Admin-only); Editor can.
      await page.getByRole('button', { name: 'More actions for Admin' }).click();
      expect(await page.getByRole('menuitem', { name: 'Duplicate' }).count()).toBe(0);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'More actions for Support agent' }).click();
      await page.getByRole('menuitem', { name: 'Duplicate' }).click();
      const custom = page.locator('ol[aria-label="Custom roles, in display order"] > li a.name');
      await expect.poll(() => custom.allInnerTexts()).toEqual(['Support agent', 'Support agent (copy)']);
      await expect
        .poll(() => page.locator('.toast').first().textContent())
        .toContain('“Support agent (copy)” created as a copy of “Support agent”');
      // The menu of the original, over the list with its new copy and the confirmation.
      await page.setViewportSize({ width: 1280, height: 1000 });
      await page.getByRole('button', { name: 'More actions for Support agent', exact: true }).click();
      await expect
        .poll(() => page.getByRole('menuitem').allInnerTexts())
        .toEqual(['Edit', 'Delete', 'Duplicate', 'Preview the dashboard as Support agent']);
      await page.screenshot({ path: resolve(DOCS, 'role-duplicate.png') });
      await keepScreenshot(page, 'role-duplicate');
      const saved = (await api.get<RoleListDto>('/roles', { token: owner.token })).body.items.find(
        (r) => r.name === 'Support agent (copy)',
      );
      expect(saved?.permissions).toEqual(['people.view', 'talk.view', 'talk.reply']);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
