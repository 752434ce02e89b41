/**
 * The provider resources of the SDK against the real server (embedded store): what the SDK sends is
 * what the server's strict schemas accept, and what it returns is the server's answer in camelCase.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessGatehouse, type InProcessGatehouse } from '../../../test/support/gatehouse.js';
import { BadRequestError, ConflictError, Gatehouse, GatehouseError, NotFoundError, type ProviderCreateParams } from '../src/index.js';
import { pasteApiKey } from './paste-api-key.js';

let server: InProcessGatehouse;
let gatehouse: Gatehouse;

beforeAll(async () => {
  server = await startInProcessGatehouse({ env: { GATEHOUSE_ALLOWED_REDIRECT_URLS: 'https://yourapp.com/' } });
  gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
});
afterAll(() => server?.close());

describe('providers', () => {
  it('creates a custom provider with every OAuth field the server knows, and returns it in camelCase', async () => {
    const provider = await gatehouse.providers.create({
      id: 'acme',
      name: 'Acme',
      description: 'Acme workspace',
      docsUrl: 'https://docs.acme.test/',
      authMethods: [
        {
          id: 'oauth',
          type: 'oauth2',
          name: 'Acme (user)',
          issuer: 'https://auth.acme.test',
          authorizationUrl: 'https://auth.acme.test/authorize',
          tokenUrl: 'https://auth.acme.test/token',
          revocationUrl: 'https://auth.acme.test/revoke',
          scopes: ['read', 'write'],
          scopeDescriptions: { read: 'Read your things' },
          scopeSeparator: ',',
          scopeParameter: 'user_scope',
          tokenEndpointAuthMethod: 'client_secret_post',
          authorizationParams: { access_type: 'offline', hostedDomain: 'acme.test' },
          accessTokenPath: 'authed_user.access_token',
          refreshWindowSeconds: 600,
        },
      ],
      mcpServer: { url: 'https://mcp.acme.test/mcp' },
    });
    expect(provider).toEqual({
      object: 'provider',
      id: 'acme',
      name: 'Acme',
      description: 'Acme workspace',
      docsUrl: 'https://docs.acme.test/',
      source: 'custom',
      authMethods: [
        {
          id: 'oauth',
          type: 'oauth2',
          name: 'Acme (user)',
          discovery: null,
          issuer: 'https://auth.acme.test',
          authorizationUrl: 'https://auth.acme.test/authorize',
          tokenUrl: 'https://auth.acme.test/token',
          revocationUrl: 'https://auth.acme.test/revoke',
          scopes: ['read', 'write'],
        },
      ],
      mcpServer: { url: 'https://mcp.acme.test/mcp', transport: 'streamable-http' },
    });
    await expect(gatehouse.providers.create({ id: 'acme', name: 'Again', authMethods: [] })).rejects.toBeInstanceOf(ConflictError);
  });

  it('creates an API-key provider and one without per-user auth (no auth methods)', async () => {
    const keyed = await gatehouse.providers.create({
      id: 'keyed',
      name: 'Keyed',
      authMethods: [{ id: 'api_key', type: 'api_key', label: 'API key', placeholder: 'sk-…', injection: { header: 'authorization', prefix: 'Bearer ' } }],
      mcpServer: { url: 'https://mcp.keyed.test/mcp', transport: 'sse' },
    });
    expect(keyed.authMethods).toEqual([{ id: 'api_key', type: 'api_key', name: null, label: 'API key', description: null }]);
    const open = await gatehouse.providers.create({ id: 'open', name: 'Open', authMethods: [] });
    expect(open.authMethods).toEqual([]);
  });

  it('is refused what the server schema does not allow, as the SDK types say (null for optional fields)', async () => {
    const withNull = {
      id: 'nulls',
      name: 'Nulls',
      authMethods: [{ id: 'oauth', type: 'oauth2', issuer: null, authorizationUrl: 'https://a.test/a', tokenUrl: 'https://a.test/t', scopes: [] }],
    } as unknown as ProviderCreateParams;
    await expect(gatehouse.providers.create(withNull)).rejects.toBeInstanceOf(BadRequestError);
  });

  it('gets, lists and deletes providers', async () => {
    await gatehouse.providers.create({ id: 'short-lived', name: 'Short', authMethods: [] });
    expect((await gatehouse.providers.get('slack')).authMethods[0]).toMatchObject({ tokenUrl: 'https://slack.com/api/oauth.v2.access' });
    const ids: string[] = [];
    for await (const provider of gatehouse.providers.list()) ids.push(provider.id);
    expect(ids).toEqual(expect.arrayContaining(['slack', 'github', 'google-calendar', 'exa', 'short-lived']));
    expect(await gatehouse.providers.delete('short-lived')).toEqual({ id: 'short-lived', deleted: true });
    await expect(gatehouse.providers.get('short-lived')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('URL-encodes ids and refuses an empty one', async () => {
    await expect(gatehouse.providers.get('a/b?c')).rejects.toBeInstanceOf(NotFoundError);
    expect(() => gatehouse.providers.get('')).toThrow(GatehouseError);
  });
});

describe('deployments', () => {
  it('creates, updates, gets, lists and deletes, keeping metadata keys as written', async () => {
    const deployment = await gatehouse.providers.deployments.create({
      providerId: 'slack',
      name: 'Slack (prod)',
      oauthClient: { clientId: 'cid', clientSecret: 'csecret' },
      metadata: { teamName: 'core', env_name: 'prod' },
    });
    expect(deployment).toMatchObject({
      object: 'provider_deployment',
      providerId: 'slack',
      oauthClient: { clientId: 'cid', hasClientSecret: true },
      callbackUrl: `${server.url}/oauth/callback/${deployment.id}`,
      metadata: { teamName: 'core', env_name: 'prod' },
    });
    expect(JSON.stringify(deployment)).not.toContain('csecret');

    const updated = await gatehouse.providers.deployments.update(deployment.id, { oauthClient: null, metadata: { some_key: 'v' } });
    expect(updated.oauthClient).toBeNull();
    expect(updated.metadata).toEqual({ some_key: 'v' });

    expect((await gatehouse.providers.deployments.get(deployment.id)).name).toBe('Slack (prod)');
    const listed = await gatehouse.providers.deployments.list({ providerId: 'slack' });
    expect(listed.data.map((item) => item.id)).toEqual([deployment.id]);
    expect(await gatehouse.providers.deployments.delete(deployment.id)).toEqual({ id: deployment.id, deleted: true });
  });
});

describe('setup sessions and auth configs', () => {
  let deploymentId: string;
  beforeAll(async () => {
    deploymentId = (await gatehouse.providers.deployments.create({ providerId: 'exa' })).id;
  });

  it('creates a setup session as in the seed, completes it on the hosted page, and lists it', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({
      providerId: 'exa',
      providerAuthMethodId: 'api_key',
      providerDeploymentId: deploymentId,
      redirectUrl: 'https://yourapp.com/oauth/callback',
      metadata: { user_id: 'u_1', userEmail: 'a@b.c' },
      expiresInSeconds: 600,
    });
    expect(setupSession).toMatchObject({
      object: 'provider_setup_session',
      providerId: 'exa',
      providerAuthMethodId: 'api_key',
      providerDeploymentId: deploymentId,
      status: 'pending',
      url: `${server.url}/setup/${setupSession.id}`,
      redirectUrl: 'https://yourapp.com/oauth/callback',
      metadata: { user_id: 'u_1', userEmail: 'a@b.c' },
      completedAt: null,
      authConfig: null,
      error: null,
    });
    const answer = await gatehouse.providers.setupSessions.wait({ ids: [setupSession.id], timeoutMs: 0 });
    expect(answer.data.map((item) => item.status)).toEqual(['pending']);

    await pasteApiKey(setupSession.url, 'exa-key-0123456789');
    const completed = await gatehouse.providers.setupSessions.get(setupSession.id);
    expect(completed.authConfig).toMatchObject({
      object: 'provider_auth_config',
      providerDeploymentId: deploymentId,
      status: 'active',
      accessTokenExpiresAt: null,
      metadata: { user_id: 'u_1', userEmail: 'a@b.c' },
    });
    const pending = await gatehouse.providers.setupSessions.list({ status: 'pending' });
    expect(pending.data.map((item) => item.id)).not.toContain(setupSession.id);
  });

  it('filters auth configs by metadata with keys kept as written, gets and deletes them', async () => {
    for (const userId of ['u_10', 'u_20']) {
      const setupSession = await gatehouse.providers.setupSessions.create({
        providerId: 'exa',
        providerAuthMethodId: 'api_key',
        providerDeploymentId: deploymentId,
        metadata: { userId, team_id: 'T' },
      });
      await pasteApiKey(setupSession.url, `exa-key-${userId}-0123456789`);
    }
    const page = await gatehouse.providers.authConfigs.list({ providerId: 'exa', metadata: { userId: 'u_20' } });
    expect(page.data).toHaveLength(1);
    expect(page.data[0]?.metadata).toEqual({ userId: 'u_20', team_id: 'T' });

    const authConfigId = page.data[0]!.id;
    expect((await gatehouse.providers.authConfigs.get(authConfigId)).status).toBe('active');
    await gatehouse.providers.authConfigs.delete(authConfigId);
    await expect(gatehouse.providers.authConfigs.get(authConfigId)).rejects.toBeInstanceOf(NotFoundError);
  });
});
