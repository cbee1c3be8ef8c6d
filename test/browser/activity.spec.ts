/**
 * Issue 15: the Activity page reads as sentences with names ("Olive Owner changed Bob Builder's role
 * from Editor to Support agent"), still naming a role as it was after it is renamed; ids and the raw
 * changes only inside each entry's Details; IPv4 addresses as IPv4.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MemberDetailDto, RoleDto } from '@rolecall/contracts';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE } from '../api/support/factories.js';
import { client, type Client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let api: Client;

describe.skipIf(!browserReady)('the Activity page in sentences (issue 15)', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
    api = client(app.url);
  }, 60_000);
  afterAll(() => close?.());

  it('shows a role change and Talk access off as sentences with names, ids only under Details', async () => {
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const bob = await inviteAndAccept(api, app.config.dataDir, owner, {
      name: 'Bob Builder',
      roleId: ROLE.editor,
      agentAccess: true,
    });
    const role = await api.post<RoleDto>(
      '/roles',
      { name: 'Support agent', description: '', icon: 'star', permissions: ['reports.view'] },
      { token: owner.token },
    );
    expect(role.status).toBe(201);

    // Another admin's changes, over the API: Bob's role, then his Talk access (from an IPv4 client
    // behind the trusted local proxy, whose address arrives IPv4-mapped), then the role renamed.
    const changed = await api.patch<MemberDetailDto>(
      `/users/${bob.member.id}`,
      { roleId: role.body.id },
      { token: owner.token, headers: ifMatch(bob.member.version) },
    );
    expect(changed.status).toBe(200);
    const off = await api.patch(
      `/users/${bob.member.id}`,
      { agentAccess: false },
      { token: owner.token, headers: { ...ifMatch(changed.body.version), 'x-forwarded-for': '::ffff:203.0.113.9' } },
    );
    expect(off.status).toBe(200);
    const renamed = await api.patch(
      `/roles/${role.body.id}`,
      { name: 'Helpers' },
      { token: owner.token, headers: ifMatch(role.body.version) },
    );
    expect(renamed.status).toBe(200);

    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/activity`);
    const stream = page.getByRole('list', { name: 'Activity, newest first' });
    const roleChange = stream
      .getByRole('listitem')
      .filter({ hasText: "Olive Owner changed Bob Builder's role from Editor to Support agent" });
    const talkOff = stream
      .getByRole('listitem')
      .filter({ hasText: "Olive Owner turned off Bob Builder's Talk access" });
    await roleChange.waitFor();
    await talkOff.waitFor();
    await stream.getByText('Olive Owner renamed the role Support agent to Helpers').waitFor();
    await stream.getByText('Olive Owner invited ' + bob.email + ' as Editor with Talk access').waitFor();
    await stream.getByText('Bob Builder accepted the invitation and joined').waitFor();

    // The address is shown as IPv4; nothing raw is visible until Details is opened.
    expect(await talkOff.getByText('203.0.113.9').first().isVisible()).toBe(true);
    expect(await stream.getByText('::ffff:').count()).toBe(0);
    const id = roleChange.getByText(role.body.id).first();
    expect(await id.isVisible()).toBe(false);
    expect(await roleChange.getByText('roleId').isVisible()).toBe(false);
    await roleChange.getByText('Details', { exact: true }).click();
    await id.waitFor();
    expect(await roleChange.getByText('roleId').isVisible()).toBe(true);
    expect(await roleChange.getByText('user.role_changed', { exact: false }).isVisible()).toBe(true);

    const shot = await keepScreenshot(page, 'activity-sentences');
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(shot, resolve(DOCS, 'activity-sentences.png'));
    expect(errors).toEqual([]);
    await context.close();
  });
});
