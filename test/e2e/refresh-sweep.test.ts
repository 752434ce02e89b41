/**
 * The background sweep keeps an idle user's grant alive: a token about to lapse is refreshed
 * without any tool call.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
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
