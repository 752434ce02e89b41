/**
 * Deleting an auth config revokes its tokens at the provider (RFC 7009) before the secrets are
 * removed, and says whether the provider confirmed.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse, NotFoundError } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { authorizeUser, createOAuthToolProvider } from '../support/session-fixtures.js';
import type { ToolServer } from '../support/mcp-tool-server.js';
import { startProviderTokenStub } from '../support/provider-token-stub.js';
import { authorizeOverHttp, deployStubProvider } from '../support/stub-provider-fixture.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

describe('revocation on delete', () => {
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let gatehouse: Gatehouse;
  let toolServer: ToolServer;
  let deploymentId: string;
  const issued: Array<{ access?: string; refresh?: string }> = [];

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [] });
    upstream.setResponseOverride((observed) => {
      const body = observed.body as Record<string, string>;
      if (observed.grantType === 'authorization_code') issued.push({ access: body.access_token, refresh: body.refresh_token });
      return undefined;
    });
    server = await startInProcessGatehouse();
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    const provider = await createOAuthToolProvider(gatehouse, upstream, 'notes');
    toolServer = provider.toolServer;
    deploymentId = provider.deploymentId;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await toolServer?.close();
    await upstream?.close();
  });

  it('uses the access token the provider accepted before deletion (control for the 401 below)', async () => {
    const authConfigId = await authorizeUser(gatehouse, browser, 'notes', 'quinn');
    const accepted = await fetch(toolServer.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${issued.at(-1)!.access}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    expect(accepted.status).toBe(200);
    await accepted.body?.cancel();
    await gatehouse.providers.authConfigs.delete(authConfigId);
  });

  it('revokes the refresh and access tokens at the provider, confirms it, and removes the auth config', async () => {
    const authConfigId = await authorizeUser(gatehouse, browser, 'notes', 'olga');
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: deploymentId, providerAuthConfigId: authConfigId }] });
    expect(JSON.stringify((await gatehouse.sessions.toolCalls.create(session.id, { name: 'notes__whoami' })).content)).toContain('olga');

    const result = await gatehouse.providers.authConfigs.delete(authConfigId);
    expect(result).toMatchObject({ id: authConfigId, deleted: true, revocation: { attempted: true, confirmed: true, error: null } });

    // The provider no longer accepts the old access token: the tool server (which introspects it
    // at the provider) refuses it.
    const refused = await fetch(toolServer.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${issued.at(-1)!.access}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    expect(refused.status).toBe(401);
    const call = await gatehouse.sessions.toolCalls.create(session.id, { name: 'notes__whoami' });
    expect(call.status).toBe('failed');
    await expect(gatehouse.providers.authConfigs.get(authConfigId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes an auth config of a provider without a revocation endpoint and says revocation was not attempted', async () => {
    // Slack's shape: no RFC 7009 endpoint (auth.revoke is not one), so nothing is sent to revoke.
    const stub = await startProviderTokenStub({ style: 'slack' });
    const provider = await deployStubProvider(gatehouse, stub, 'slackish');
    try {
      const authConfigId = await authorizeOverHttp(gatehouse, stub, provider.providerId, 'rosa');
      const result = await gatehouse.providers.authConfigs.delete(authConfigId);
      expect(result).toMatchObject({ id: authConfigId, deleted: true, revocation: { attempted: false, confirmed: false } });
      expect(stub.revokedTokens()).toEqual([]);
      await expect(gatehouse.providers.authConfigs.get(authConfigId)).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await provider.toolServer.close();
      await stub.close();
    }
  });

  it('still deletes when the provider does not confirm, and says so', async () => {
    const authConfigId = await authorizeUser(gatehouse, browser, 'notes', 'pavel');
    await upstream.close();
    const result = await gatehouse.providers.authConfigs.delete(authConfigId);
    expect(result.deleted).toBe(true);
    expect(result.revocation).toMatchObject({ attempted: true, confirmed: false });
    await expect(gatehouse.providers.authConfigs.get(authConfigId)).rejects.toBeInstanceOf(NotFoundError);
  });
});
