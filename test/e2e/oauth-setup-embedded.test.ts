/**
 * The seed's first half, end to end on the embedded store: an app creates a setup session with the
 * SDK, its user authorizes at the provider in Chromium, and the app's wait resolves with the auth
 * config. Nothing readable is left in the data folder.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { countingFetch, WAIT_PATH } from '../support/counting-fetch.js';
import { authorizeInBrowser, createOAuthFixture, type OAuthFixture } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('OAuth setup session on the embedded store', () => {
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let gatehouse: Gatehouse;
  let fixture: OAuthFixture;
  const issuedSecrets: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [] });
    upstream.setResponseOverride((observed) => {
      const body = observed.body as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token', 'id_token']) {
        if (typeof body?.[key] === 'string') issuedSecrets.push(body[key] as string);
      }
      return undefined;
    });
    server = await startInProcessGatehouse({ env: { GATEHOUSE_ALLOWED_REDIRECT_URLS: 'https://app.example.com/oauth' } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    fixture = await createOAuthFixture(gatehouse, upstream);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await upstream?.close();
  });

  it('resolves waitForSetupSession with the auth config once the user consents in the browser', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({
      providerId: fixture.providerId,
      providerAuthMethodId: 'oauth',
      metadata: { userId: 'user-42' },
    });
    expect(setupSession.status).toBe('pending');
    expect(setupSession.url).toBe(`${server.url}/setup/${setupSession.id}`);

    // The wait goes through its own client whose fetch counts requests: pushed, not polled, means
    // the one long-poll sent before the user starts (held far longer than this test) is the one the
    // callback wakes.
    const counted = countingFetch();
    const waiter = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, fetch: counted.fetch });
    const waiting = waiter.waitForSetupSession([setupSession], { pollTimeoutMs: 30_000 });
    const { page, context } = await authorizeInBrowser(browser, setupSession.url, 'alice');
    const completed = await waiting;
    expect(counted.count(WAIT_PATH)).toBe(1);

    expect(completed.id).toBe(setupSession.id);
    expect(completed.status).toBe('completed');
    expect(completed.authConfig?.id).toMatch(/^pac_[0-9A-Za-z]{27}$/);
    expect(completed.authConfig?.status).toBe('active');
    expect(completed.authConfig?.metadata).toEqual({ userId: 'user-42' });
    expect(completed.authConfig?.scopes).toEqual(expect.arrayContaining(['openid', 'profile']));

    // The end user sees Gatehouse's finished page, not a debug dump.
    expect(await page.locator('h1').textContent()).toMatch(/connected to Acme Cloud/i);
    await context.close();

    // Exactly one code exchange reached the provider.
    expect(upstream.tokenRequests().filter((request) => request.grantType === 'authorization_code')).toHaveLength(1);

    // The API never hands a token back: not on the auth config, not in lists.
    const authConfig = await gatehouse.providers.authConfigs.get(completed.authConfig!.id);
    const listed = await gatehouse.providers.authConfigs.list({ metadata: { userId: 'user-42' } });
    expect(listed.data.map((item) => item.id)).toEqual([authConfig.id]);
    const apiText = JSON.stringify([authConfig, listed.data, completed]);
    expect(issuedSecrets.length).toBeGreaterThanOrEqual(2);
    for (const secret of issuedSecrets) expect(apiText).not.toContain(secret);
  });

  it('leaves no plaintext token in the stored row or anywhere in the data folder', async () => {
    expect(issuedSecrets.length).toBeGreaterThanOrEqual(2);
    const dataDir = server.dataDir;
    await server.close();

    const db = await PGlite.create(join(dataDir, 'pgdata'));
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM auth_configs');
    await db.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.credentials_ciphertext).toEqual(expect.any(String));
    const rowText = JSON.stringify(rows);
    for (const secret of issuedSecrets) expect(rowText).not.toContain(secret);

    const files = filesUnder(dataDir);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of issuedSecrets) {
        expect(bytes.includes(Buffer.from(secret)), `${secret.slice(0, 6)}… found in ${file}`).toBe(false);
      }
    }
  });
});
