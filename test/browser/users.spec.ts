import type { AccountDto, MemberDetailDto, MemberPageDto } from '@rolecall/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import {
  createAccount,
  enrolTotp,
  ifMatch,
  invite,
  inviteAndAccept,
  PASSWORD,
  ROLE,
  totpAt,
  uniqueEmail,
} from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

/**
 * Resolves once the page's Socket.IO connection is accepted (the `40` CONNECT packet): from then on
 * the tab is in the account room and receives every account event. Register before navigating.
 */
function liveConnected(page: Page): Promise<void> {
  return new Promise((resolve) => {
    page.on('websocket', (socket) => {
      socket.on('framereceived', (frame) => {
        if (String(frame.payload).startsWith('40')) resolve();
      });
    });
  });
}

/** Marks the document; the mark survives client-side updates but not a reload. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
}

async function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
}

describe.skipIf(!browserReady)('Users pages in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('an admin invites two emails through the New user dialog and another admin sees both rows appear without reloading', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });

    const inviter = await newPage(browser);
    const watcher = await newPage(browser, { colorScheme: 'dark' });
    const watcherLive = liveConnected(watcher.page);
    await signIn(inviter.page, app.url, owner.email, PASSWORD);
    await signIn(watcher.page, app.url, admin.email, PASSWORD);
    await inviter.page.waitForURL(`${app.url}/users`);
    await watcher.page.waitForURL(`${app.url}/users`);
    await watcherLive;
    await watcher.page.getByRole('link', { name: 'Adam Admin' }).waitFor();
    await markDocument(watcher.page);
    expect(await watcher.page.getByTestId('member-count').innerText()).toBe('2 members');

    const first = uniqueEmail('ann');
    const second = uniqueEmail('bob');
    await inviter.page.getByRole('button', { name: 'New user' }).click();
    const dialog = inviter.page.getByRole('dialog', { name: 'New user' });
    await dialog.waitFor();
    // Pasted as one line with a comma: both become chips.
    await inviter.page.locator('#new-user-emails').fill(`${first}, ${second}`);
    await inviter.page.locator('#new-user-emails').press('Enter');
    await dialog.getByText(first).waitFor();
    await dialog.getByText(second).waitFor();
    // The live preview counts both new seats: owner + admin + 2 of the business plan's 50.
    await expect
      .poll(() =>
        dialog
          .getByTestId('invite-preview')
          .innerText()
          .catch(() => ''),
      )
      .toContain('4 of 50');
    await keepScreenshot(inviter.page, 'users-new-user-dialog');
    await dialog.getByRole('button', { name: 'Send 2 invites' }).click();
    await dialog.waitFor({ state: 'hidden' });

    // The other admin's table grows by both rows, live.
    const rows = watcher.page.locator('tbody tr');
    await expect
      .poll(() => rows.allInnerTexts(), { timeout: 5000 })
      .toEqual(expect.arrayContaining([expect.stringContaining(first), expect.stringContaining(second)]));
    await expect.poll(() => watcher.page.getByTestId('member-count').innerText()).toBe('4 members');
    for (const email of [first, second]) {
      expect(await watcher.page.locator('tr', { hasText: email }).innerText()).toContain('Invited');
    }
    expect(await stillSameDocument(watcher.page)).toBe(true);
    // The seat meter follows too.
    await expect.poll(() => watcher.page.getByTestId('seat-meter').innerText()).toContain('4 of 50');
    await keepScreenshot(watcher.page, 'users-live-rows-dark');
    await keepScreenshot(inviter.page, 'users-after-invite');

    // Each side announces what it should: the other admin's invitations, and our own confirmation only.
    await watcher.page.getByText(`${first} was invited.`).waitFor();
    await inviter.page.getByText('2 invitations sent.').waitFor();
    expect(await inviter.page.getByText(`${first} was invited.`).count()).toBe(0);

    const listed = await api.get<MemberPageDto>('/users?status=invited', { token: owner.token });
    expect(listed.body.items.map((m) => m.email).sort()).toEqual([first, second].sort());

    // The invited member's profile offers resending and cancelling.
    await watcher.page.getByRole('link', { name: first }).click();
    await watcher.page.getByRole('heading', { name: first, level: 1 }).waitFor();
    await watcher.page.getByText('Invitation expires').waitFor();
    await watcher.page.getByRole('button', { name: 'Resend invitation' }).waitFor();
    await watcher.page.getByRole('button', { name: 'Cancel invitation' }).click();
    const cancel = watcher.page.getByRole('dialog', { name: 'Cancel the invitation?' });
    await cancel.getByRole('button', { name: 'Cancel invitation' }).click();
    await watcher.page.waitForURL(`${app.url}/users`);
    await expect.poll(() => inviter.page.getByTestId('member-count').innerText()).toBe('3 members');
    expect(await inviter.page.locator('tbody tr', { hasText: first }).count()).toBe(0);
    await keepScreenshot(inviter.page, 'users-after-cancel');

    expect(inviter.errors).toEqual([]);
    expect(watcher.errors).toEqual([]);
    await inviter.context.close();
    await watcher.context.close();
  });

  it('the New user dialog refuses an invalid email and explains the seat limit of the free plan in words', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { name: 'Fay Free' });
    const { page, errors, context } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.waitForURL(`${app.url}/users`);
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    const emails = page.locator('#new-user-emails');

    await emails.fill('not-an-email');
    await emails.press('Enter');
    await dialog.getByText('“not-an-email” is not a valid email address').waitFor();
    expect(await emails.getAttribute('aria-invalid')).toBe('true');
    // Refused: the button is off, and submitting with Enter sends nothing and keeps the dialog open.
    expect(await dialog.getByRole('button', { name: 'Send invite' }).isDisabled()).toBe(true);
    await emails.press('Enter');
    expect(await dialog.isVisible()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('new-user-emails');
    await keepScreenshot(page, 'users-invalid-email');

    await dialog.getByRole('button', { name: 'Remove not-an-email' }).click();
    const three = [uniqueEmail('a'), uniqueEmail('b'), uniqueEmail('c')];
    await emails.fill(three.join('\n'));
    await emails.press('Enter');
    const problem = dialog.getByTestId('invite-problem');
    await problem.waitFor();
    const text = await problem.innerText();
    expect(text).toContain('Not enough seats');
    expect(text).toContain('The free plan has 3 seats and 1 is in use; this needs 3 more.');
    expect(await dialog.getByRole('button', { name: 'Send 3 invites' }).isDisabled()).toBe(true);
    await keepScreenshot(page, 'users-seat-limit');

    // Two fit: the preview says the plan is then full.
    await dialog.getByRole('button', { name: `Remove ${three[2]}` }).click();
    await expect
      .poll(() =>
        dialog
          .getByTestId('invite-preview')
          .innerText()
          .catch(() => ''),
      )
      .toContain('3 of 3');
    expect(await problem.count()).toBe(0);

    const listed = await api.get<MemberPageDto>('/users', { token: owner.token });
    expect(listed.body.total).toBe(1);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });

    // Talk access: the free plan's one agent seat goes to the owner; a second is refused in words.
    const mia = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Mia Member' });
    await page.getByRole('link', { name: 'Mia Member' }).waitFor();
    await page.getByRole('button', { name: 'No access for Fay Free: turn on' }).click();
    // The toggle asks first, with what it costs (users-table.spec covers the sums).
    await page
      .getByRole('dialog', { name: 'Turn on Talk access for Fay Free?' })
      .getByRole('button', { name: 'Turn on Talk access' })
      .click();
    await page.getByRole('button', { name: 'Access for Fay Free: turn off' }).waitFor();
    await page.getByRole('button', { name: 'No access for Mia Member: turn on' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'can’t get Talk access' });
    await alert.waitFor();
    expect(await alert.innerText()).toContain(
      'Mia Member can’t get Talk access. The free plan has 1 agent seat and 1 is in use; this needs 1 more.',
    );
    await expect.poll(() => page.getByTestId('member-count').innerText()).toBe('2 members');
    await expect
      .poll(() => page.getByTestId('seat-meter').innerText())
      .toMatch(/Seats\s+2 of 3[\s\S]*Agent seats \(Talk\)\s+1 of 1/);
    await keepScreenshot(page, 'users-agent-seat-limit');
    const after = await api.get<MemberDetailDto>(`/users/${mia.member.id}`, { token: owner.token });
    expect(after.body.agentAccess).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a member profile shows who else is editing, and a 412 shows the other admin’s change and re-applies mine', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const admin = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.admin, name: 'Adam Admin' });
    const member = await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Mia Member' });

    const mine = await newPage(browser);
    const theirs = await newPage(browser);
    const mineLive = liveConnected(mine.page);
    const theirsLive = liveConnected(theirs.page);
    await signIn(mine.page, app.url, owner.email, PASSWORD);
    await signIn(theirs.page, app.url, admin.email, PASSWORD);
    await Promise.all([mineLive, theirsLive]);
    // In-app navigation keeps the live connection of each tab.
    await mine.page.getByRole('link', { name: 'Mia Member' }).click();
    await theirs.page.getByRole('link', { name: 'Mia Member' }).click();
    await mine.page.getByRole('heading', { name: 'Mia Member', level: 1 }).waitFor();
    await theirs.page.getByRole('heading', { name: 'Mia Member', level: 1 }).waitFor();

    // Presence: each sees the other; editing shows as soon as a field changes.
    await expect.poll(() => mine.page.getByTestId('presence').innerText()).toContain('Adam Admin is viewing');
    await theirs.page.locator('#member-role').selectOption({ label: 'Read only' });
    await expect.poll(() => mine.page.getByTestId('presence').innerText()).toContain('Adam Admin is editing');

    // I change her role to Admin first (and save) while the other admin is still editing.
    await mine.page.locator('#member-role').selectOption({ label: 'Admin' });
    await mine.page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => theirs.page.locator('.profile-head').innerText()).toContain('Admin');

    // Their save is refused (412): they see my change and may apply theirs on top.
    await theirs.page.getByRole('button', { name: 'Save changes' }).click();
    const conflict = theirs.page.getByTestId('conflict');
    await conflict.waitFor();
    // It names who saved first (the activity log's author of the member's current version).
    await expect.poll(() => conflict.getByRole('heading').innerText()).toBe('Olive Owner changed Mia Member first');
    // Their change (Read only) beside mine, saved first (Admin); nothing else differs.
    expect(await conflict.locator('tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(/^Role\s+Read only\s+Admin$/),
    ]);
    await keepScreenshot(theirs.page, 'member-conflict');
    let now = await api.get<MemberDetailDto>(`/users/${member.member.id}`, { token: owner.token });
    expect(now.body.role.id).toBe(ROLE.admin);

    await conflict.getByRole('button', { name: 'Apply my change again' }).click();
    await conflict.waitFor({ state: 'detached' });
    // The panel closes as the save is sent; the save itself lands a moment later (slower on PostgreSQL).
    await expect
      .poll(
        async () => (await api.get<MemberDetailDto>(`/users/${member.member.id}`, { token: owner.token })).body.role.id,
      )
      .toBe(ROLE.readonly);
    // And it reaches my page live, announced as the other admin's change.
    await expect.poll(() => mine.page.locator('.profile-head').innerText()).toContain('Read only');
    await mine.page.getByText('Mia Member’s role changed to Read only.').waitFor();
    await keepScreenshot(mine.page, 'member-profile');

    // Revoking asks first and says what happens.
    await mine.page.getByRole('button', { name: 'Revoke access' }).click();
    const confirm = mine.page.getByRole('dialog', { name: 'Revoke Mia Member’s access?' });
    expect(await confirm.innerText()).toContain('every session of theirs in this account ends');
    await keepScreenshot(mine.page, 'member-revoke-confirm');
    await confirm.getByRole('button', { name: 'Revoke access' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await expect.poll(() => theirs.page.locator('.profile-head').innerText()).toContain('Revoked');
    now = await api.get<MemberDetailDto>(`/users/${member.member.id}`, { token: owner.token });
    expect(now.body.status).toBe('revoked');
    await mine.page.getByRole('button', { name: 'Reactivate' }).waitFor();

    expect(mine.errors).toEqual([]);
    expect(theirs.errors).toEqual([]);
    await mine.context.close();
    await theirs.context.close();
  });

  it('the 2FA filter lists who has not turned it on, stays in the address, and the column marks them while 2FA is required', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    const { secret } = await enrolTotp(api, owner.token, app.clock.now());
    const sara = await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Sara Secure' });
    await enrolTotp(api, sara.token, app.clock.now());
    await inviteAndAccept(api, app.config.dataDir, owner, { name: 'Nick Nofactor' });
    const ivy = uniqueEmail('ivy');
    expect((await invite(api, owner, [ivy])).status).toBe(201);
    app.clock.advance(31_000); // a fresh code for signing in

    const { page, errors, context } = await newPage(browser);
    await page.goto(`${app.url}/signin`);
    await page.fill('#email', owner.email);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.fill('#totp', await totpAt(secret, app.clock.now()));
    await page.click('button[type=submit]');
    await page.waitForURL(`${app.url}/users`);
    const count = () => page.getByTestId('member-count').innerText();
    const names = () => page.locator('tbody tr a.name').allInnerTexts();
    await expect.poll(count).toBe('4 members');

    // Off: the member who has not turned 2FA on; invited people (no 2FA yet) match neither value.
    const filter = page.getByLabel('2FA', { exact: true });
    await filter.selectOption({ label: 'Off' });
    await expect.poll(count).toBe('1 member match');
    expect(await names()).toEqual(['Nick Nofactor']);
    expect(new URL(page.url()).searchParams.get('twoFactor')).toBe('false');
    await filter.selectOption({ label: 'On' });
    await expect.poll(names).toEqual(['Olive Owner', 'Sara Secure']);
    expect(new URL(page.url()).searchParams.get('twoFactor')).toBe('true');

    // The address keeps it: a reload shows the same list with the same choice.
    await filter.selectOption({ label: 'Off' });
    await expect.poll(names).toEqual(['Nick Nofactor']);
    await page.reload();
    await expect.poll(names).toEqual(['Nick Nofactor']);
    expect(await filter.inputValue()).toBe('false');
    const nick = page.locator('tbody tr', { hasText: 'Nick Nofactor' });
    expect(await nick.innerText()).toContain('Not enrolled');
    expect(await nick.innerText()).not.toContain('required');

    // Once the account requires 2FA, the filter and the column say who is not compliant (live).
    const current = await api.get<AccountDto>('/account', { token: owner.token });
    const required = await api.patch(
      '/account',
      { require2fa: true },
      { token: owner.token, headers: ifMatch(current.body.version) },
    );
    expect(required.status, JSON.stringify(required.body)).toBe(200);
    await expect.poll(() => nick.innerText()).toMatch(/Not enrolled\s*, required/);
    expect(await filter.locator('option:checked').innerText()).toBe('Off (not compliant)');
    await keepScreenshot(page, 'users-2fa-filter');

    await filter.selectOption({ label: 'Anyone' });
    await expect.poll(count).toBe('4 members');
    expect(new URL(page.url()).searchParams.has('twoFactor')).toBe(false);
    expect(await page.locator('tbody tr', { hasText: ivy }).innerText()).not.toContain('Not enrolled');
    expect(errors).toEqual([]);
    await context.close();
  });
});
