/**
 * The /v1 API through the real SDK against a real server (embedded store): providers, deployments,
 * setup sessions and auth configs, and the errors a caller sees when something is wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, BadRequestError, ConflictError, Gatehouse, NotFoundError } from '@gatehouse/sdk';
import { startInProcessGatehouse, type InProcessGatehouse } from '../../../test/support/gatehouse.js';

describe('REST API', () => {
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    server = await startInProcessGatehouse({ env: { GATEHOUSE_ALLOWED_REDIRECT_URLS: 'https://app.example.com/' } });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
  });
  afterAll(() => server?.close());

  describe('authentication', () => {
    it('refuses a missing or wrong API key with 401 and says what to send', async () => {
      const missing = await fetch(`${server.url}/v1/providers`);
      expect(missing.status).toBe(401);
      expect((await missing.json()).error.message).toMatch(/Authorization: Bearer/);
      const wrong = new Gatehouse({ apiKey: 'ghk_wrong', baseUrl: server.url, maxRetries: 0 });
      await expect(wrong.providers.list()).rejects.toBeInstanceOf(AuthenticationError);
    });

    it('answers every error in one shape with a request id', async () => {
      const response = await fetch(`${server.url}/v1/providers/deployments/pde_missing`, { headers: { authorization: `Bearer ${server.apiKey}` } });
      expect(response.status).toBe(404);
      const body = await response.json();
      expect(body).toEqual({ error: { code: 'not_found', message: expect.stringContaining('pde_missing'), request_id: expect.stringMatching(/^req_/) } });
      expect(response.headers.get('x-request-id')).toBe(body.error.request_id);
    });
  });

  describe('NUL characters (PostgreSQL text cannot hold them)', () => {
    const authorized = { authorization: '' };
    beforeAll(() => {
      authorized.authorization = `Bearer ${server.apiKey}`;
    });

    it('answers a NUL in any path or query with 400, never a database error', async () => {
      const urls = [
        '/v1/providers/%00',
        '/v1/providers/deployments/pde_%00',
        '/v1/providers/setup-sessions/%00',
        '/v1/providers/setup-sessions/wait?ids=pas_%00',
        '/v1/providers/auth-configs/%00/events',
        '/v1/providers/auth-configs?provider_id=%00',
        '/v1/sessions/%00/tools',
        '/v1/webhooks/%00',
        '/setup/%00',
        '/oauth/callback/%00?state=x&code=y',
      ];
      for (const url of urls) {
        const response = await fetch(`${server.url}${url}`, { headers: authorized });
        expect({ url, status: response.status }).toEqual({ url, status: 400 });
        expect((await response.json()).error.message).toMatch(/NUL character/);
      }
      expect(server.logs()).not.toContain('unhandled error');
    });

    it('refuses a NUL inside a JSON body with 400 and creates nothing', async () => {
      const before = (await gatehouse.providers.list()).data.length;
      for (const body of [
        { id: 'nul-name', name: 'a\u0000b', auth_methods: [], mcp_server: { url: 'https://tools.example.com/mcp' } },
        { id: 'nul-key', name: 'Nul', auth_methods: [], mcp_server: { url: 'https://tools.example.com/mcp' }, metadata: { 'k\u0000': 'v' } },
      ]) {
        const response = await fetch(`${server.url}/v1/providers`, {
          method: 'POST',
          headers: { ...authorized, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.status).toBe(400);
        expect((await response.json()).error.message).toMatch(/NUL character/);
      }
      expect((await gatehouse.providers.list()).data.length).toBe(before);
      expect(server.logs()).not.toContain('unhandled error');
    });
  });

  describe('providers', () => {
    it('lists the built-in catalog with real endpoints', async () => {
      const { data } = await gatehouse.providers.list();
      const ids = data.map((provider) => provider.id);
      expect(ids).toEqual(expect.arrayContaining(['slack', 'github', 'google-calendar', 'exa']));
      const github = await gatehouse.providers.get('github');
      expect(github.source).toBe('catalog');
      expect(github.authMethods[0]).toMatchObject({ id: 'oauth', type: 'oauth2', authorizationUrl: 'https://github.com/login/oauth/authorize' });
    });

    it('creates, reads and deletes a custom provider, and refuses a clash or a bad URL', async () => {
      const created = await gatehouse.providers.create({
        id: 'widgets',
        name: 'Widgets',
        authMethods: [{ id: 'oauth', type: 'oauth2', authorizationUrl: 'https://id.widgets.test/authorize', tokenUrl: 'https://id.widgets.test/token', scopes: ['read'] }],
        mcpServer: { url: 'https://mcp.widgets.test/mcp' },
      });
      expect(created).toMatchObject({ id: 'widgets', source: 'custom', mcpServer: { url: 'https://mcp.widgets.test/mcp' } });
      expect((await gatehouse.providers.get('widgets')).name).toBe('Widgets');

      await expect(gatehouse.providers.create({ id: 'widgets', name: 'Again', authMethods: [] })).rejects.toBeInstanceOf(ConflictError);
      await expect(gatehouse.providers.create({ id: 'github', name: 'Mine', authMethods: [] })).rejects.toBeInstanceOf(ConflictError);
      const badUrl = await gatehouse.providers
        .create({ id: 'bad', name: 'Bad', authMethods: [{ id: 'oauth', type: 'oauth2', authorizationUrl: 'javascript:alert(1)', tokenUrl: 'https://x.test/t', scopes: [] }] })
        .catch((error: unknown) => error);
      expect(badUrl).toBeInstanceOf(BadRequestError);
      expect((badUrl as BadRequestError).details?.[0]?.path).toMatch(/auth_methods\.0\.authorization_url/);

      await gatehouse.providers.delete('widgets');
      await expect(gatehouse.providers.get('widgets')).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('deployments', () => {
    it('keeps the client secret write-only and gives the callback URL to register', async () => {
      const deployment = await gatehouse.providers.deployments.create({
        providerId: 'slack',
        name: 'Slack (test)',
        oauthClient: { clientId: 'slack-client', clientSecret: 'canary-client-secret' },
        metadata: { team: 'core' },
      });
      expect(deployment.id).toMatch(/^pde_[0-9A-Za-z]{27}$/);
      expect(deployment.callbackUrl).toBe(`${server.url}/oauth/callback/${deployment.id}`);
      expect(deployment.oauthClient).toEqual({ clientId: 'slack-client', hasClientSecret: true });
      expect(deployment.metadata).toEqual({ team: 'core' });

      const updated = await gatehouse.providers.deployments.update(deployment.id, { name: 'Slack (renamed)', oauthClient: { clientId: 'slack-client-2' } });
      expect(updated.name).toBe('Slack (renamed)');
      expect(updated.oauthClient).toEqual({ clientId: 'slack-client-2', hasClientSecret: true });

      const listed = await gatehouse.providers.deployments.list({ providerId: 'slack' });
      expect(listed.data.map((item) => item.id)).toContain(deployment.id);
      const raw = await (await fetch(`${server.url}/v1/providers/deployments/${deployment.id}`, { headers: { authorization: `Bearer ${server.apiKey}` } })).text();
      expect(raw).not.toContain('canary-client-secret');
      expect(server.logs()).not.toContain('canary-client-secret');

      await gatehouse.providers.deployments.delete(deployment.id);
      await expect(gatehouse.providers.deployments.get(deployment.id)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses an unknown provider and unknown fields with a 400 naming the field', async () => {
      const unknownProvider = await gatehouse.providers.deployments.create({ providerId: 'nope' }).catch((error: unknown) => error);
      expect(unknownProvider).toBeInstanceOf(BadRequestError);
      expect((unknownProvider as BadRequestError).details?.[0]?.path).toBe('provider_id');

      const response = await fetch(`${server.url}/v1/providers/deployments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ provider_id: 'github', colour: 'blue' }),
      });
      expect(response.status).toBe(400);
      expect((await response.json()).error.message).toMatch(/unknown field.*colour/);

      // A custom provider's nested fields are named as the caller wrote them, in snake_case.
      const nested = await fetch(`${server.url}/v1/providers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'nested', name: 'Nested', auth_methods: [], mcp_server: { url: 'https://tools.example.com/mcp', run_as_root: true } }),
      });
      expect(nested.status).toBe(400);
      const body = (await nested.json()) as { error: { message: string; details: Array<{ path: string; message: string }> } };
      expect(body.error.details[0]).toEqual({ path: 'mcp_server', message: 'unknown field(s): run_as_root' });
      expect(body.error.message).toContain('mcp_server: unknown field(s): run_as_root');
    });
  });

  describe('setup sessions', () => {
    it('picks the only deployment of a provider, and asks for one when there are several', async () => {
      const only = await gatehouse.providers.deployments.create({ providerId: 'exa' });
      const session = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
      expect(session.providerDeploymentId).toBe(only.id);
      expect(new Date(session.expiresAt).getTime() - new Date(session.createdAt).getTime()).toBe(30 * 60_000);

      await gatehouse.providers.deployments.create({ providerId: 'exa', name: 'second' });
      const ambiguous = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' }).catch((error: unknown) => error);
      expect(ambiguous).toBeInstanceOf(BadRequestError);
      expect((ambiguous as BadRequestError).message).toMatch(/several deployments.*provider_deployment_id/);
    });

    it('refuses an auth method the provider does not have, naming the ones it has', async () => {
      const error = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'oauth' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).message).toMatch(/no auth method "oauth".*"api_key"/);
    });

    it('refuses an OAuth setup session while the deployment has no OAuth client', async () => {
      await gatehouse.providers.deployments.create({ providerId: 'google-calendar' });
      const error = await gatehouse.providers.setupSessions.create({ providerId: 'google-calendar', providerAuthMethodId: 'oauth' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).message).toMatch(/no OAuth client/);
    });

    it('lists sessions newest first with a working cursor', async () => {
      const deployment = await gatehouse.providers.deployments.create({ providerId: 'github', oauthClient: { clientId: 'gh', clientSecret: 'x' } });
      const created = [];
      for (let index = 0; index < 3; index++) {
        created.push(await gatehouse.providers.setupSessions.create({ providerId: 'github', providerAuthMethodId: 'oauth', providerDeploymentId: deployment.id }));
      }
      const first = await gatehouse.providers.setupSessions.list({ providerId: 'github', limit: 2 });
      expect(first.data.map((session) => session.id)).toEqual([created[2]!.id, created[1]!.id]);
      const seen: string[] = [];
      for await (const session of gatehouse.providers.setupSessions.list({ providerId: 'github', limit: 2 })) seen.push(session.id);
      expect(seen).toEqual(created.map((session) => session.id).reverse());
    });

    it('answers a wait for an unknown session with 404 instead of hanging', async () => {
      await expect(gatehouse.waitForSetupSession(['pas_doesnotexist'])).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});
