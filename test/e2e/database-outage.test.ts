/**
 * REFERENCE §3 "restart mid-flow", the database half: PostgreSQL goes away between the steps of an
 * OAuth setup (here: every connection dropped and new ones refused, through a TCP proxy, as a
 * restart or a partition looks to Gatehouse) and comes back. The server must stay up, answer the
 * outage with a clear error, write nothing half-way, and finish the flow once the database is back:
 * one token exchange, one auth config, and the app's wait resolved.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import {
  createTestDatabase,
  spawnGatehouse,
  TEST_DATABASE_URL,
  testApiKey,
  testEncryptionKeys,
  type GatehouseProcess,
} from '../support/gatehouse.js';
import { captureCallback, createOAuthFixture, deliverCallback, type OAuthFixture } from '../support/setup-flow.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL going away in the middle of an OAuth setup', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let upstream: Upstream;
  let server: GatehouseProcess;
  let browser: Browser;
  let gatehouse: Gatehouse;
  let fixture: OAuthFixture;
  let apiKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    upstream = await startUpstream({ clients: [] });
    apiKey = testApiKey();
    server = await spawnGatehouse({
      env: {
        DATABASE_URL: proxied.href,
        GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
        GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
        GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
      },
    });
    // The SDK's own retries carry the wait across the outage.
    gatehouse = new Gatehouse({ apiKey, baseUrl: server.url, maxRetries: 5 });
    browser = await launchBrowser();
    fixture = await createOAuthFixture(gatehouse, upstream);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await proxy?.close();
    await upstream?.close();
    await database?.drop();
  });

  it('refuses the callback while the database is gone, then completes it once it is back', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: fixture.providerId, providerAuthMethodId: 'oauth' });
    const waiting = gatehouse.waitForSetupSession([setupSession], { timeoutMs: 60_000 });
    const { callbackUrl, cookieHeader, context } = await captureCallback(browser, setupSession.url, fixture.callbackUrl, 'alice');
    await context.close();
    const tokenRequestsBefore = upstream.tokenRequests().length;

    await proxy.cut();
    const duringOutage = await deliverCallback(callbackUrl, cookieHeader);
    // The browser gets a page that says to wait and reload, not a JSON error and not a crash.
    expect(duringOutage.status).toBe(503);
    expect(duringOutage.body).toContain('<!doctype html>');
    expect(duringOutage.body).toContain('reload this page');
    expect(server.process.exitCode).toBeNull();
    // Nothing reached the provider: the code is still unspent.
    expect(upstream.tokenRequests().length).toBe(tokenRequestsBefore);
    // An API client is told it is an outage, and when to come back.
    const apiDuringOutage = await fetch(`${server.url}/v1/providers/setup-sessions/${setupSession.id}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(apiDuringOutage.status).toBe(503);
    expect(apiDuringOutage.headers.get('retry-after')).toBe('5');
    expect(((await apiDuringOutage.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');

    await proxy.restore();
    // The user reloads the callback page: the same code and state, now served.
    const afterOutage = await deliverCallback(callbackUrl, cookieHeader);
    expect(afterOutage.status).toBe(200);
    const completed = await waiting;
    expect(completed.status).toBe('completed');
    expect(completed.authConfig?.status).toBe('active');
    expect(upstream.tokenRequests().length).toBe(tokenRequestsBefore + 1);
    const configs = await gatehouse.providers.authConfigs.list({ providerId: fixture.providerId });
    expect(configs.data.map((config) => config.id)).toEqual([completed.authConfig!.id]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 90_000);
});
