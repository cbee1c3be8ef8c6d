/**
 * SCIM provisioning in Chromium (issue 16 §2): the owner turns SCIM on from the Account page, the
 * token is shown once with the base URL, an identity provider uses it (the card then says when), the
 * member it deactivates is sent to sign-in live with the reason, and SCIM is turned off again.
 * Screenshot: docs/scim.png.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, inviteAndAccept, ROLE, type SignedUp } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let owner: SignedUp;

describe.skipIf(!browserReady)('SCIM provisioning in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    owner = await createAccount(client(app.url), { plan: 'enterprise', name: 'Olive Owner', accountName: 'Acme Directory' });
  }, 60_000);
  afterAll(async () => {
    await close?.();
  });

  it('turns SCIM on (token shown once), shows its use, a deprovisioned member is told live, and turns it off', async () => {
    const api = client(app.url);
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Mia Member' });
    const admin = await newPage(browser);
    const member = await newPage(browser);
    try {
      await signIn(admin.page, app.url, owner.email, owner.password);
      await admin.page.goto(`${app.url}/account`);
      const card = admin.page.getByTestId('scim');
      await expect.poll(() => card.getByTestId('scim-status').textContent()).toContain('Off');
      await card.getByRole('button', { name: 'Turn on SCIM' }).click();
      const token = (await card.getByTestId('scim-token').locator('code').textContent())!.trim();
      expect(token).toMatch(/^scim_/);
      expect(await card.getByTestId('scim-base-url').textContent()).toMatch(/\/scim\/v2$/);
      await expect.poll(() => card.getByTestId('scim-status').textContent()).toContain('not used yet');

      await signIn(member.page, app.url, mia.email, 'correct horse battery staple');
      await member.page.goto(`${app.url}/me`);
      await member.page.getByRole('heading', { level: 1 }).waitFor();
      // The page follows live before the deprovisioning (its socket may connect after the first paint):
      // a role change made over the API shows on it first.
      const current = await api.get<{ version: number }>(`/users/${mia.member.id}`, { token: owner.token });
      await api.patch(`/users/${mia.member.id}`, { roleId: ROLE.readonly }, { token: owner.token, headers: ifMatch(current.body.version) });
      await expect.poll(() => member.page.locator('main').innerText(), { timeout: 5000 }).toContain('Read only');

      const reply = await fetch(`${app.url}/scim/v2/Users/${mia.member.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', 'user-agent': 'Okta SCIM Client' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] }),
      });
      expect(reply.status).toBe(200);
      // The member's page goes to sign-in with the reason, without a reload.
      await member.page.getByText("Your company's identity provider ended your access").waitFor({ timeout: 5000 });

      await admin.page.reload();
      await expect.poll(() => admin.page.getByTestId('scim-status').textContent()).toContain('last used');
      await keepScreenshot(admin.page, 'scim');
      mkdirSync(DOCS, { recursive: true });
      await admin.page.getByTestId('scim').screenshot({ path: resolve(DOCS, 'scim.png') });
      admin.page.once('dialog', (dialog) => void dialog.accept());
      await admin.page.getByTestId('scim').getByRole('button', { name: 'Turn off' }).click();
      await expect.poll(() => admin.page.getByTestId('scim-status').textContent()).toContain('Off');
      expect((await fetch(`${app.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
      expect(admin.errors).toEqual([]);
    } finally {
      await admin.context.close();
      await member.context.close();
    }
  });
});
