/**
 * Credential lifecycle on PostgreSQL with two `gatehouse serve` processes: refresh that is
 * single-flight across processes (with and without refresh-token rotation), a process killed in the
 * middle of a refresh, a revoked grant turned into `reauthorization_required` and re-authorized in
 * place, and a token endpoint that is briefly unavailable.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
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
import type { ToolServer } from '../support/mcp-tool-server.js';
import { authorizeUser, createOAuthToolProvider } from '../support/session-fixtures.js';
import { authorizeInBrowser } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const ACCESS_TOKEN_TTL_SECONDS = 3;

/** Waits out the access token's lifetime: the upstream's clock, not ours, decides expiry. */
const tokensExpire = () => new Promise((resolve) => setTimeout(resolve, ACCESS_TOKEN_TTL_SECONDS * 1000 + 300));

interface Fixture {
  /** Starts process A again on its port after a test killed it. */
  restartA(): Promise<void>;
  upstream: Upstream;
  processA: GatehouseProcess;
  processB: GatehouseProcess;
  viaA: Gatehouse;
  viaB: Gatehouse;
  deploymentId: string;
  toolServer: ToolServer;
  close(): Promise<void>;
}

async function startFixture(options: { rotate: boolean; env?: Record<string, string> }): Promise<Fixture> {
  const database = await createTestDatabase();
  const upstream = await startUpstream({ clients: [], rotateRefreshTokens: options.rotate, accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
  const apiKey = testApiKey();
  const [portA, portB] = [await freePort(), await freePort()];
  const env = {
    DATABASE_URL: database.url,
    GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
    GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
    GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${portA}`,
    GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
    // The background sweep would refresh on its own; these tests want to see the on-demand path.
    GATEHOUSE_REFRESH_SWEEP_INTERVAL_MS: '86400000',
    ...options.env,
  };
  const [processA, processB] = await Promise.all([spawnGatehouse({ port: portA, env }), spawnGatehouse({ port: portB, env })]);
  const viaA = new Gatehouse({ apiKey, baseUrl: processA.url, maxRetries: 0 });
  const viaB = new Gatehouse({ apiKey, baseUrl: processB.url, maxRetries: 0 });
  const provider = await createOAuthToolProvider(viaA, upstream, 'notes');
  const fixture: Fixture = {
    async restartA() {
      fixture.processA = await spawnGatehouse({ port: portA, env });
    },
    upstream,
    processA,
    processB,
    viaA,
    viaB,
    deploymentId: provider.deploymentId,
    toolServer: provider.toolServer,
    async close() {
      await Promise.all([fixture.processA.stop(), fixture.processB.stop()]);
      await provider.toolServer.close();
      await upstream.close();
      await database.drop();
    },
  };
  return fixture;
}

const refreshRequests = (upstream: Upstream) => upstream.tokenRequests().filter((request) => request.grantType === 'refresh_token');

/**
 * Starts a tool call on process A whose refresh request hangs at the provider, waits until that one
 * refresh request is out, and SIGKILLs A in the middle of it.
 */
async function killAMidRefresh(fixture: Fixture, sessionId: string): Promise<void> {
  const before = refreshRequests(fixture.upstream).length;
  fixture.upstream.faultNextTokenRequests(1, { hang: true });
  const stuck = fixture.viaA.sessions.toolCalls.create(sessionId, { name: 'notes__whoami' }).catch((error: unknown) => error);
  for (let waited = 0; refreshRequests(fixture.upstream).length === before && waited < 200; waited++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(refreshRequests(fixture.upstream).length).toBe(before + 1);
  await fixture.processA.stop('SIGKILL');
  await stuck;
}

describe.skipIf(!TEST_DATABASE_URL)('credential lifecycle across two processes', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const rotate of [false, true]) {
    describe(rotate ? 'with refresh-token rotation' : 'without refresh-token rotation', () => {
      let fixture: Fixture;
      beforeAll(async () => {
        fixture = await startFixture({ rotate });
      });
      afterAll(async () => {
        await fixture?.close();
      });

      it('makes exactly one refresh request for 50 concurrent calls on an expired token, and all 50 succeed', async () => {
        const authConfigId = await authorizeUser(fixture.viaA, browser, 'notes', 'ivan');
        const session = await fixture.viaA.sessions.create({ providers: [{ providerDeploymentId: fixture.deploymentId, providerAuthConfigId: authConfigId }] });
        await tokensExpire();
        const before = refreshRequests(fixture.upstream).length;
        // The refreshed token must outlive the 50 calls, however slow the machine: with the 3 s
        // lifetime a second refresh would be due before the last call and the count would be 2.
        fixture.upstream.setAccessTokenTtl(3600);
        onTestFinished(() => fixture.upstream.setAccessTokenTtl(ACCESS_TOKEN_TTL_SECONDS));

        const results = await Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            (index % 2 === 0 ? fixture.viaA : fixture.viaB).sessions.toolCalls.create(session.id, { name: 'notes__whoami' }),
          ),
        );

        expect(results.filter((result) => result.status !== 'succeeded').map((result) => result.error)).toEqual([]);
        for (const result of results) expect(JSON.stringify(result.content)).toContain('ivan');
        expect(refreshRequests(fixture.upstream).length - before).toBe(1);
        const authConfig = await fixture.viaB.providers.authConfigs.get(authConfigId);
        expect(authConfig.status).toBe('active');
        expect(authConfig.lastRefreshedAt).not.toBeNull();
      });

      it.skipIf(rotate)('keeps the old refresh token when a refresh response omits it', async () => {
        const authConfigId = await authorizeUser(fixture.viaA, browser, 'notes', 'nina');
        const session = await fixture.viaA.sessions.create({ providers: [{ providerDeploymentId: fixture.deploymentId, providerAuthConfigId: authConfigId }] });
        const usedRefreshTokens: string[] = [];
        fixture.upstream.setResponseOverride((observed) => {
          if (observed.grantType !== 'refresh_token') return undefined;
          usedRefreshTokens.push(observed.params.refresh_token!);
          return { status: observed.status, body: { ...(observed.body as object), refresh_token: undefined } };
        });
        try {
          for (let round = 0; round < 2; round++) {
            await tokensExpire();
            const result = await fixture.viaB.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
            expect(result.status).toBe('succeeded');
          }
        } finally {
          fixture.upstream.setResponseOverride(undefined);
        }
        expect(usedRefreshTokens).toHaveLength(2);
        expect(usedRefreshTokens[1]).toBe(usedRefreshTokens[0]);
      });

      it.runIf(rotate)('recovers when a process is killed in the middle of a rotating refresh, and keeps rotating', async () => {
        const authConfigId = await authorizeUser(fixture.viaA, browser, 'notes', 'kira');
        const session = await fixture.viaA.sessions.create({ providers: [{ providerDeploymentId: fixture.deploymentId, providerAuthConfigId: authConfigId }] });
        await tokensExpire();
        const before = refreshRequests(fixture.upstream).length;
        // The provider never sees the hung request, so the single-use refresh token is still unused.
        await killAMidRefresh(fixture, session.id);

        // Process B takes the lock the dead process held, refreshes with the rotating token, stores
        // the new one, and the next refresh (after the new token expires) works with it.
        for (let round = 0; round < 2; round++) {
          if (round > 0) await tokensExpire();
          const result = await fixture.viaB.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
          expect(result.status).toBe('succeeded');
          expect(JSON.stringify(result.content)).toContain('kira');
        }
        expect(refreshRequests(fixture.upstream).length - before).toBe(3);
        expect((await fixture.viaB.providers.authConfigs.get(authConfigId)).status).toBe('active');
        await fixture.restartA();
      });

      it('refreshes again later with the refresh token it stored', async () => {
        const authConfigId = await authorizeUser(fixture.viaA, browser, 'notes', 'judy');
        const session = await fixture.viaA.sessions.create({ providers: [{ providerDeploymentId: fixture.deploymentId, providerAuthConfigId: authConfigId }] });
        for (let round = 0; round < 2; round++) {
          await tokensExpire();
          const result = await fixture.viaB.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
          expect(result.status).toBe('succeeded');
          expect(JSON.stringify(result.content)).toContain('judy');
        }
      });
    });
  }

  describe('faults', () => {
    let fixture: Fixture;
    let receiver: Server;
    const deliveries: Array<{ type: string; data: { id: string; status: string } }> = [];

    beforeAll(async () => {
      fixture = await startFixture({ rotate: false, env: { GATEHOUSE_WEBHOOK_RETRY_BASE_MS: '50' } });
      receiver = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += String(chunk)));
        request.on('end', () => {
          deliveries.push(JSON.parse(body));
          response.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      await fixture.viaA.webhooks.create({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks` });
    });
    afterAll(async () => {
      await fixture?.close();
      await new Promise((resolve) => receiver?.close(resolve));
    });

    const newUserSession = async (login: string) => {
      const authConfigId = await authorizeUser(fixture.viaA, browser, 'notes', login);
      const session = await fixture.viaA.sessions.create({ providers: [{ providerDeploymentId: fixture.deploymentId, providerAuthConfigId: authConfigId }] });
      return { authConfigId, session };
    };

    it('recovers when a process is killed in the middle of a refresh', async () => {
      const { authConfigId, session } = await newUserSession('kim');
      await tokensExpire();
      await killAMidRefresh(fixture, session.id);

      const result = await fixture.viaB.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
      expect(result.status).toBe('succeeded');
      expect(JSON.stringify(result.content)).toContain('kim');
      expect((await fixture.viaB.providers.authConfigs.get(authConfigId)).status).toBe('active');
      await fixture.restartA();
    });

    it('survives a 503 with Retry-After from the token endpoint: the call succeeds, nothing is marked broken', async () => {
      const { authConfigId, session } = await newUserSession('leo');
      await tokensExpire();
      const before = refreshRequests(fixture.upstream).length;
      fixture.upstream.faultNextTokenRequests(1, { status: 503, headers: { 'retry-after': '1' }, body: 'busy' });

      const result = await fixture.viaB.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
      expect(result.status).toBe('succeeded');
      expect(JSON.stringify(result.content)).toContain('leo');
      const [faulted, real] = refreshRequests(fixture.upstream).slice(before);
      expect(faulted?.faulted).toBe(true);
      expect(real!.at - faulted!.at).toBeGreaterThanOrEqual(900);
      const authConfig = await fixture.viaB.providers.authConfigs.get(authConfigId);
      expect(authConfig.status).toBe('active');
      expect(authConfig.lastError).toBeNull();
    });

    it('turns a revoked grant into reauthorization_required after one try, with one webhook, and re-authorizes in place', async () => {
      const { authConfigId, session } = await newUserSession('mia');
      await tokensExpire();
      const before = refreshRequests(fixture.upstream).length;
      fixture.upstream.revokeGrantsFor('mia');

      const failed = await fixture.viaB.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
      expect(failed.error?.code).toBe('reauthorization_required');
      expect(failed.error?.message).toMatch(/setup session/);
      await fixture.viaA.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
      await fixture.viaB.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
      expect(refreshRequests(fixture.upstream).length - before).toBe(1);

      const authConfig = await fixture.viaA.providers.authConfigs.get(authConfigId);
      expect(authConfig.status).toBe('reauthorization_required');
      expect(authConfig.lastError?.code).toBe('invalid_grant');
      const history = await fixture.viaA.request<{ data: Array<{ type: string; toStatus: string | null }> }>({
        method: 'GET',
        path: `/v1/providers/auth-configs/${authConfigId}/events`,
      });
      expect(history.data.map((event) => event.type)).toEqual(['status_changed', 'created']);

      for (let waited = 0; waited < 200 && !deliveries.some((event) => event.type === 'auth_config.reauthorization_required' && event.data.id === authConfigId); waited++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Give a duplicate the chance to show up before counting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(deliveries.filter((event) => event.type === 'auth_config.reauthorization_required' && event.data.id === authConfigId)).toHaveLength(1);

      const reauthorization = await fixture.viaA.providers.setupSessions.create({ providerId: 'notes', providerAuthMethodId: 'oauth', providerAuthConfigId: authConfigId });
      const waiting = fixture.viaB.waitForSetupSession([reauthorization]);
      const { context } = await authorizeInBrowser(browser, reauthorization.url, 'mia');
      await context.close();
      const completed = await waiting;
      expect(completed.authConfig?.id).toBe(authConfigId);
      expect(completed.authConfig?.status).toBe('active');

      const again = await fixture.viaB.sessions.create({ providers: [{ providerDeploymentId: fixture.deploymentId, providerAuthConfigId: authConfigId }] });
      const result = await fixture.viaA.sessions.toolCalls.create(again.id, { name: 'notes__whoami' });
      expect(result.status).toBe('succeeded');
      expect(JSON.stringify(result.content)).toContain('mia');
    });
  });
});
