/**
 * Headless Chromium for end-to-end tests (playwright-core with the system Chromium), plus a
 * driver for oidc-provider's built-in dev login and consent pages (see ./upstream.ts).
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Launch headless Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium). Close it in afterAll. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

export interface LoginAndConsentOptions {
  /** Any login name: it becomes the account id (`sub`) at the upstream. */
  login: string;
  /** Ignored by oidc-provider's dev pages; default 'password'. */
  password?: string;
  /** Navigate here first (e.g. the authorization URL). Otherwise the page must already show it. */
  url?: string;
  /** Give up after this many interaction pages; default 5. */
  maxSteps?: number;
}

/** Run `action` (which submits a form) and wait until the main frame has loaded a new document. */
async function submitAndWait(page: Page, action: () => Promise<void>): Promise<void> {
  const navigated = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
  await action();
  await navigated;
  await page.waitForLoadState('load');
}

/**
 * Drive oidc-provider's dev interaction pages: fill the login form (`input[name=login]`,
 * `input[name=password]`), then press "Continue" on the consent page, each time waiting for the
 * resulting navigation. Login or consent may be skipped by the upstream (existing session or
 * grant): the helper returns as soon as the page shows neither form, normally once the browser
 * has been redirected to the client's redirect_uri.
 */
export async function loginAndConsentAtUpstream(page: Page, options: LoginAndConsentOptions): Promise<void> {
  if (options.url !== undefined) await page.goto(options.url);
  const maxSteps = options.maxSteps ?? 5;
  for (let step = 0; step < maxSteps; step++) {
    const login = page.locator('input[name="login"]');
    if ((await login.count()) > 0) {
      await login.fill(options.login);
      await page.locator('input[name="password"]').fill(options.password ?? 'password');
      await submitAndWait(page, () => page.locator('form button[type="submit"]').click());
      continue;
    }
    const consent = page.getByRole('button', { name: 'Continue' });
    if ((await consent.count()) > 0) {
      await submitAndWait(page, () => consent.click());
      continue;
    }
    return;
  }
  throw new Error(`still on the upstream's interaction pages after ${maxSteps} steps (at ${page.url()})`);
}
