import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGatehouse, startFakeGatehouse, TEST_API_KEY } from '../../../test/fake-gatehouse.js';
import { ConflictError, Gatehouse, GatehouseError, NotFoundError } from '../../index.js';

let fake: FakeGatehouse;
let gatehouse: Gatehouse;

beforeEach(async () => {
  fake = await startFakeGatehouse();
  gatehouse = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl });
});
afterEach(() => fake.close());

describe('providers', () => {
  it('sends a custom provider in snake_case and returns it in camelCase', async () => {
    const provider = await gatehouse.providers.create({
      id: 'acme',
      name: 'Acme',
      authMethods: [
        {
          id: 'oauth',
          type: 'oauth2',
          issuer: 'https://auth.acme.test',
          authorizationUrl: 'https://auth.acme.test/authorize',
          tokenUrl: 'https://auth.acme.test/token',
          revocationUrl: 'https://auth.acme.test/revoke',
          scopes: ['read', 'write'],
        },
      ],
      mcpServer: { url: 'https://mcp.acme.test/mcp' },
    });
    const [request] = fake.requestsTo('/v1/providers', 'POST');
    expect(request?.body).toEqual({
      id: 'acme',
      name: 'Acme',
      auth_methods: [
        {
          id: 'oauth',
          type: 'oauth2',
          issuer: 'https://auth.acme.test',
          authorization_url: 'https://auth.acme.test/authorize',
          token_url: 'https://auth.acme.test/token',
          revocation_url: 'https://auth.acme.test/revoke',
          scopes: ['read', 'write'],
        },
      ],
      mcp_server: { url: 'https://mcp.acme.test/mcp' },
    });
    expect(provider).toEqual({
      object: 'provider',
      id: 'acme',
      name: 'Acme',
      source: 'custom',
      authMethods: [
        {
          id: 'oauth',
          type: 'oauth2',
          issuer: 'https://auth.acme.test',
          authorizationUrl: 'https://auth.acme.test/authorize',
          tokenUrl: 'https://auth.acme.test/token',
          revocationUrl: 'https://auth.acme.test/revoke',
          scopes: ['read', 'write'],
        },
      ],
      mcpServer: { url: 'https://mcp.acme.test/mcp' },
    });
    await expect(gatehouse.providers.create({ id: 'acme', name: 'Again', authMethods: [] })).rejects.toBeInstanceOf(ConflictError);
  });

  it('gets, lists and deletes providers', async () => {
    await gatehouse.providers.create({ id: 'acme', name: 'Acme', authMethods: [{ id: 'none', type: 'none' }] });
    expect((await gatehouse.providers.get('slack')).authMethods[0]).toMatchObject({ tokenUrl: 'https://slack.com/api/oauth.v2.access' });
    const ids: string[] = [];
    for await (const provider of gatehouse.providers.list()) ids.push(provider.id);
    expect(ids.sort()).toEqual(['acme', 'slack']);
    expect(await gatehouse.providers.delete('acme')).toEqual({ id: 'acme', deleted: true });
    await expect(gatehouse.providers.get('acme')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('URL-encodes ids and refuses an empty one', async () => {
    await expect(gatehouse.providers.get('a/b?c')).rejects.toBeInstanceOf(NotFoundError);
    expect(fake.requests[0]?.path).toBe('/v1/providers/a%2Fb%3Fc');
    expect(() => gatehouse.providers.get('')).toThrow(GatehouseError);
  });
});

describe('deployments', () => {
  it('creates, updates, gets, lists and deletes with snake_case on the wire and metadata keys kept', async () => {
    const deployment = await gatehouse.providers.deployments.create({
      providerId: 'slack',
      name: 'Slack (prod)',
      oauthClient: { clientId: 'cid', clientSecret: 'csecret' },
      metadata: { teamName: 'core', env_name: 'prod' },
    });
    expect(fake.requests[0]?.body).toEqual({
      provider_id: 'slack',
      name: 'Slack (prod)',
      oauth_client: { client_id: 'cid', client_secret: 'csecret' },
      metadata: { teamName: 'core', env_name: 'prod' },
    });
    expect(deployment).toMatchObject({
      object: 'provider_deployment',
      providerId: 'slack',
      oauthClient: { clientId: 'cid', hasClientSecret: true },
      callbackUrl: `${fake.baseUrl}/oauth/callback/${deployment.id}`,
      metadata: { teamName: 'core', env_name: 'prod' },
    });
    expect(deployment.createdAt).toEqual(expect.any(String));

    const updated = await gatehouse.providers.deployments.update(deployment.id, { oauthClient: null, metadata: { some_key: 'v' } });
    expect(fake.requests[1]).toMatchObject({ method: 'PATCH', body: { oauth_client: null, metadata: { some_key: 'v' } } });
    expect(updated.oauthClient).toBeNull();
    expect(updated.metadata).toEqual({ some_key: 'v' });

    expect((await gatehouse.providers.deployments.get(deployment.id)).name).toBe('Slack (prod)');
    const listed = await gatehouse.providers.deployments.list({ providerId: 'slack' });
    expect(fake.requests.at(-1)?.query.get('provider_id')).toBe('slack');
    expect(listed.data.map((item) => item.id)).toEqual([deployment.id]);
    expect(await gatehouse.providers.deployments.delete(deployment.id)).toEqual({ id: deployment.id, deleted: true });
  });
});

describe('setup sessions', () => {
  it('creates a setup session as in the seed and returns it in camelCase', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({
      providerId: 'slack',
      providerAuthMethodId: 'oauth',
      providerDeploymentId: 'pde_123',
      redirectUrl: 'https://yourapp.com/oauth/callback',
      metadata: { user_id: 'u_1', userEmail: 'a@b.c' },
      expiresInSeconds: 600,
    });
    expect(fake.requests[0]?.body).toEqual({
      provider_id: 'slack',
      provider_auth_method_id: 'oauth',
      provider_deployment_id: 'pde_123',
      redirect_url: 'https://yourapp.com/oauth/callback',
      metadata: { user_id: 'u_1', userEmail: 'a@b.c' },
      expires_in_seconds: 600,
    });
    expect(setupSession).toMatchObject({
      object: 'provider_setup_session',
      providerId: 'slack',
      providerAuthMethodId: 'oauth',
      providerDeploymentId: 'pde_123',
      status: 'pending',
      redirectUrl: 'https://yourapp.com/oauth/callback',
      metadata: { user_id: 'u_1', userEmail: 'a@b.c' },
      completedAt: null,
      authConfig: null,
      error: null,
    });
    expect(setupSession.url).toContain(setupSession.id);

    fake.completeSetupSession(setupSession.id);
    const completed = await gatehouse.providers.setupSessions.get(setupSession.id);
    expect(completed.authConfig).toMatchObject({
      object: 'provider_auth_config',
      providerDeploymentId: 'pde_123',
      accessTokenExpiresAt: null,
      metadata: { user_id: 'u_1', userEmail: 'a@b.c' },
    });

    const pending = await gatehouse.providers.setupSessions.list({ status: 'pending' });
    expect(pending.data).toEqual([]);
    expect(fake.requests.at(-1)?.query.get('status')).toBe('pending');
  });

  it('long-polls once with wait()', async () => {
    const setupSession = fake.addSetupSession();
    const answer = await gatehouse.providers.setupSessions.wait({ ids: [setupSession.id as string], timeoutMs: 20 });
    expect(answer.data.map((item) => item.status)).toEqual(['pending']);
    expect(fake.requests[0]?.query.get('ids')).toBe(setupSession.id);
    expect(fake.requests[0]?.query.get('timeout_ms')).toBe('20');
  });
});

describe('auth configs', () => {
  it('filters by metadata with metadata[key]=value, keys kept as written', async () => {
    fake.addAuthConfig({ metadata: { userId: 'u_1' } });
    const wanted = fake.addAuthConfig({ metadata: { userId: 'u_2', team_id: 'T' } });
    const page = await gatehouse.providers.authConfigs.list({ providerId: 'slack', metadata: { userId: 'u_2' } });
    expect(page.data.map((item) => item.id)).toEqual([wanted.id]);
    expect(page.data[0]?.metadata).toEqual({ userId: 'u_2', team_id: 'T' });
    const query = fake.requests[0]?.query;
    expect(query?.get('provider_id')).toBe('slack');
    expect(query?.get('metadata[userId]')).toBe('u_2');
  });

  it('gets and deletes', async () => {
    const authConfig = fake.addAuthConfig({ status: 'reauthorization_required' });
    expect((await gatehouse.providers.authConfigs.get(authConfig.id as string)).status).toBe('reauthorization_required');
    await gatehouse.providers.authConfigs.delete(authConfig.id as string);
    expect(fake.requests.at(-1)?.method).toBe('DELETE');
    await expect(gatehouse.providers.authConfigs.get(authConfig.id as string)).rejects.toBeInstanceOf(NotFoundError);
  });
});
