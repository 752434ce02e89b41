/**
 * REFERENCE §3 "restart mid-flow": `gatehouse serve` (embedded store) stopped between the steps of
 * an OAuth setup, or killed in the middle of one. Whatever happens, no auth config is lost or half
 * written, the setup session ends in exactly one final state, and the user can finish the setup.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { freePort, spawnGatehouse, tempDir, testApiKey, testEncryptionKeys, type GatehouseProcess } from '../support/gatehouse.js';
import { authorizeInBrowser, captureCallback, createOAuthFixture, deliverCallback, type OAuthFixture } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

describe('restart in the middle of an OAuth setup (embedded store)', () => {
  let upstream: Upstream;
  let browser: Browser;
  let server: GatehouseProcess;
  let gatehouse: Gatehouse;
  let fixture: OAuthFixture;
  let restart: (signal: NodeJS.Signals) => Promise<void>;

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [] });
    browser = await launchBrowser();
    const port = await freePort();
    const dataDir = tempDir();
    const apiKey = testApiKey();
    const env = {
      GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
      GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
    };
    server = await spawnGatehouse({ port, dataDir, env });
    // Same port and folder after a restart: the callback URL registered at the provider stays valid.
    restart = async (signal) => {
      await server.stop(signal);
      server = await spawnGatehouse({ port, dataDir, env });
    };
    gatehouse = new Gatehouse({ apiKey, baseUrl: server.url, maxRetries: 0 });
    fixture = await createOAuthFixture(gatehouse, upstream);
  });

  afterAll(async () => {
    await server?.stop();
    await browser?.close();
    await upstream?.close();
  });

  /** The auth configs of one end user (setup session metadata is copied onto its auth config). */
  const authConfigsOf = async (userId: string) => (await gatehouse.providers.authConfigs.list({ providerId: fixture.providerId, metadata: { userId } })).data;
  const newSetupSession = (userId: string) => gatehouse.providers.setupSessions.create({ providerId: fixture.providerId, providerAuthMethodId: 'oauth', metadata: { userId } });

  it('completes the setup after a restart between the provider’s redirect and the callback', async () => {
    const session = await newSetupSession('rita');
    const held = await captureCallback(browser, session.url, fixture.callbackUrl, 'rita');

    await restart('SIGTERM');

    const delivered = await deliverCallback(held.callbackUrl, held.cookieHeader);
    expect(delivered.status).toBe(200);
    const completed = await gatehouse.waitForSetupSession([session], { timeoutMs: 10_000 });
    expect(completed.id).toBe(session.id);
    expect(await authConfigsOf('rita')).toHaveLength(1);
    await held.context.close();
  });

  it('leaves the session pending and no auth config when killed during the code exchange; the user’s next try completes it', async () => {
    const session = await newSetupSession('sam');
    const held = await captureCallback(browser, session.url, fixture.callbackUrl, 'sam');
    const exchangesBefore = upstream.tokenRequests().filter((request) => request.grantType === 'authorization_code').length;
    upstream.faultNextTokenRequests(1, { hang: true });

    const stuck = deliverCallback(held.callbackUrl, held.cookieHeader).catch((error: unknown) => error);
    for (let waited = 0; upstream.tokenRequests().filter((request) => request.grantType === 'authorization_code').length === exchangesBefore && waited < 200; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(upstream.tokenRequests().filter((request) => request.grantType === 'authorization_code')).toHaveLength(exchangesBefore + 1);
    await restart('SIGKILL');
    expect(await stuck).toBeInstanceOf(Error);

    // Nothing half-written: still pending, no auth config, and the consumed callback cannot be replayed.
    expect((await gatehouse.providers.setupSessions.get(session.id)).status).toBe('pending');
    expect(await authConfigsOf('sam')).toHaveLength(0);
    const replay = await deliverCallback(held.callbackUrl, held.cookieHeader);
    expect(replay.status).toBe(400);
    expect(await authConfigsOf('sam')).toHaveLength(0);

    // The user opens the same link again and finishes.
    const { page, context } = await authorizeInBrowser(browser, session.url, 'sam');
    await page.getByRole('heading', { name: /You’re connected/ }).waitFor();
    const completed = await gatehouse.waitForSetupSession([session], { timeoutMs: 10_000 });
    expect(completed.status).toBe('completed');
    const configs = await authConfigsOf('sam');
    expect(configs).toHaveLength(1);
    expect(configs[0]!.id).toBe(completed.authConfig?.id);
    await context.close();
    await held.context.close();
  });

  it('keeps a completed auth config and its setup session through a kill', async () => {
    const session = await newSetupSession('tess');
    const { context } = await authorizeInBrowser(browser, session.url, 'tess');
    const completed = await gatehouse.waitForSetupSession([session], { timeoutMs: 10_000 });

    await restart('SIGKILL');

    const config = await gatehouse.providers.authConfigs.get(completed.authConfig!.id);
    expect(config.status).toBe('active');
    expect((await gatehouse.providers.setupSessions.get(session.id)).status).toBe('completed');
    await context.close();
  });
});
