/**
 * The API-key auth method end to end: the hosted form in Chromium, the key stored encrypted, the
 * app's wait resolved, and the form's CSRF protection.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';

describe('API key setup session (Exa)', () => {
  let server: InProcessGatehouse;
  let browser: Browser;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    server = await startInProcessGatehouse({ env: { GATEHOUSE_ALLOWED_REDIRECT_URLS: 'http://127.0.0.1:9/' } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    await gatehouse.providers.deployments.create({ providerId: 'exa' });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('stores the pasted key and resolves the wait; the key never comes back', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key', metadata: { userId: 'u-7' } });
    const waiting = gatehouse.waitForSetupSession([setupSession]);

    const context = await browser.newContext();
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
    });
    await page.goto(setupSession.url);
    expect(await page.locator('h1').textContent()).toMatch(/Exa/);

    await page.locator('input[name="api_key"]').fill('exa-canary-key-0123456789');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /save key/i }).click()]);
    const completed = await waiting;
    expect(completed.status).toBe('completed');
    expect(completed.authConfig).toMatchObject({ providerId: 'exa', providerAuthMethodId: 'api_key', status: 'active', metadata: { userId: 'u-7' } });
    await page.waitForFunction(() => /connected/i.test(document.querySelector('h1')?.textContent ?? ''));
    expect(cspViolations).toEqual([]);
    await context.close();

    const fetched = await gatehouse.providers.authConfigs.get(completed.authConfig!.id);
    expect(JSON.stringify(fetched)).not.toContain('exa-canary-key');
    expect(server.logs()).not.toContain('exa-canary-key');
  });

  it('refuses a form post without the CSRF cookie of the browser that loaded the form', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
    const form = await fetch(setupSession.url);
    const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())?.[1];
    expect(csrfToken).toBeDefined();

    const forged = await fetch(`${setupSession.url}/api-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: 'attacker-key', csrf_token: csrfToken! }),
      redirect: 'manual',
    });
    expect(forged.status).toBe(400);
    expect((await gatehouse.providers.setupSessions.get(setupSession.id)).status).toBe('pending');
  });

  it('shows the form again with a message for a key with spaces, and stores nothing', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
    const form = await fetch(setupSession.url);
    const cookie = form.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
    const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())![1]!;
    const posted = await fetch(`${setupSession.url}/api-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ api_key: 'two words', csrf_token: csrfToken }),
    });
    expect(posted.status).toBe(400);
    expect(await posted.text()).toMatch(/one line without spaces/);
    expect((await gatehouse.providers.setupSessions.get(setupSession.id)).status).toBe('pending');
  });

  it('sends the browser back to the app after the key is saved when the app gave a redirect URL', async () => {
    const redirectUrl = `http://127.0.0.1:9/done`;
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key', redirectUrl });
    const form = await fetch(setupSession.url);
    const cookie = form.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
    const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())![1]!;
    const posted = await fetch(`${setupSession.url}/api-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ api_key: 'exa-key-2', csrf_token: csrfToken }),
      redirect: 'manual',
    });
    expect(posted.status).toBe(303);
    const location = new URL(posted.headers.get('location')!);
    expect(location.searchParams.get('setup_session_id')).toBe(setupSession.id);
    expect(location.searchParams.get('status')).toBe('completed');
  });
});
