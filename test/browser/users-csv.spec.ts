/**
 * CSV on the Users page in Chromium (issue 17 §3): "Export CSV" downloads the rows of the list's
 * current filter; "Import CSV" previews a file with each row's problems marked and "Send" held back,
 * then the fixed file sends its invitations and the list shows them without a reload. Axe on the
 * open dialog, and the dialog at 390 px. Screenshot: docs/users-import.png.
 */
import { parse } from 'csv-parse/sync';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../api/support/app.js';
import { createAccount, invite, inviteAndAccept, PASSWORD, ROLE, uniqueEmail } from '../api/support/factories.js';
import { client } from '../api/support/http.js';
import { mailsTo } from '../api/support/outbox.js';
import { browserReady, keepScreenshot, newPage, signIn, startProduct } from './support/browser.js';

const DOCS = resolve(import.meta.dirname, '../../docs');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let app: TestApp;
let browser: Browser;
let close: () => Promise<void>;

async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            context: Document,
            options: object,
          ) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe.skipIf(!browserReady)('CSV export and import on the Users page in Chromium', () => {
  beforeAll(async () => {
    ({ app, browser, close } = await startProduct());
  }, 60_000);
  afterAll(() => close?.());

  it('exports the rows of the current filter as a CSV download', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'business', name: 'Olive Owner' });
    await inviteAndAccept(api, app.config.dataDir, owner, { roleId: ROLE.editor, name: 'Eddie Editor' });
    const pending = [uniqueEmail('pending'), uniqueEmail('waiting')];
    expect((await invite(api, owner, pending)).status).toBe(201);

    const { context, page, errors } = await newPage(browser);
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/users?status=invited`);
    await page.getByTestId('member-count').filter({ hasText: '2 members match' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^rolecall-users-\d{4}-\d\d-\d\d\.csv$/);
    const text = readFileSync((await download.path())!, 'utf8');
    const rows = parse(text, { columns: true }) as { Email: string; Status: string }[];
    expect(rows.map((row) => row.Email).sort()).toEqual([...pending].sort());
    expect(rows.every((row) => row.Status === 'invited')).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('previews an import with its problems, holds Send back, then sends the fixed file and the list shows the invitations live', async () => {
    const api = client(app.url);
    const owner = await createAccount(api, { plan: 'starter', name: 'Olive Owner' });
    const taken = uniqueEmail('taken');
    expect((await invite(api, owner, [taken])).status).toBe(201);
    const [ada, bob, cy] = [uniqueEmail('ada'), uniqueEmail('bob'), uniqueEmail('cy')];
    const broken = `email,role,agent access,teams\n${ada},Editor,yes,\nnot-an-email,Read only,no,\n${taken},Editor,no,\n${bob},Wizard,no,\n`;
    const fixed = `email,role,agent access,teams\n${ada},Editor,yes,\n${bob},Read only,no,\n${cy},Admin,no,\n`;

    const { context, page, errors } = await newPage(browser, { bypassCSP: true });
    await signIn(page, app.url, owner.email, PASSWORD);
    await page.goto(`${app.url}/users`);
    await page.getByTestId('member-count').filter({ hasText: '2 members' }).waitFor();

    await page.getByRole('button', { name: 'Import CSV' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import invitations from CSV' });
    await dialog.waitFor();
    await dialog
      .getByLabel('CSV file')
      .setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(broken) });
    await dialog.getByTestId('import-summary').filter({ hasText: '3 rows have problems' }).waitFor();
    const problems = dialog.locator('tr.problems');
    await expect
      .poll(() => problems.allInnerTexts())
      .toEqual([
        expect.stringContaining('not a valid email address'),
        expect.stringContaining('already invited'),
        expect.stringContaining('No role named “Wizard”'),
      ]);
    expect(await dialog.locator('tr.error[data-line="3"]').count()).toBe(1);
    expect(await dialog.locator('tr.problems[data-line-problems="3"]').count()).toBe(1);
    expect(await dialog.locator('tr[data-line="2"]:not(.error)').count()).toBe(1);
    const send = dialog.getByRole('button', { name: /^Send \d+ invitation/ });
    expect(await send.isDisabled()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    mkdirSync(DOCS, { recursive: true });
    await dialog.screenshot({ path: resolve(DOCS, 'users-import.png') });

    // At 390 px the dialog fits and its table scrolls inside it.
    await page.setViewportSize({ width: 390, height: 844 });
    const box = await dialog.boundingBox();
    expect(box!.width).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });

    await dialog.getByLabel('Or paste the CSV').fill(fixed);
    await dialog.getByTestId('import-summary').filter({ hasText: '3 invitations ready' }).waitFor();
    await expect.poll(() => send.isDisabled()).toBe(false);
    expect(await send.innerText()).toBe('Send 3 invitations');
    await keepScreenshot(page, 'users-import-ready');

    await send.click();
    const sent = page.getByRole('dialog', { name: 'Invitations sent' });
    await sent.getByTestId('import-result').filter({ hasText: 'Sent 3 invitations' }).waitFor();
    await sent.getByRole('button', { name: 'Done' }).click();
    // The list follows the live events: no reload.
    await page.getByTestId('member-count').filter({ hasText: '5 members' }).waitFor();
    for (const email of [ada, bob, cy]) await page.getByRole('link', { name: email }).waitFor();
    await app.mailSettled();
    for (const email of [ada, bob, cy]) expect(mailsTo(app.config.dataDir, email)).toHaveLength(1);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);
});
