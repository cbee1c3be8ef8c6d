import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { AppConfig } from '../../../apps/api/src/config.js';
import { startApp, type TestApp } from '../../api/support/app.js';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const WEB_BUILD = resolve(import.meta.dirname, '../../../apps/web/build');
const SCREENSHOTS = resolve(import.meta.dirname, '../../../test-results/screenshots');

/** Browser tests need Debian's Chromium and the built dashboard; CI installs and builds both. */
export const browserReady = existsSync(CHROMIUM) && existsSync(join(WEB_BUILD, 'index.html'));
if (!browserReady) {
  const why = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (apt-get install -y chromium)` : `${WEB_BUILD} is missing (npm run build)`;
  if (process.env['CI']) throw new Error(`Browser tests cannot run: ${why}`);
  console.log(`[browser] skipped: ${why}`);
}

/** The whole product (API + built dashboard) on a random port, plus a headless Chromium. */
export async function startProduct(
  options: { overrides?: Partial<AppConfig> } = {},
): Promise<{ app: TestApp; browser: Browser; close: () => Promise<void> }> {
  const app = await startApp({
    overrides: { ...options.overrides, webRoot: WEB_BUILD },
    rateLimits: { signInPerIp: 1e6, signInPerEmail: 1e6, invitationsPerAccount: 1e6, acceptancePerIp: 1e6 },
  });
  // The dashboard's origin must be allowed for the socket handshake: PUBLIC_URL is the app's own URL.
  (app.config as { publicUrl: string }).publicUrl = app.url;
  (app.config as unknown as { allowedOrigins: string[] }).allowedOrigins = [app.url];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  return {
    app,
    browser,
    close: async () => {
      await browser.close();
      await app.close();
    },
  };
}

export async function newPage(
  browser: Browser,
  options: { colorScheme?: 'light' | 'dark'; bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  // bypassCSP only for injecting axe-core: the app's own CSP forbids inline scripts.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: options.colorScheme ?? 'light', bypassCSP: options.bypassCSP ?? false });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

/**
 * Keeps a screenshot of the page under test-results/screenshots (CI artifacts; a few go to docs/).
 * `timeout`: how long Chromium may take (Playwright's default is 30 s).
 */
export async function keepScreenshot(page: Page, name: string, options: { timeout?: number } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true, ...options });
  return path;
}

/** Signs in through the real sign-in page. */
export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL((url) => !url.pathname.startsWith('/signin'));
}
