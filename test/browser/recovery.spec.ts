import type { MeDto, MemberDetailDto } from '@rolecall/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import {
  createAccount,
  enrolTotp,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  totpAt,
  uniqueEmail,
} from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { waitForLinkToken } from '../api/support/outbox.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

const NEW_PASSWORD = 'a brand new passphrase';

/** The newest mailed link's token under `path` to `email` (other than an older one, `not`). */
const mailedToken = (email: string, path: '/verify-email/' | '/reset-password/', not?: string) =>
  waitForLinkToken(app.config.dataDir, email, path, not ? { not } : {});

/** `GET /me` with this page's session cookie. */
function meOf(page: Page): Promise<MeDto> {
  return page.evaluate(async () => (await fetch('/api/v1/me')).json() as Promise<MeDto>);
}

/** Resolves once the page's Socket.IO connection is accepted. Register before navigating. */
function liveConnected(page: Page): Promise<void> {
  return new Promise((resolve) => {
    page.on('websocket', (socket) => {
      socket.on('framereceived', (frame) => {
        if (String(frame.payload).startsWith('40')) resolve();
      });
    });
  });
}

describe.skipIf(!browserReady)('account recovery and mailbox proofs in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('forgot password: the link from the outbox sets a new password (with the 2FA code), then the sign-in page signs in with it', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { accountName: 'Northwind' });
    // An invited member: the invitation proved the mailbox, so the reset asks for the second factor.
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Mia Member' });
    const { secret } = await enrolTotp(api, mia.token, app.clock.now());
    app.clock.advance(31_000); // a code of its own for the reset (the enrolment's is spent)

    const { page, errors, context } = await newPage(browser);
    await page.goto(`${app.url}/signin`);
    await page.fill('#email', mia.email);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL((url) => url.pathname === '/forgot-password');
    // The address typed on the sign-in page comes along.
    expect(await page.inputValue('#email')).toBe(mia.email);
    await page.getByRole('button', { name: 'Email me a link' }).click();
    const answer = page.getByTestId('reset-requested');
    await expect.poll(() => answer.innerText()).toContain('we mailed a link; it works for one hour');
    expect(await answer.getAttribute('role')).toBe('status');
    await keepScreenshot(page, 'recovery-forgot-sent');

    // An unknown address gets the very same answer.
    await page.getByRole('button', { name: 'Send another link' }).click();
    await page.fill('#email', uniqueEmail('nobody'));
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await expect.poll(() => answer.innerText()).toContain('we mailed a link; it works for one hour');

    const token = await mailedToken(mia.email, '/reset-password/');
    await page.goto(`${app.url}/reset-password/${token}`);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    expect(await page.getByTestId('reset-claims-address').count()).toBe(0);
    await page.fill('#password', NEW_PASSWORD);
    // 2FA is on: a wrong code is refused, and the link is not used up by it.
    await page.fill('#totp', '000000');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('That code didn’t work').waitFor();
    expect(await page.locator('#totp').getAttribute('aria-invalid')).toBe('true');
    await keepScreenshot(page, 'recovery-reset-code');
    await page.fill('#totp', await totpAt(secret, app.clock.now()));
    await page.getByRole('button', { name: 'Set new password' }).click();

    // Not signed in: the sign-in page, with the address filled in and the password to type.
    await page.waitForURL((url) => url.pathname === '/signin');
    expect(await page.inputValue('#email')).toBe(mia.email);
    await page.getByText('Your password is changed').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    await page.fill('#password', NEW_PASSWORD);
    await page.click('button[type=submit]');
    app.clock.advance(31_000); // a fresh code: the one above was spent
    await page.fill('#totp', await totpAt(secret, app.clock.now()));
    await page.click('button[type=submit]');
    await page.waitForURL(`${app.url}/me`);
    await page.locator('.topbar').getByText('Mia Member').waitFor();

    // The old password is gone; the link was single-use and now says so, with a way to a new one.
    expect((await api.post('/auth/sign-in', { email: mia.email, password: PASSWORD })).status).toBe(401);
    const other = await newPage(browser, { colorScheme: 'dark' });
    await other.page.goto(`${app.url}/reset-password/${token}`);
    await other.page.getByRole('heading', { name: 'This link is not valid any more' }).waitFor();
    const retry = other.page.getByRole('link', { name: 'Ask for a new link' });
    expect(await retry.getAttribute('href')).toBe('/forgot-password');
    await keepScreenshot(other.page, 'recovery-link-invalid-dark');

    expect(errors).toEqual([]);
    expect(other.errors).toEqual([]);
    await context.close();
    await other.context.close();
  });

  it('email verification: sign up in the browser, a resent link replaces the first, and opening it in the same browser confirms the address', async () => {
    const email = uniqueEmail('vera');
    const { page, errors, context } = await newPage(browser);
    await page.goto(`${app.url}/signup`);
    await page.fill('#accountName', 'Vera’s shop');
    await page.fill('#name', 'Vera Verified');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${app.url}/users`);
    const banner = page.getByTestId('unverified-banner');
    await banner.waitFor();
    expect(await banner.innerText()).toContain('Confirm your email address: until then, whoever proves');
    expect((await meOf(page)).person.emailVerified).toBe(false);
    const first = await mailedToken(email, '/verify-email/');

    // My account says so too, and mails a new link; the first one stops working.
    await page.getByRole('link', { name: 'My account' }).click();
    const profile = page.getByRole('region', { name: 'Profile' });
    expect(await profile.getByTestId('email-status').innerText()).toBe('Email not confirmed');
    await keepScreenshot(page, 'recovery-me-unverified');
    await profile.getByRole('button', { name: 'Resend link' }).click();
    await page.getByText(`We mailed a new link to ${email}`).waitFor();
    const second = await mailedToken(email, '/verify-email/', first);

    await page.goto(`${app.url}/verify-email/${first}`);
    await page.getByRole('heading', { name: 'This link is not valid any more' }).waitFor();

    await page.goto(`${app.url}/verify-email/${second}`);
    await page.getByRole('heading', { name: 'Your email address is confirmed' }).waitFor();
    expect(await page.getByTestId('verify-status').innerText()).toContain(`${email} is confirmed`);
    await keepScreenshot(page, 'recovery-verified');
    expect((await meOf(page)).person.emailVerified).toBe(true);

    await page.getByRole('link', { name: 'Go to the dashboard' }).click();
    await page.waitForURL(`${app.url}/users`);
    await page.getByRole('link', { name: 'My account' }).click();
    expect(await page.getByRole('region', { name: 'Profile' }).getByTestId('email-status').innerText()).toBe(
      'Confirmed',
    );
    expect(await page.getByTestId('unverified-banner').count()).toBe(0);

    expect(errors).toEqual([]);
    await context.close();
  });

  it('the claim: the owner of the mailbox takes over a login someone else made with it; the squatter is signed out', async () => {
    const email = uniqueEmail('rightful');
    const squatter = await newPage(browser);
    const squatterLive = liveConnected(squatter.page);
    await squatter.page.goto(`${app.url}/signup`);
    await squatter.page.fill('#accountName', 'Squat & Co');
    await squatter.page.fill('#name', 'Sam Squatter');
    await squatter.page.fill('#email', email);
    await squatter.page.fill('#password', PASSWORD);
    await squatter.page.getByRole('button', { name: 'Create account' }).click();
    await squatter.page.waitForURL(`${app.url}/users`);
    await squatterLive;

    // The verification mail reaches the real owner of the address, who opens it elsewhere.
    const token = await mailedToken(email, '/verify-email/');
    const rightful = await newPage(browser, { colorScheme: 'dark' });
    await rightful.page.goto(`${app.url}/verify-email/${token}`);
    await rightful.page.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
    const signInLink = rightful.page.getByRole('link', { name: `Sign in as ${email} to confirm` });
    expect(new URL(`${app.url}${await signInLink.getAttribute('href')}`).searchParams.get('next')).toBe(
      `/verify-email/${token}`,
    );
    await keepScreenshot(rightful.page, 'recovery-verify-choice-dark');

    await rightful.page.getByTestId('claim-start').click();
    expect(await rightful.page.getByTestId('claim-explain').innerText()).toContain('signs out whoever made it');
    // Client-side check first.
    await rightful.page.fill('#password', 'short');
    await rightful.page.getByRole('button', { name: 'Take over this login' }).click();
    await rightful.page.getByText('Use at least 10 characters').waitFor();
    await keepScreenshot(rightful.page, 'recovery-claim-dark');
    await rightful.page.fill('#password', NEW_PASSWORD);
    await rightful.page.getByRole('button', { name: 'Take over this login' }).click();
    await rightful.page.waitForURL(`${app.url}/users`);
    expect((await meOf(rightful.page)).person).toMatchObject({ email, emailVerified: true });
    expect(await rightful.page.getByTestId('unverified-banner').count()).toBe(0);

    // The squatter's open page shows the signed-out screen with the reason.
    const reason = squatter.page.getByTestId('signed-out-reason');
    await reason.waitFor({ timeout: 10_000 });
    expect(await reason.innerText()).toContain('took this login over');
    await keepScreenshot(squatter.page, 'recovery-squatter-signed-out');
    // …and the old password no longer opens the login.
    expect((await client(app.url).post('/auth/sign-in', { email, password: PASSWORD })).status).toBe(401);

    expect(squatter.errors).toEqual([]);
    expect(rightful.errors).toEqual([]);
    await squatter.context.close();
    await rightful.context.close();
  });

  it('an admin resets a member’s 2FA from the profile; the member must choose a new password through the mailed link, then set up 2FA again', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { accountName: 'Contoso', name: 'Olive Owner', plan: 'business' });
    await enrolTotp(api, owner.token, app.clock.now());
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });
    const sara = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Sara Secure' });
    const { secret: saraSecret } = await enrolTotp(api, sara.token, app.clock.now());
    app.clock.advance(31_000); // fresh codes for signing in

    const adminTab = await newPage(browser);
    await signIn(adminTab.page, app.url, admin.email, PASSWORD);

    // The owner's profile: no reset, and no sessions panel for another admin (the API refuses them).
    await adminTab.page.goto(`${app.url}/users/${owner.member.id}`);
    await adminTab.page.getByRole('heading', { name: 'Olive Owner', level: 1 }).waitFor();
    expect(await adminTab.page.getByTestId('member-2fa').innerText()).toContain('On');
    expect(await adminTab.page.getByRole('button', { name: 'Reset 2FA' }).count()).toBe(0);
    expect(await adminTab.page.getByRole('heading', { name: 'Sessions' }).count()).toBe(0);

    // Sara is signed in in another browser: the reset signs that tab out.
    const saraTab = await newPage(browser);
    const saraLive = liveConnected(saraTab.page);
    await saraTab.page.goto(`${app.url}/signin`);
    await saraTab.page.fill('#email', sara.email);
    await saraTab.page.fill('#password', PASSWORD);
    await saraTab.page.click('button[type=submit]');
    await saraTab.page.fill('#totp', await totpAt(saraSecret, app.clock.now()));
    await saraTab.page.click('button[type=submit]');
    await saraTab.page.waitForURL(`${app.url}/me`);
    await saraLive;

    await adminTab.page.goto(`${app.url}/users/${sara.member.id}`);
    await adminTab.page.getByRole('heading', { name: 'Sara Secure', level: 1 }).waitFor();
    expect(await adminTab.page.getByTestId('member-2fa').innerText()).toContain('On');
    await adminTab.page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await adminTab.page.getByRole('button', { name: 'Reset 2FA' }).click();
    const dialog = adminTab.page.getByRole('dialog', { name: 'Reset Sara Secure’s two-factor authentication?' });
    const says = await dialog.innerText();
    expect(says).toContain('authenticator app and recovery codes stop working');
    expect(says).toContain('Every session of theirs in Contoso ends');
    expect(says).toContain('choose a new one through a link we mail');
    expect(says).toContain('set up two-factor authentication again');
    await keepScreenshot(adminTab.page, 'recovery-reset-2fa-confirm');
    await dialog.getByRole('button', { name: 'Reset 2FA' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => adminTab.page.getByTestId('member-2fa').innerText()).toContain('Not enrolled');
    expect(await adminTab.page.getByRole('button', { name: 'Reset 2FA' }).count()).toBe(0);
    await keepScreenshot(adminTab.page, 'recovery-reset-2fa-done');
    const after = await api.get<MemberDetailDto>(`/users/${sara.member.id}`, { token: owner.token });
    expect(after.body.twoFactorEnabled).toBe(false);
    const reason = saraTab.page.getByTestId('signed-out-reason');
    await reason.waitFor({ timeout: 10_000 });
    expect(await reason.innerText()).toContain('An admin reset your two-factor authentication');

    // Sara's old (right) password is refused with the way out.
    const { page, errors, context } = await newPage(browser);
    await page.goto(`${app.url}/signin`);
    await page.fill('#email', sara.email);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    const notice = page.getByTestId('password-reset-required');
    await notice.waitFor();
    expect(await notice.innerText()).toContain(
      'An admin reset your two-factor authentication: choose a new password through the link we mailed you',
    );
    expect(await notice.getByRole('link').getAttribute('href')).toBe(
      `/forgot-password?email=${encodeURIComponent(sara.email)}`,
    );
    await keepScreenshot(page, 'recovery-signin-reset-required');

    // The mailed link sets a new password without a code (2FA is off now); signing in then leads to enrolment.
    const token = await mailedToken(sara.email, '/reset-password/');
    await page.goto(`${app.url}/reset-password/${token}`);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    expect(await page.locator('#totp').count()).toBe(0);
    await page.fill('#password', NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.waitForURL((url) => url.pathname === '/signin');
    await page.fill('#password', NEW_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${app.url}/enrol-2fa`);
    expect(await page.getByTestId('enrolment-reason').innerText()).toContain('reset your two-factor authentication');

    expect(adminTab.errors).toEqual([]);
    expect(saraTab.errors).toEqual([]);
    expect(errors).toEqual([]);
    await adminTab.context.close();
    await saraTab.context.close();
    await context.close();
  });
});
