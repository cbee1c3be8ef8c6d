import type { MemberPageDto } from '@rolecall/contracts';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, invite, PASSWORD, ROLE, uniqueEmail } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { invitationToken, waitForLinkToken } from '../api/support/outbox.js';
import { browserReady, keepScreenshot, newPage, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

describe.skipIf(!browserReady)('invitation acceptance in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('a new person accepts through the link from the mail outbox and lands on the dashboard as the new member; the link then no longer works', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { accountName: 'Northwind', name: 'Olive Owner' });
    const email = uniqueEmail('nina');
    expect((await invite(api, owner, [email], { roleId: ROLE.editor })).status).toBe(201);
    const token = invitationToken(app.config.dataDir, email);

    const { page, errors, context } = await newPage(browser);
    await page.goto(`${app.url}/invite/${token}`);
    await page.getByRole('heading', { name: 'Join Northwind' }).waitFor();
    const intro = await page.locator('.intro').innerText();
    expect(intro).toContain('Olive Owner invited you');
    expect(intro).toContain(email);
    expect(await page.locator('.expiry').innerText()).toMatch(/expires in (7|6) days/);

    // Client-side checks first: a short password is refused before anything is sent.
    await page.fill('#name', 'Nina New');
    await page.fill('#password', 'short');
    await page.getByRole('button', { name: 'Accept and join' }).click();
    await page.getByText('Use at least 10 characters').waitFor();
    expect(await page.locator('#password').getAttribute('aria-invalid')).toBe('true');
    await keepScreenshot(page, 'invite-new-person');

    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Accept and join' }).click();
    // An Editor has no Users page: the dashboard starts on My account, signed in as Nina.
    await page.waitForURL(`${app.url}/me`);
    await page.locator('.topbar').getByText('Nina New').waitFor();
    expect(await page.locator('.topbar').innerText()).toContain('Northwind');
    await page.getByText('What I can do').waitFor();
    await keepScreenshot(page, 'invite-accepted-dashboard');

    const members = await api.get<MemberPageDto>(`/users?q=${encodeURIComponent(email)}`, { token: owner.token });
    expect(members.body.items).toMatchObject([
      { email, name: 'Nina New', status: 'active', role: { id: ROLE.editor } },
    ]);

    // The link was single-use.
    const other = await newPage(browser, { colorScheme: 'dark' });
    await other.page.goto(`${app.url}/invite/${token}`);
    await other.page.getByRole('heading', { name: 'This invitation link is no longer valid' }).waitFor();
    expect(await other.page.getByTestId('invitation-invalid').innerText()).toContain('Ask the person who invited you');
    await keepScreenshot(other.page, 'invite-invalid-dark');

    expect(errors).toEqual([]);
    expect(other.errors).toEqual([]);
    await context.close();
    await other.context.close();
  });

  it('a person who already has a login signs in from the invitation page and accepts', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { accountName: 'Contoso', name: 'Carla Contoso' });
    // Pat already has a login: the owner of another account, with a confirmed address.
    const pat = await createAccount(api, { accountName: 'Pat’s shop', name: 'Pat Person' });
    const verifyToken = await waitForLinkToken(app.config.dataDir, pat.email, '/verify-email/');
    const confirmed = await api.post('/auth/verify-email', { token: verifyToken }, { token: pat.token });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(204);
    expect((await invite(api, owner, [pat.email], { roleId: ROLE.admin })).status).toBe(201);
    const token = invitationToken(app.config.dataDir, pat.email);

    const { page, errors, context } = await newPage(browser);
    await page.goto(`${app.url}/invite/${token}`);
    await page.getByRole('heading', { name: 'Join Contoso' }).waitFor();
    expect(await page.locator('#password').count()).toBe(0);
    await page.getByRole('link', { name: 'Sign in to accept' }).click();
    await page.waitForURL((url) => url.pathname === '/signin');
    expect(await page.inputValue('#email')).toBe(pat.email);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${app.url}/invite/${token}`);
    await page.getByText(`You’re signed in as ${pat.email}.`).waitFor();
    await keepScreenshot(page, 'invite-existing-person');
    await page.getByRole('button', { name: 'Accept and join Contoso' }).click();
    // An Admin starts on Users, now in Contoso.
    await page.waitForURL(`${app.url}/users`);
    expect(await page.locator('.topbar').innerText()).toContain('Contoso');
    await page.getByRole('link', { name: 'Carla Contoso' }).waitFor();

    const members = await api.get<MemberPageDto>(`/users?q=${encodeURIComponent(pat.email)}`, { token: owner.token });
    expect(members.body.items).toMatchObject([{ email: pat.email, status: 'active', role: { id: ROLE.admin } }]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an address someone signed up with but never confirmed: the invitee chooses name and password, told that this takes that login over', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { accountName: 'Fabrikam', name: 'Fay Fabrikam' });
    // Someone signed up with the invitee's address and never confirmed it.
    const squatter = await createAccount(api, { accountName: 'Squat & Co', name: 'Sam Squatter' });
    expect((await invite(api, owner, [squatter.email], { roleId: ROLE.editor })).status).toBe(201);
    const token = invitationToken(app.config.dataDir, squatter.email);

    const { page, errors, context } = await newPage(browser);
    await page.goto(`${app.url}/invite/${token}`);
    await page.getByRole('heading', { name: 'Join Fabrikam' }).waitFor();
    expect(await page.getByTestId('invite-takes-over').innerText()).toContain('never confirmed. Accepting proves the address is yours and takes that login over');
    await keepScreenshot(page, 'invite-unverified-person');
    await page.fill('#name', 'Rita Rightful');
    await page.fill('#password', 'the rightful owner’s password');
    await page.getByRole('button', { name: 'Accept and join' }).click();
    await page.waitForURL(`${app.url}/me`);
    await page.locator('.topbar').getByText('Fabrikam').waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json() as Promise<{ person: { email: string; emailVerified: boolean } }>);
    expect(me.person).toMatchObject({ email: squatter.email, emailVerified: true });
    // The squatter's password no longer opens the login.
    expect((await api.post('/auth/sign-in', { email: squatter.email, password: PASSWORD })).status).toBe(401);
    expect(errors).toEqual([]);
    await context.close();
  });
});
