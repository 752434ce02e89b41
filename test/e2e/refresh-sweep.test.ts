/**
 * The background sweep keeps an idle user's grant alive: a token about to lapse is refreshed
 * without any tool call, however many rows ahead of it cannot be refreshed.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { FakeClock, startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { startProviderTokenStub, type ProviderTokenStub } from '../support/provider-token-stub.js';
import { authorizeOverHttp, deployStubProvider, type StubProvider } from '../support/stub-provider-fixture.js';
import { authorizeUser, createOAuthToolProvider } from '../support/session-fixtures.js';
import type { ToolServer } from '../support/mcp-tool-server.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

describe('background refresh', () => {
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let toolServer: ToolServer;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [], accessTokenTtlSeconds: 4 });
    server = await startInProcessGatehouse({ env: { GATEHOUSE_REFRESH_SWEEP_INTERVAL_MS: '250' } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    toolServer = (await createOAuthToolProvider(gatehouse, upstream, 'notes')).toolServer;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await toolServer?.close();
    await upstream?.close();
  });

  it('refreshes a token that is about to lapse while nobody uses it', async () => {
    const authConfigId = await authorizeUser(gatehouse, browser, 'notes', 'rita');
    const first = await gatehouse.providers.authConfigs.get(authConfigId);
    expect(first.lastRefreshedAt).toBeNull();

    let current = first;
    for (let waited = 0; current.lastRefreshedAt === null && waited < 100; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      current = await gatehouse.providers.authConfigs.get(authConfigId);
    }
    expect(current.lastRefreshedAt).not.toBeNull();
    expect(new Date(current.accessTokenExpiresAt!).getTime()).toBeGreaterThan(new Date(first.accessTokenExpiresAt!).getTime());
    expect(upstream.tokenRequests().filter((request) => request.grantType === 'refresh_token').length).toBeGreaterThanOrEqual(1);
    expect(toolServer.calls()).toEqual([]);
    const history = [];
    for await (const event of gatehouse.providers.authConfigs.events(authConfigId)) history.push(event.type);
    expect(history).toContain('refreshed');
    expect(history.at(-1)).toBe('created');
  });
});

describe('background refresh past rows that cannot be refreshed', () => {
  const clock = new FakeClock();
  let stub: ProviderTokenStub;
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let provider: StubProvider;

  beforeAll(async () => {
    stub = await startProviderTokenStub({ style: 'github', accessTokenTtlSeconds: 600 });
    server = await startInProcessGatehouse({ clock, env: { GATEHOUSE_REFRESH_SWEEP_INTERVAL_MS: '200' } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    provider = await deployStubProvider(gatehouse, stub, 'ghstub');
  });

  afterAll(async () => {
    await server?.close();
    await provider?.toolServer.close();
    await stub?.close();
  });

  it('still refreshes a live token when 60 dead ones expire before it', async () => {
    // 30 users whose tokens came without a refresh token, 30 whose refreshes always fail: more
    // than one page of the sweep, and all of them expire before the live user's token.
    for (let index = 0; index < 60; index++) {
      const login = `dead${index}`;
      if (index % 2 === 0) stub.withoutRefreshToken(login);
      else stub.failRefreshesOf(login, stub.errorResponse('server_error'));
      await authorizeOverHttp(gatehouse, stub, provider.providerId, login);
    }
    clock.advance(1000);
    const liveId = await authorizeOverHttp(gatehouse, stub, provider.providerId, 'live');
    clock.advance(600_000);

    let live = await gatehouse.providers.authConfigs.get(liveId);
    for (let waited = 0; live.lastRefreshedAt === null && waited < 150; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      live = await gatehouse.providers.authConfigs.get(liveId);
    }
    expect(live.lastRefreshedAt).not.toBeNull();
    expect(live.status).toBe('active');
    expect(stub.tokenRequests().filter((request) => request.grantType === 'refresh_token' && request.login === 'live')).toHaveLength(1);
    // Rows that failed are backed off, not retried on every pass.
    const deadRefreshes = stub.tokenRequests().filter((request) => request.grantType === 'refresh_token' && request.login?.startsWith('dead'));
    expect(deadRefreshes.length).toBe(30);
  });
});
