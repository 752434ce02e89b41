/**
 * Providers with real MCP tool servers, deployed in a Gatehouse project, and users who authorized
 * them in Chromium: the starting point of every gateway test.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import type { Gatehouse } from '@gatehouse/sdk';
import { startToolServer, type ToolServer } from './mcp-tool-server.js';
import { authorizeInBrowser, createOAuthFixture, type OAuthFixture } from './setup-flow.js';
import type { Upstream } from './upstream.js';

/** An OAuth provider whose tool server checks the user's token at the upstream (introspection). */
export async function createOAuthToolProvider(gatehouse: Gatehouse, upstream: Upstream, providerId: string): Promise<OAuthFixture & { toolServer: ToolServer }> {
  const introspectionClient = { clientId: `tools-${randomBytes(3).toString('hex')}`, clientSecret: randomBytes(16).toString('hex') };
  await upstream.addClient({ ...introspectionClient, redirectUris: ['http://127.0.0.1/unused'] });
  const toolServer = await startToolServer({
    name: providerId,
    auth: { type: 'bearer-introspection', introspectionUrl: upstream.introspectionEndpoint, ...introspectionClient },
  });
  const fixture = await createOAuthFixture(gatehouse, upstream, providerId, { url: toolServer.url });
  return { ...fixture, toolServer };
}

/** Runs the browser flow for `login` and returns the new auth config id. */
export async function authorizeUser(gatehouse: Gatehouse, browser: Browser, providerId: string, login: string): Promise<string> {
  const setupSession = await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth', metadata: { login } });
  const waiting = gatehouse.waitForSetupSession([setupSession]);
  const { context } = await authorizeInBrowser(browser, setupSession.url, login);
  const completed = await waiting;
  await context.close();
  return completed.authConfig!.id;
}

/** A provider with no per-user auth whose tool server takes the operator's API key. */
export async function createApiKeyToolProvider(gatehouse: Gatehouse, providerId: string, apiKey: string) {
  const toolServer = await startToolServer({ name: providerId, auth: { type: 'api-key', header: 'x-api-key', validKeys: [apiKey] } });
  await gatehouse.providers.create({
    id: providerId,
    name: 'Search Co',
    authMethods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }],
    mcpServer: { url: toolServer.url },
  });
  const deployment = await gatehouse.providers.deployments.create({ providerId, credentials: { apiKey } });
  return { providerId, deploymentId: deployment.id, toolServer };
}

/** A provider with no auth at all. */
export async function createPublicToolProvider(gatehouse: Gatehouse, providerId: string, transport: 'streamable-http' | 'sse' = 'streamable-http') {
  const toolServer = await startToolServer({ name: providerId, auth: { type: 'none' }, transport });
  await gatehouse.providers.create({ id: providerId, name: 'Public Tools', authMethods: [], mcpServer: { url: toolServer.url, transport } });
  const deployment = await gatehouse.providers.deployments.create({ providerId });
  return { providerId, deploymentId: deployment.id, toolServer };
}
