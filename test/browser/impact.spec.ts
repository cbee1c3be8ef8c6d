/**
 * Impact previews say what a change does to people before it is made: gains as well as losses,
 * and, in words, a member about to be left with no permission at all (issue 15: a Talk-only role
 * given to a member without agent access).
 */
import type { RoleDto } from '@rolecall/contracts';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, inviteAndAccept, PASSWORD } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

describe.skipIf(!browserReady)('Impact previews (issue 15)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('the delete dialog and the member’s role form name who would be left with no permissions, and why', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business' });
    const role = async (name: string, permissions: string[]) => {
      const reply = await api.post<RoleDto>(
        '/roles',
        { name, description: '', icon: 'star', permissions },
        { token: owner.token },
      );
      expect(reply.status).toBe(201);
      return reply.body;
    };
    const campaigners = await role('Campaigners', ['campaigns.view']);
    await role('Support agent', ['talk.view', 'talk.reply']);
    const carol = await inviteAndAccept(api, app.config.dataDir, owner, {
      roleId: campaigners.id,
      name: 'Carol Campaign',
      agentAccess: false,
    });

    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);

    // The profile's role form, before saving.
    await page.goto(`${app.url}/users/${carol.member.id}`);
    await page.getByRole('heading', { name: 'Carol Campaign', level: 1 }).waitFor();
    await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Support agent' });
    const impact = page.getByTestId('access-impact');
    await expect
      .poll(() => impact.innerText())
      .toContain(
        'Carol Campaign will have no permissions: Support agent grants only Talk inbox permissions and Carol Campaign has no agent access.',
      );
    expect(await impact.innerText()).toContain('Carol Campaign will lose Campaigns & journeys: View.');
    // With Talk access the same role gives her something: the gain shows, the warning goes.
    await page.getByLabel('Talk access (agent seat)').check();
    await expect.poll(() => impact.innerText()).toContain('Carol Campaign will gain Talk inbox: View, Reply.');
    expect(await impact.innerText()).not.toContain('no permissions');
    await page.getByRole('button', { name: 'Discard' }).click();

    // The delete dialog, moving her to the Talk-only role.
    await page.goto(`${app.url}/roles`);
    await page.getByRole('button', { name: 'More actions for Campaigners' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Move them to').selectOption({ label: 'Support agent' });
    const summary = dialog.getByTestId('impact');
    await expect
      .poll(() => summary.innerText())
      .toContain(
        'Carol Campaign will have no permissions: Support agent grants only Talk inbox permissions and Carol Campaign has no agent access.',
      );
    expect(await summary.innerText()).toContain('1 member will lose');
    await keepScreenshot(page, 'role-delete-no-permissions-left');
    expect(errors).toEqual([]);
    await context.close();
  });
});
