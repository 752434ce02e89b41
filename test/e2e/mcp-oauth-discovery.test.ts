/**
 * A provider whose remote MCP server runs its own OAuth (MCP authorization spec 2025-06-18 /
 * 2025-11-25), added with nothing but its MCP URL: Gatehouse finds the authorization server through
 * the server's RFC 9728 metadata, registers a client by RFC 7591 once per deployment, and names the
 * MCP server as the RFC 8707 `resource` on the authorization, code and refresh requests, so the
 * tool server (which accepts only JWTs whose `aud` is its own URL) takes the user's token.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, Gatehouse } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import {
  createTestDatabase,
  FakeClock,
  spawnGatehouse,
  startInProcessGatehouse,
  TEST_DATABASE_URL,
  testApiKey,
  testEncryptionKeys,
  type GatehouseProcess,
  type InProcessGatehouse,
} from '../support/gatehouse.js';
import { startToolServer, type ProtectedResourceOptions, type ToolServer } from '../support/mcp-tool-server.js';
import { authorizeInBrowser } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const MCP_SCOPE = 'mcp:tools';

describe('OAuth discovered from a remote MCP server', () => {
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let browser: Browser;
  const clock = new FakeClock();
  const toolServers: ToolServer[] = [];
  const extraUpstreams: Upstream[] = [];

  /** A tool server that takes only the upstream's JWTs for itself and publishes its metadata as told. */
  async function mcpServerOf(authorizationServer: Upstream, metadata: Partial<ProtectedResourceOptions> = {}): Promise<ToolServer> {
    const toolServer = await startToolServer({
      name: 'remote-mcp',
      auth: { type: 'bearer-jwt', issuer: authorizationServer.issuer, jwksUri: authorizationServer.jwksUri },
      protectedResource: { authorizationServers: [authorizationServer.issuer], scopesSupported: [MCP_SCOPE], ...metadata },
    });
    toolServers.push(toolServer);
    return toolServer;
  }

  let providerCount = 0;
  /** A custom provider with only its MCP URL, and a deployment without an OAuth client. */
  async function discoveredProvider(client: Gatehouse, mcpUrl: string) {
    const providerId = `remote-${++providerCount}`;
    await client.providers.create({
      id: providerId,
      name: 'Remote MCP',
      authMethods: [{ id: 'oauth', type: 'oauth2', discovery: 'mcp' }],
      mcpServer: { url: mcpUrl },
    });
    const deployment = await client.providers.deployments.create({ providerId });
    return { providerId, deployment };
  }

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [], registration: true, resourceIndicators: { scope: MCP_SCOPE } });
    server = await startInProcessGatehouse({ clock });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([...toolServers.map((toolServer) => toolServer.close()), ...extraUpstreams.map((extra) => extra.close()), upstream?.close()]);
  });

  it('registers one client, authorizes with resource, and calls the MCP server with the user\'s token (refresh included)', async () => {
    const toolServer = await mcpServerOf(upstream);
    const { providerId, deployment } = await discoveredProvider(gatehouse, toolServer.mcpUrl);
    expect(deployment.oauthClient).toBeNull();
    const provider = await gatehouse.providers.get(providerId);
    expect(provider.authMethods[0]).toMatchObject({ discovery: 'mcp', authorizationUrl: null, tokenUrl: null });

    // Two setup sessions at once: one registration between them, stored on the deployment.
    const [setupSession, second] = await Promise.all([
      gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth', metadata: { userId: 'alice' } }),
      gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' }),
    ]);
    expect(second!.status).toBe('pending');
    expect(upstream.registrations()).toBe(1);
    const registered = await gatehouse.providers.deployments.get(deployment.id);
    expect(registered.oauthClient).toEqual({ clientId: expect.any(String), hasClientSecret: true });
    await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' });
    expect(upstream.registrations()).toBe(1);

    const waiting = gatehouse.waitForSetupSession([setupSession!]);
    const { context } = await authorizeInBrowser(browser, setupSession!.url, 'alice');
    const completed = await waiting;
    await context.close();
    expect(completed.status).toBe('completed');
    expect(completed.authConfig?.status).toBe('active');

    const authorizationRequests = upstream.authorizationRequests();
    expect(authorizationRequests.at(-1)).toEqual({ clientId: registered.oauthClient!.clientId, scope: MCP_SCOPE, resource: toolServer.mcpUrl });
    const codeExchanges = upstream.tokenRequests().filter((request) => request.grantType === 'authorization_code');
    expect(codeExchanges).toEqual([expect.objectContaining({ clientId: registered.oauthClient!.clientId, resource: toolServer.mcpUrl })]);

    const session = await gatehouse.sessions.create({
      providers: [{ providerDeploymentId: deployment.id, providerAuthConfigId: completed.authConfig!.id }],
    });
    const { tools } = await gatehouse.sessions.tools.list(session.id);
    const whoami = tools.find((tool) => tool.originalName === 'whoami')!;
    const first = await gatehouse.sessions.toolCalls.create(session.id, { name: whoami.name, arguments: {} });
    expect(first.status).toBe('succeeded');
    expect(first.content).toEqual([{ type: 'text', text: 'alice' }]);

    // Past the access token's lifetime: the refresh names the resource too, and its JWT is taken.
    clock.advance(2 * 3600_000);
    const afterRefresh = await gatehouse.sessions.toolCalls.create(session.id, { name: whoami.name, arguments: {} });
    expect(afterRefresh.status).toBe('succeeded');
    expect(afterRefresh.content).toEqual([{ type: 'text', text: 'alice' }]);
    const refreshes = upstream.tokenRequests().filter((request) => request.grantType === 'refresh_token');
    expect(refreshes).toEqual([expect.objectContaining({ resource: toolServer.mcpUrl })]);
    await gatehouse.sessions.close(session.id);

    // The registered client's secret never leaves Gatehouse: not in an API answer, not in a log line.
    const secret = upstream.registeredClients().find((client) => client.clientId === registered.oauthClient!.clientId)?.clientSecret;
    expect(secret).toEqual(expect.any(String));
    const answers = JSON.stringify([registered, await gatehouse.providers.deployments.list(), completed, first, afterRefresh]);
    expect(answers).not.toContain(secret);
    expect(server.logs()).toContain(registered.oauthClient!.clientId);
    expect(server.logs()).not.toContain(secret);
  });

  it('registers a public client when the authorization server takes no client secrets, and authorizes with PKCE alone', async () => {
    const publicOnly = await startUpstream({ clients: [], registration: true, resourceIndicators: { scope: MCP_SCOPE }, clientAuthMethods: ['none'] });
    extraUpstreams.push(publicOnly);
    const toolServer = await mcpServerOf(publicOnly);
    const { providerId, deployment } = await discoveredProvider(gatehouse, toolServer.mcpUrl);
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' });
    expect(publicOnly.registrations()).toBe(1);
    const registered = await gatehouse.providers.deployments.get(deployment.id);
    expect(registered.oauthClient).toEqual({ clientId: expect.any(String), hasClientSecret: false });

    const waiting = gatehouse.waitForSetupSession([setupSession]);
    const { context } = await authorizeInBrowser(browser, setupSession.url, 'grace');
    const completed = await waiting;
    await context.close();
    expect(completed.authConfig?.status).toBe('active');
    expect(publicOnly.tokenRequests().filter((request) => request.grantType === 'authorization_code')).toEqual([
      expect.objectContaining({ clientId: registered.oauthClient!.clientId, resource: toolServer.mcpUrl }),
    ]);

    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: deployment.id, providerAuthConfigId: completed.authConfig!.id }] });
    const whoami = (await gatehouse.sessions.tools.list(session.id)).tools.find((tool) => tool.originalName === 'whoami')!;
    const result = await gatehouse.sessions.toolCalls.create(session.id, { name: whoami.name, arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'grace' }]);
    await gatehouse.sessions.close(session.id);
  });

  it('finds the metadata through the resource_metadata of the MCP server\'s 401 challenge', async () => {
    const toolServer = await mcpServerOf(upstream, { servedAt: 'challenge' });
    const { providerId, deployment } = await discoveredProvider(gatehouse, toolServer.mcpUrl);
    const before = upstream.registrations();
    await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' });
    expect(toolServer.metadataRequests()).toBe(1);
    expect(upstream.registrations()).toBe(before + 1);
    expect((await gatehouse.providers.deployments.get(deployment.id)).oauthClient?.hasClientSecret).toBe(true);
  });

  it('falls back to the origin\'s well-known metadata, which may name the whole host as the resource', async () => {
    const toolServer = await mcpServerOf(upstream, { servedAt: 'root', resource: (origin) => origin });
    const { providerId, deployment } = await discoveredProvider(gatehouse, toolServer.mcpUrl);
    const before = upstream.registrations();
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' });
    expect(setupSession.status).toBe('pending');
    // The hosted page names what the MCP server asks for.
    expect(await (await fetch(setupSession.url)).text()).toContain(MCP_SCOPE);
    expect(toolServer.metadataRequests()).toBe(1);
    expect(upstream.registrations()).toBe(before + 1);
    expect((await gatehouse.providers.deployments.get(deployment.id)).oauthClient?.hasClientSecret).toBe(true);
  });

  it('refuses metadata whose resource is another server, registering nothing', async () => {
    const toolServer = await mcpServerOf(upstream, { resource: 'http://127.0.0.1:1/elsewhere' });
    const { providerId, deployment } = await discoveredProvider(gatehouse, toolServer.mcpUrl);
    const before = upstream.registrations();
    const error = await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/is for "http:\/\/127\.0\.0\.1:1\/elsewhere", not for the MCP server .*refused/);
    expect((error as Error).message).toMatch(/set oauth_client on the deployment/);
    expect(upstream.registrations()).toBe(before);
    expect((await gatehouse.providers.deployments.get(deployment.id)).oauthClient).toBeNull();
  });

  it('tells the operator to configure oauth_client when the authorization server has no registration endpoint', async () => {
    const closed = await startUpstream({ clients: [], resourceIndicators: { scope: MCP_SCOPE } });
    extraUpstreams.push(closed);
    const toolServer = await mcpServerOf(closed);
    const { providerId } = await discoveredProvider(gatehouse, toolServer.mcpUrl);
    const error = await gatehouse.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/offers no dynamic client registration \(RFC 7591\).*set oauth_client on the deployment/);
  });

  it('refuses an authorization server on a private address when the outbound guard is on', async () => {
    const toolServer = await mcpServerOf(upstream);
    const guarded = await startInProcessGatehouse({
      env: { GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'false', GATEHOUSE_OUTBOUND_ALLOWLIST: `127.0.0.1:${new URL(toolServer.mcpUrl).port}` },
    });
    try {
      const client = new Gatehouse({ apiKey: guarded.apiKey, baseUrl: guarded.url });
      const { providerId } = await discoveredProvider(client, toolServer.mcpUrl);
      const before = upstream.registrations();
      const error = await client.providers.setupSessions.create({ providerId, providerAuthMethodId: 'oauth' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as Error).message).toMatch(new RegExp(`authorization server ${upstream.issuer.replace(/[.]/g, '\\.')}.*refused: Outbound request to 127\\.0\\.0\\.1 refused`));
      // The metadata came from the allow-listed MCP server; nothing reached the private authorization server.
      expect(toolServer.metadataRequests()).toBe(1);
      expect(upstream.registrations()).toBe(before);
    } finally {
      await guarded.close();
    }
  });

  it('refuses discovery "mcp" without a remote MCP server, and configured endpoints next to it', async () => {
    const withoutServer = await gatehouse.providers
      .create({ id: 'remote-none', name: 'X', authMethods: [{ id: 'oauth', type: 'oauth2', discovery: 'mcp' }] })
      .catch((caught: unknown) => caught);
    expect(withoutServer).toBeInstanceOf(BadRequestError);
    expect((withoutServer as Error).message).toMatch(/remote mcpServer/);
    const withEndpoint = await gatehouse.providers
      .create({
        id: 'remote-mixed',
        name: 'X',
        authMethods: [{ id: 'oauth', type: 'oauth2', discovery: 'mcp', tokenUrl: 'https://id.example.com/token' }],
        mcpServer: { url: 'https://mcp.example.com/mcp' },
      })
      .catch((caught: unknown) => caught);
    expect(withEndpoint).toBeInstanceOf(BadRequestError);
    const withoutEndpoints = await gatehouse.providers
      .create({ id: 'remote-bare', name: 'X', authMethods: [{ id: 'oauth', type: 'oauth2' }], mcpServer: { url: 'https://mcp.example.com/mcp' } })
      .catch((caught: unknown) => caught);
    expect(withoutEndpoints).toBeInstanceOf(BadRequestError);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('MCP OAuth client registration across two processes on one PostgreSQL', () => {
  let upstream: Upstream;
  let toolServer: ToolServer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let processes: GatehouseProcess[] = [];
  let apiKey: string;

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [], registration: true, resourceIndicators: { scope: MCP_SCOPE } });
    toolServer = await startToolServer({
      name: 'remote-mcp',
      auth: { type: 'bearer-jwt', issuer: upstream.issuer, jwksUri: upstream.jwksUri },
      protectedResource: { authorizationServers: [upstream.issuer], scopesSupported: [MCP_SCOPE] },
    });
    database = await createTestDatabase();
    apiKey = testApiKey();
    const env = {
      DATABASE_URL: database.url,
      GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
      GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
    };
    processes = await Promise.all([spawnGatehouse({ env }), spawnGatehouse({ env })]);
  });

  afterAll(async () => {
    await Promise.all(processes.map((gatehouseProcess) => gatehouseProcess.stop()));
    await database?.drop();
    await Promise.all([toolServer?.close(), upstream?.close()]);
  });

  it('registers exactly one client when setup sessions of a new deployment start on both processes at once', async () => {
    const [first, second] = processes.map((gatehouseProcess) => new Gatehouse({ apiKey, baseUrl: gatehouseProcess.url }));
    await first!.providers.create({
      id: 'remote-pg',
      name: 'Remote MCP',
      authMethods: [{ id: 'oauth', type: 'oauth2', discovery: 'mcp' }],
      mcpServer: { url: toolServer.mcpUrl },
    });
    const deployment = await first!.providers.deployments.create({ providerId: 'remote-pg' });
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        (index % 2 === 0 ? first! : second!).providers.setupSessions.create({ providerId: 'remote-pg', providerAuthMethodId: 'oauth' }),
      ),
    );
    expect(created.every((setupSession) => setupSession.status === 'pending')).toBe(true);
    expect(upstream.registrations()).toBe(1);
    const stored = await second!.providers.deployments.get(deployment.id);
    expect(stored.oauthClient).toEqual({ clientId: expect.any(String), hasClientSecret: true });
    // Never the secret itself, on either process.
    expect(JSON.stringify(stored)).not.toMatch(/client_secret"|clientSecret"/);
  });
});
