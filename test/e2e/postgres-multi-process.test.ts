/**
 * Several `gatehouse serve` processes on one PostgreSQL are one deployment: the browser's callback
 * is served by one process while the app's wait is held by another, and a replayed callback spread
 * over both still makes exactly one token exchange.
 */
import type { Browser } from 'playwright-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import {
  createTestDatabase,
  freePort,
  spawnGatehouse,
  TEST_DATABASE_URL,
  testApiKey,
  testEncryptionKeys,
  type GatehouseProcess,
} from '../support/gatehouse.js';
import { countingFetch, WAIT_PATH } from '../support/counting-fetch.js';
import { authorizeInBrowser, captureCallback, createOAuthFixture, deliverCallback, type OAuthFixture } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { authorizeUser, createOAuthToolProvider } from '../support/session-fixtures.js';
import type { ToolServer } from '../support/mcp-tool-server.js';

/**
 * Waits until `text` is in the process's output. A request's log line reaches the test through the
 * child's stdout pipe, which may be read after the HTTP answer to that request.
 */
async function logged(child: GatehouseProcess, text: string): Promise<void> {
  for (let attempt = 0; attempt < 100 && !child.output().includes(text); attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(child.output()).toContain(text);
}

describe.skipIf(!TEST_DATABASE_URL)('two gatehouse processes on one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let upstream: Upstream;
  let processA: GatehouseProcess;
  let processB: GatehouseProcess;
  let browser: Browser;
  let viaA: Gatehouse;
  let viaB: Gatehouse;
  let toolServer: ToolServer | undefined;
  let fixture: OAuthFixture;
  let apiKey: string;
  const issuedSecrets: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    upstream = await startUpstream({ clients: [] });
    upstream.setResponseOverride((observed) => {
      const body = observed.body as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token']) if (typeof body?.[key] === 'string') issuedSecrets.push(body[key] as string);
      return undefined;
    });
    apiKey = testApiKey();
    const [portA, portB] = [await freePort(), await freePort()];
    // One public URL (as behind a load balancer): the browser talks to A, the app's SDK to B.
    const env = {
      DATABASE_URL: database.url,
      GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${portA}`,
      GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
    };
    // Started together: migrations and the bootstrap project must cope with a race.
    [processA, processB] = await Promise.all([spawnGatehouse({ port: portA, env }), spawnGatehouse({ port: portB, env })]);
    viaA = new Gatehouse({ apiKey, baseUrl: processA.url });
    viaB = new Gatehouse({ apiKey, baseUrl: processB.url });
    fixture = await createOAuthFixture(viaB, upstream);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([processA?.stop(), processB?.stop()]);
    await toolServer?.close();
    await upstream?.close();
    await database?.drop();
  });

  it('created one bootstrap project although both processes started at once', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query('SELECT count(*)::int AS projects FROM projects');
    await client.end();
    expect(rows[0].projects).toBe(1);
  });

  it('resolves a wait held by process B when process A serves the callback', async () => {
    const setupSession = await viaB.providers.setupSessions.create({ providerId: fixture.providerId, providerAuthMethodId: 'oauth' });
    expect(setupSession.url.startsWith(processA.url)).toBe(true);
    // Counted so the test proves the wake-up crossed processes (PostgreSQL NOTIFY): exactly one
    // long-poll, held by B far longer than this test, resolved by A's callback.
    const counted = countingFetch();
    const waiter = new Gatehouse({ apiKey, baseUrl: processB.url, fetch: counted.fetch });
    const waiting = waiter.waitForSetupSession([setupSession], { pollTimeoutMs: 30_000 });

    const { page, context } = await authorizeInBrowser(browser, setupSession.url, 'frank');
    const completed = await waiting;
    expect(counted.count(WAIT_PATH)).toBe(1);
    expect(completed.status).toBe('completed');
    expect(completed.authConfig?.status).toBe('active');
    expect(await page.locator('h1').textContent()).toMatch(/connected/i);
    await context.close();

    await logged(processA, `"path":"/oauth/callback/${fixture.deploymentId}"`);
    await logged(processB, '"path":"/v1/providers/setup-sessions/wait"');
    expect(processB.output()).not.toContain('/oauth/callback/');
  });

  it('makes one token exchange out of 100 simultaneous callbacks spread over both processes', async () => {
    const setupSession = await viaB.providers.setupSessions.create({ providerId: fixture.providerId, providerAuthMethodId: 'oauth' });
    const captured = await captureCallback(browser, setupSession.url, fixture.callbackUrl, 'grace');
    const before = upstream.tokenRequests().length;
    const configsBefore = (await viaB.providers.authConfigs.list({ providerId: fixture.providerId })).data.length;
    const onB = captured.callbackUrl.replace(processA.url, processB.url);

    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, index) => deliverCallback(index % 2 === 0 ? captured.callbackUrl : onB, captured.cookieHeader)),
    );
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    expect(responses.filter((response) => response.status === 400)).toHaveLength(99);
    expect(upstream.tokenRequests().length).toBe(before + 1);
    const configs = await viaB.providers.authConfigs.list({ providerId: fixture.providerId });
    expect(configs.data).toHaveLength(configsBefore + 1);
    expect((await viaB.providers.setupSessions.get(setupSession.id)).status).toBe('completed');
    await captured.context.close();
  });

  it('serves a tool call on process B for a session created on process A', async () => {
    const notes = await createOAuthToolProvider(viaA, upstream, 'notes-pg');
    toolServer = notes.toolServer;
    const authConfigId = await authorizeUser(viaA, browser, 'notes-pg', 'heidi');
    const session = await viaA.sessions.create({ providers: [{ providerDeploymentId: notes.deploymentId, providerAuthConfigId: authConfigId }] });

    const result = await viaB.sessions.toolCalls.create(session.id, { name: 'notes-pg__whoami', arguments: {} });
    expect(result.status).toBe('succeeded');
    expect(JSON.stringify(result.content)).toContain('heidi');
    await logged(processB, `"path":"/v1/sessions/${session.id}/tool-calls"`);
    expect(processA.output()).not.toContain(`/v1/sessions/${session.id}/tool-calls`);

    const records = await viaA.sessions.toolCalls.list(session.id);
    expect(records.data.map((record) => record.id)).toEqual([result.id]);
  });

  it('stores no token in plaintext in PostgreSQL', async () => {
    expect(issuedSecrets.length).toBeGreaterThanOrEqual(4);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query('SELECT * FROM auth_configs');
    const sessions = await client.query('SELECT * FROM setup_sessions');
    await client.end();
    expect(rows).toHaveLength(3);
    const stored = JSON.stringify([rows, sessions.rows]);
    for (const secret of issuedSecrets) expect(stored).not.toContain(secret);
  });
});
