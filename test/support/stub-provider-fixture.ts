/**
 * A Gatehouse provider backed by ./provider-token-stub.ts (Slack or GitHub response forms) with a
 * real MCP tool server that checks the user's token at the stub, and setups run over plain HTTP.
 */
import { randomBytes } from 'node:crypto';
import type { Gatehouse } from '@gatehouse/sdk';
import { startToolServer, type ToolServer } from './mcp-tool-server.js';
import type { ProviderTokenStub } from './provider-token-stub.js';
import { deliverCallback, startAttemptOverHttp } from './setup-flow.js';

export interface StubProvider {
  providerId: string;
  deploymentId: string;
  toolServer: ToolServer;
}

/**
 * Creates a provider shaped like the real Slack (nested user token, comma-separated `user_scope`,
 * HTTP Basic) or GitHub (`client_secret_post`) definition of the catalog, pointed at the stub.
 * `revocation` adds the stub's RFC 7009 endpoint (neither real provider has one).
 */
export async function deployStubProvider(
  gatehouse: Gatehouse,
  stub: ProviderTokenStub,
  providerId: string,
  options: { revocation?: boolean } = {},
): Promise<StubProvider> {
  const toolServer = await startToolServer({
    name: providerId,
    auth: { type: 'bearer-introspection', introspectionUrl: stub.introspectionEndpoint, clientId: 'tools', clientSecret: 'unused' },
  });
  const common = {
    id: 'oauth',
    type: 'oauth2' as const,
    authorizationUrl: stub.authorizationEndpoint,
    tokenUrl: stub.tokenEndpoint,
    ...(options.revocation ? { revocationUrl: stub.revocationEndpoint } : {}),
  };
  // The SDK's params type lists the common fields only; the API takes every field of the catalog schema.
  type AuthMethodParams = Parameters<Gatehouse['providers']['create']>[0]['authMethods'][number];
  const method =
    stub.style === 'slack'
      ? {
            ...common,
            scopes: ['channels:read', 'chat:write'],
            scopeSeparator: ',',
            scopeParameter: 'user_scope',
            tokenEndpointAuthMethod: 'client_secret_basic',
            accessTokenPath: 'authed_user.access_token',
          }
        : { ...common, scopes: ['repo'], tokenEndpointAuthMethod: 'client_secret_post' };
  await gatehouse.providers.create({
    id: providerId,
    name: stub.style === 'slack' ? 'Slack (stub)' : 'GitHub (stub)',
    authMethods: [method as AuthMethodParams],
    mcpServer: { url: toolServer.url },
  });
  const clientId = `client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(16).toString('hex');
  stub.addClient(clientId, clientSecret);
  const deployment = await gatehouse.providers.deployments.create({ providerId, oauthClient: { clientId, clientSecret } });
  return { providerId, deploymentId: deployment.id, toolServer };
}

/**
 * Runs a setup for `login` over HTTP (the stub approves at once) and returns the auth config id.
 * With `providerAuthConfigId`, re-authorizes that auth config in place.
 */
export async function authorizeOverHttp(
  gatehouse: Gatehouse,
  stub: ProviderTokenStub,
  providerId: string,
  login: string,
  providerAuthConfigId?: string,
): Promise<string> {
  const setupSession = await gatehouse.providers.setupSessions.create({
    providerId,
    providerAuthMethodId: 'oauth',
    metadata: { login },
    ...(providerAuthConfigId ? { providerAuthConfigId } : {}),
  });
  stub.approveAs(login);
  const attempt = await startAttemptOverHttp(setupSession.url);
  const approved = await fetch(attempt.authorizationUrl, { redirect: 'manual' });
  const callback = approved.headers.get('location');
  if (approved.status !== 302 || !callback) throw new Error(`the stub did not redirect (HTTP ${approved.status})`);
  await deliverCallback(callback, attempt.cookieHeader);
  const completed = await gatehouse.providers.setupSessions.get(setupSession.id);
  if (completed.status !== 'completed' || !completed.authConfig) throw new Error(`setup ended ${completed.status}: ${JSON.stringify(completed.error ?? null)}`);
  return completed.authConfig.id;
}
