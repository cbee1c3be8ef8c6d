/**
 * Single sign-on in the dashboard, in Chromium, against a real OpenID Connect provider
 * (tools/dev-idp, oidc-provider 9) started here on a random port: the sign-in page's provider
 * buttons, the provider's own login page, the Users table's Enforced auth column and filter, the
 * Account page's Okta form and readiness list, and the 2FA enrolment screen.
 */
import type { AccountDto, MemberDto, MemberPageDto } from '@rolecall/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, startIdp, type Idp } from '../../tools/dev-idp/idp.js';
import type { TestApp } from '../api/support/app.js';
import { createAccount, ifMatch, inviteAndAccept, PASSWORD, ROLE, totpAt } from '../api/support/factories.js';
import { client, type Client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;
let idp: Idp;
let api: Client;

/** Gives `email` a login at the provider (password `password`). */
function idpUser(email: string, name: string): void {
  idp.users.set(email, { sub: email, email, name, password: 'password', emailVerified: true });
}

async function account(owner: { token: string }): Promise<AccountDto> {
  return (await api.get<AccountDto>('/account', { token: owner.token })).body;
}

async function patchAccount(owner: { token: string }, body: Record<string, unknown>): Promise<void> {
  const reply = await api.patch('/account', body, {
    token: owner.token,
    headers: ifMatch((await account(owner)).version),
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
}

async function connectOkta(owner: { token: string }): Promise<void> {
  const reply = await api.put(
    '/account/okta',
    { issuer: idp.issuer, ...clientFor('okta') },
    {
      token: owner.token,
      headers: ifMatch((await account(owner)).version),
    },
  );
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
}

/** Signs in on the provider's own login page (the dev IdP's form). */
async function providerLogin(page: Page, email: string): Promise<void> {
  await page.waitForURL((url) => url.origin === idp.issuer);
  await page.fill('#email', email);
  await page.fill('#password', 'password');
  await page.click('form[action$="/login"] button[type=submit]');
}

describe.skipIf(!browserReady)('single sign-on in the dashboard', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct({
      overrides: { sso: { google: null, microsoft: null, allowHttpIssuers: true, secretsKey: null } },
    }));
    // The provider's clients send the browser back to this app; Google is set up on the server too
    // (the config is read per request), so the sign-in page has more than Okta to hide under enforcement.
    idp = await startIdp({ port: 0, appUrl: app.url, users: [] });
    (app.config.sso as { google: unknown }).google = idp.client('google');
    api = client(app.url);
  }, 60_000);
  afterAll(async () => {
    await close?.();
    await idp?.close();
  });

  it('an Enterprise account enforcing Okta: “Sign in with Okta”, the provider’s login, the dashboard, and the Enforced auth column', async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olive Owner', accountName: 'Initech' });
    const alice = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Alice Admin' });
    idpUser(alice.email, 'Alice Admin');
    idpUser('stranger@example.com', 'Sam Stranger');
    await connectOkta(owner);
    await patchAccount(owner, { authEnforcement: 'okta' });
    const signInUrl = `${app.url}/signin?account=${owner.account.id}`;

    // Someone who is not a member gets back to the sign-in page with a clear reason, and no session.
    {
      const { page, context, errors } = await newPage(browser);
      await page.goto(signInUrl);
      await page.getByRole('link', { name: 'Sign in with Okta' }).click();
      await providerLogin(page, 'stranger@example.com');
      await page.waitForURL(
        (url) => url.pathname === '/signin' && url.searchParams.get('sso_error') === 'NOT_A_MEMBER',
      );
      const alert = page.getByRole('alert').first();
      await alert.waitFor();
      expect(await alert.innerText()).toContain('isn’t a member of this account');
      // The account came back with the error, so the Okta button is still there to try again (the
      // alert comes from the URL at once; the button once the account's providers have loaded).
      await expect.poll(() => page.getByRole('link', { name: 'Sign in with Okta' }).count()).toBe(1);
      expect((await context.cookies(app.url)).some((c) => c.name === 'rolecall_session')).toBe(false);
      await keepScreenshot(page, 'sso-signin-error');
      expect(errors).toEqual([]);
      await context.close();
    }

    const { page, context, errors } = await newPage(browser);
    await page.goto(signInUrl);
    const providers = page.getByRole('list', { name: 'Single sign-on' }).getByRole('link');
    await expect.poll(() => providers.allInnerTexts()).toEqual(['Sign in with Okta']); // Google is set up, but not allowed here
    expect(await page.getByTestId('sso-enforced').innerText()).toContain('This account signs in with Okta');
    await keepScreenshot(page, 'sso-signin-okta');

    await providers.first().click();
    await providerLogin(page, alice.email);
    await page.waitForURL(`${app.url}/users`);
    const header = page.getByRole('columnheader', { name: 'Enforced auth' });
    await header.waitFor();
    const cell = (member: MemberDto) => page.locator(`tr[data-member-id="${member.id}"] td[data-enforced-auth]`);
    await expect.poll(() => cell(alice.member).getAttribute('data-enforced-auth')).toBe('linked');
    expect(await cell(alice.member).innerText()).toContain('Linked');
    expect(await cell(owner.member).getAttribute('data-enforced-auth')).toBe('pending');
    expect(await cell(owner.member).innerText()).toContain('Not linked yet');
    expect(await page.locator('td[data-enforced-auth="linked"]').count()).toBe(1);
    expect(await page.locator('td[data-enforced-auth="pending"]').count()).toBe(1);
    await keepScreenshot(page, 'sso-users-enforced');

    // The filter asks the API for `enforcedAuth=pending` and keeps it in the address.
    await page.selectOption('#users-enforced', 'pending');
    await page.waitForURL((url) => url.searchParams.get('enforcedAuth') === 'pending');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator(`tr[data-member-id="${owner.member.id}"]`).count()).toBe(1);
    await page.selectOption('#users-enforced', 'linked');
    await expect.poll(() => page.locator(`tbody tr[data-member-id="${alice.member.id}"]`).count()).toBe(1);
    expect(await page.locator('tbody tr').count()).toBe(1);

    // The API agrees: Alice is linked (her first Okta sign-in linked the identity).
    const linked = await api.get<MemberPageDto>('/users?enforcedAuth=linked', { token: owner.token });
    expect(linked.body.items.map((m) => m.id)).toEqual([alice.member.id]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an admin connects Okta on the Account page, sees who would be locked out, then enforces it', async () => {
    const owner = await createAccount(api, { plan: 'enterprise', name: 'Olive Owner', accountName: 'Globex' });
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Mia Member' });
    const nina = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Nina Linked' });
    idpUser(nina.email, 'Nina Linked');

    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/account`);
    const sso = page.locator('section[aria-labelledby="sso-title"]');
    await sso.waitFor();
    expect(await sso.getByTestId('sso-current').innerText()).toContain('Not enforced');
    expect(await sso.getByTestId('sso-signin-link').innerText()).toBe(`${app.url}/signin?account=${owner.account.id}`);
    const oktaChoice = sso.getByRole('radio', { name: /Okta/ });
    expect(await oktaChoice.isDisabled()).toBe(true); // not connected yet
    expect(await page.getByTestId('okta-status').innerText()).toBe('Not connected');

    // A bad issuer, or no secret the first time, is refused in the page (the shared schema): nothing is sent.
    const before = (await account(owner)).version;
    await page.fill('#okta-issuer', 'not a url');
    await page.fill('#okta-client-id', 'rolecall-okta');
    await page.getByRole('button', { name: 'Connect Okta' }).click();
    await page.locator('#okta-issuer-error').waitFor();
    expect(await page.locator('#okta-issuer-error').innerText()).toContain('Enter the issuer URL');
    expect(await page.locator('#okta-client-secret-error').innerText()).toContain('Required');
    expect((await account(owner)).version).toBe(before);

    await page.fill('#okta-issuer', `${idp.issuer}/`);
    await page.fill('#okta-client-secret', 'okta-secret');
    await page.getByRole('button', { name: 'Connect Okta' }).click();
    await expect.poll(() => page.getByTestId('okta-status').innerText()).toBe('Connected');
    expect((await account(owner)).okta).toEqual({ issuer: idp.issuer, clientId: 'rolecall-okta' });
    expect(await page.inputValue('#okta-client-secret')).toBe(''); // write-only: never shown again
    expect(await page.inputValue('#okta-issuer')).toBe(idp.issuer);
    expect(await oktaChoice.isDisabled()).toBe(false);

    // Nina signs in with Okta once (her identity is linked); Mia and the owner (no 2FA) have not.
    {
      const other = await newPage(browser);
      await other.page.goto(`${app.url}/signin?account=${owner.account.id}`);
      await other.page.getByRole('link', { name: 'Sign in with Okta' }).click();
      await providerLogin(other.page, nina.email);
      await other.page.waitForURL(`${app.url}/me`); // an Editor starts on My account
      await other.context.close();
    }

    // Choosing Okta runs the dry run and lists who would be locked out, before anything is enforced.
    await oktaChoice.check();
    const readiness = sso.getByTestId('sso-readiness');
    await readiness.waitFor();
    expect(await readiness.innerText()).toContain('2 members have not signed in with Okta yet');
    const locked = await sso.getByTestId('sso-locked-out').getByRole('listitem').allInnerTexts();
    expect(locked).toHaveLength(2);
    expect(locked.join('\n')).toContain('Mia Member');
    expect(locked.join('\n')).toContain('Olive Owner');
    expect(locked.join('\n')).not.toContain('Nina');
    expect((await account(owner)).authEnforcement).toBe('any'); // a dry run writes nothing
    await keepScreenshot(page, 'account-sso-readiness');

    await sso.getByRole('button', { name: 'Enforce Okta sign-in' }).click();
    await expect.poll(async () => (await account(owner)).authEnforcement).toBe('okta');
    await expect.poll(() => sso.getByTestId('sso-current').innerText()).toContain('Enforced: Okta');
    // Mia's password session ended; the owner's stays (break-glass).
    expect((await api.get('/me', { token: mia.token })).status).toBe(401);
    expect((await api.get('/me', { token: owner.token })).status).toBe(200);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a session limited to 2FA enrolment sees only the enrolment screen, then the whole dashboard', async () => {
    const owner = await createAccount(api, { plan: 'business', accountName: 'Hooli' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Eve Enrolling' });
    await patchAccount(owner, { require2fa: true });

    const { page, context, errors } = await newPage(browser);
    await signIn(page, app.url, member.email, PASSWORD);
    await page.waitForURL(`${app.url}/enrol-2fa`);
    expect(await page.getByTestId('enrolment-reason').innerText()).toContain(
      'Hooli requires two-factor authentication',
    );
    // Nothing else opens: any page of the app comes back here.
    await page.goto(`${app.url}/users`);
    await page.waitForURL(`${app.url}/enrol-2fa`);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    const key = (await page.getByLabel('Setup key').innerText()).replace(/\s/g, '');
    expect(key).toMatch(/^[A-Z2-7]{16,}$/);
    await keepScreenshot(page, 'enrol-2fa');
    await page.fill('#totp-confirm-code', await totpAt(key, app.clock.now()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('button', { name: 'I’ve saved them' }).click();
    await page.waitForURL(`${app.url}/users`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(
      (await api.get<{ person: { twoFactorEnabled: boolean } }>('/me', { token: member.token })).body.person
        .twoFactorEnabled,
    ).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });
});
