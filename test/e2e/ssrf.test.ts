/**
 * REFERENCE §3 "SSRF": provider, MCP and token-endpoint URLs at 169.254.169.254, 10/8, loopback, an
 * IPv4-mapped loopback, a name resolving to loopback, a redirect from an allowed host to a private
 * address, `file:` and `gopher:`: all refused with a clear error, before any connection, unless the
 * operator allow-listed the target.
 *
 * `GATEHOUSE_ALLOW_PRIVATE_NETWORK` is off. Two loopback servers are on `GATEHOUSE_OUTBOUND_ALLOWLIST`
 * by port (a tool server and a redirector); a "victim" listener on another loopback port counts the
 * connections it receives and must see none. Names are resolved by a resolver injected into the
 * guard, so no real DNS is involved; every connection of the process is watched, and anything but
 * loopback is refused by the test's own safety net: no packet ever goes to 10.x or 169.254.x.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { createGuardedFetch, OutboundPolicy, OutboundRequestRefusedError, parseAllowlist, parseConfig } from '@gatehouse/server';
import { launchBrowser } from '../support/browser.js';
import { installDialRecorder, type DialRecorder } from '../support/dial-recorder.js';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { startToolServer, type ToolServer } from '../support/mcp-tool-server.js';
import { RawApi, startCountingListener, type CountingListener } from '../support/security.js';
import { authorizeInBrowser, deliverCallback, startAttemptOverHttp } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

/** Names that exist only in this test. */
const NAMES: Record<string, string[]> = {
  'rebind.test': ['127.0.0.1'],
  'rebind6.test': ['::1'],
  'mapped.test': ['::ffff:127.0.0.1'],
};

describe('SSRF: the outbound guard', () => {
  let recorder: DialRecorder;
  let victim: CountingListener;
  let toolServer: ToolServer;
  let redirector: Server;
  let redirectorOrigin: string;
  /** The server under test: the guard with an injected resolver, the same policy as its configuration. */
  let server: InProcessGatehouse;
  /** The same configuration with the guard `gatehouse serve` builds itself (real wiring, real DNS never reached). */
  let wired: InProcessGatehouse;
  let api: RawApi;
  const refusals: OutboundRequestRefusedError[] = [];
  const resolved: string[] = [];

  beforeAll(async () => {
    recorder = installDialRecorder();
    victim = await startCountingListener();
    toolServer = await startToolServer({ name: 'allowed-tools' });
    redirector = createServer((req, res) => {
      const to = new URL(req.url!, 'http://x').searchParams.get('to');
      res.writeHead(to ? Number(new URL(req.url!, 'http://x').searchParams.get('status') ?? 302) : 404, to ? { location: to } : {});
      res.end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    redirectorOrigin = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;

    const allowlist = `127.0.0.1:${new URL(toolServer.url).port},127.0.0.1:${(redirector.address() as AddressInfo).port}`;
    const env = { GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'false', GATEHOUSE_OUTBOUND_ALLOWLIST: allowlist };
    const fetch = createGuardedFetch({
      policy: new OutboundPolicy(false, parseAllowlist(allowlist)),
      resolve: async (hostname) => {
        resolved.push(hostname);
        const addresses = NAMES[hostname];
        if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      },
      onRefused: (error) => refusals.push(error),
    });
    server = await startInProcessGatehouse({ env, fetch });
    wired = await startInProcessGatehouse({ env });
    api = new RawApi(server.url, server.apiKey);
  });

  afterAll(async () => {
    await Promise.all([server?.close(), wired?.close(), toolServer?.close(), victim?.close()]);
    await new Promise((resolve) => redirector?.close(resolve));
    recorder?.restore();
  });

  /** Nothing reached the victim, and nothing but loopback was ever dialled. */
  function expectNoConnectionToVictim() {
    expect(victim.connections()).toBe(0);
    expect(recorder.dialled.filter((entry) => entry.endsWith(`:${victim.port}`))).toEqual([]);
    expect(recorder.blocked).toEqual([]);
  }

  const oauthProvider = (id: string, urls: { tokenUrl?: string; issuer?: string; revocationUrl?: string }) => ({
    id,
    name: `Provider ${id}`,
    auth_methods: [
      {
        id: 'oauth',
        type: 'oauth2',
        ...(urls.issuer ? { issuer: urls.issuer } : {}),
        authorization_url: 'https://auth.example.test/authorize',
        token_url: urls.tokenUrl ?? 'https://auth.example.test/token',
        ...(urls.revocationUrl ? { revocation_url: urls.revocationUrl } : {}),
        scopes: ['read'],
      },
    ],
  });

  it('refuses provider, token-endpoint, revocation and tool-server URLs at private addresses, naming the field, the host and the reason', async () => {
    const targets: Array<[string, string, RegExp]> = [
      ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', /cloud metadata/],
      ['http://10.0.0.1/', '10.0.0.1', /private address/],
      [`http://[::1]:${victim.port}/`, '[::1]', /loopback/],
      [`http://[::ffff:127.0.0.1]:${victim.port}/`, '[::ffff:7f00:1]', /IPv4-mapped address of a loopback/],
      [`http://[::ffff:0:127.0.0.1]:${victim.port}/`, '[::ffff:0:7f00:1]', /IPv4-translated address of a loopback/],
      [`http://127.0.0.1:${victim.port}/`, '127.0.0.1', /loopback/],
      [`https://localhost:${victim.port}/`, 'localhost', /loopback/],
      ['https://100.64.0.1/', '100.64.0.1', /carrier-grade NAT/],
    ];
    let index = 0;
    for (const [base, host, reason] of targets) {
      const cases: Array<[string, unknown]> = [
        ['mcp_server.url', { id: `p${index++}`, name: 'P', auth_methods: [], mcp_server: { url: `${base}mcp` } }],
        ['auth_methods.0.token_url', { ...oauthProvider(`p${index++}`, { tokenUrl: `${base}token` }) }],
        ['auth_methods.0.issuer', { ...oauthProvider(`p${index++}`, { issuer: base.replace(/\/$/, '') }) }],
        ['auth_methods.0.revocation_url', { ...oauthProvider(`p${index++}`, { revocationUrl: `${base}revoke` }) }],
      ];
      for (const [field, body] of cases) {
        const answer = await api.post('/v1/providers', body);
        expect(answer.status, `${field} = ${base}`).toBe(400);
        const error = (answer.json as { error: { message: string; details: Array<{ path: string; message: string }> } }).error;
        expect(error.details.map((detail) => detail.path)).toContain(field);
        expect(error.message).toContain(`Outbound request to ${host} refused`);
        expect(error.message).toMatch(reason);
      }
    }
    for (const url of ['file:///etc/passwd', `gopher://127.0.0.1:${victim.port}/_SET%20x`, 'ftp://example.test/x']) {
      const answer = await api.post('/v1/providers', { id: 'scheme-test', name: 'S', auth_methods: [], mcp_server: { url } });
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/must use the https: or http: scheme/);
    }
    expect((await api.get('/v1/providers')).text).not.toMatch(/"p\d+"/);
    expectNoConnectionToVictim();
  });

  it('refuses a tool server whose name resolves to loopback, when connecting, and says why in the log', async () => {
    for (const name of ['rebind.test', 'rebind6.test', 'mapped.test']) {
      const providerId = `named-${name.split('.')[0]}`;
      expect((await api.post('/v1/providers', { id: providerId, name: 'Named', auth_methods: [], mcp_server: { url: `https://${name}:${victim.port}/mcp` } })).status).toBe(201);
      const deployment = (await api.post('/v1/providers/deployments', { provider_id: providerId })).json as { id: string };
      const session = (await api.post('/v1/sessions', { providers: [{ provider_deployment_id: deployment.id }] })).json as { id: string };
      const tools = (await api.get(`/v1/sessions/${session.id}/tools`)).json as { unavailable: Array<{ error: { code: string } }> };
      expect(tools.unavailable.map((entry) => entry.error.code)).toEqual(['tool_server_unavailable']);
      const call = (await api.post(`/v1/sessions/${session.id}/tool-calls`, { name: `${providerId}__echo`, arguments: { text: 'x' } })).json as { status: string };
      expect(call.status).toBe('failed');
    }
    expect(resolved).toEqual(expect.arrayContaining(['rebind.test', 'rebind6.test', 'mapped.test']));
    expect(refusals.map((error) => error.message)).toEqual(
      expect.arrayContaining([
        'Outbound request to rebind.test refused: it resolves to 127.0.0.1, a loopback address.',
        'Outbound request to rebind6.test refused: it resolves to ::1, a loopback address.',
        'Outbound request to mapped.test refused: it resolves to ::ffff:7f00:1, an IPv4-mapped address of a loopback address.',
      ]),
    );
    expect(server.logs()).toContain('Outbound request to rebind.test refused');
    expectNoConnectionToVictim();
  });

  it('refuses a token endpoint and an issuer whose name resolves to loopback: the setup fails cleanly', async () => {
    // Token endpoint: the code exchange is refused and the session fails with a clear reason.
    expect((await api.post('/v1/providers', oauthProvider('named-token', { tokenUrl: `https://rebind.test:${victim.port}/token` }))).status).toBe(201);
    const deployment = (await api.post('/v1/providers/deployments', { provider_id: 'named-token', oauth_client: { client_id: 'c', client_secret: 's' } })).json as {
      id: string;
      callback_url: string;
    };
    const setup = (await api.post('/v1/providers/setup-sessions', { provider_id: 'named-token', provider_auth_method_id: 'oauth' })).json as { id: string; url: string };
    const attempt = await startAttemptOverHttp(setup.url);
    expect(attempt.authorizationUrl.origin).toBe('https://auth.example.test');
    const callback = await deliverCallback(`${deployment.callback_url}?code=abc&state=${attempt.state}`, attempt.cookieHeader);
    expect(callback.status).toBeLessThan(500);
    const failed = (await api.get(`/v1/providers/setup-sessions/${setup.id}`)).json as { status: string; error: { code: string } };
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toMatch(/token_endpoint/);
    expect((await api.get('/v1/providers/auth-configs?provider_id=named-token')).json).toMatchObject({ data: [] });

    // Issuer: discovery is refused when the user starts; the page says the provider can't be reached.
    expect((await api.post('/v1/providers', oauthProvider('named-issuer', { issuer: `https://rebind.test:${victim.port}` }))).status).toBe(201);
    await api.post('/v1/providers/deployments', { provider_id: 'named-issuer', oauth_client: { client_id: 'c' } });
    const discovery = (await api.post('/v1/providers/setup-sessions', { provider_id: 'named-issuer', provider_auth_method_id: 'oauth' })).json as { url: string };
    const start = await fetch(`${discovery.url}/authorize`, { redirect: 'manual' });
    expect(start.status).toBe(502);
    expect(await start.text()).toContain('can’t be reached');
    expect(refusals.filter((error) => error.host === 'rebind.test').length).toBeGreaterThanOrEqual(2);
    expectNoConnectionToVictim();
  });

  it('re-checks every redirect hop: from an allow-listed host to private addresses, names and other schemes', async () => {
    const via = (to: string, status = 302) => `${redirectorOrigin}/r?status=${status}&to=${encodeURIComponent(to)}`;
    const hops: Array<[string, RegExp]> = [
      ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', /169\.254\.169\.254 refused: .*cloud metadata/],
      ['http://10.0.0.1/admin', /10\.0\.0\.1 refused: .*private address/],
      [`http://127.0.0.1:${victim.port}/`, /127\.0\.0\.1 refused: .*loopback/],
      [`http://[::ffff:127.0.0.1]:${victim.port}/`, /IPv4-mapped address of a loopback/],
      [`https://rebind.test:${victim.port}/`, /rebind\.test refused: it resolves to 127\.0\.0\.1/],
      ['file:///etc/passwd', /file: scheme is not allowed/],
      [`gopher://127.0.0.1:${victim.port}/_x`, /gopher: scheme is not allowed/],
    ];
    for (const [to, message] of hops) {
      for (const status of [302, 307]) {
        const attempt = server.context.fetch(via(to, status));
        await expect(attempt, to).rejects.toThrowError(OutboundRequestRefusedError);
        await expect(server.context.fetch(via(to, status))).rejects.toThrowError(message);
      }
    }
    // The guard `gatehouse serve` builds itself does the same, and logs the refusal (host and reason).
    await expect(wired.context.fetch(via('http://169.254.169.254/latest/meta-data/'))).rejects.toThrowError(OutboundRequestRefusedError);
    await expect(wired.context.fetch(via(`http://127.0.0.1:${victim.port}/`))).rejects.toThrowError(/loopback/);
    expect(wired.logs()).toContain('"host":"169.254.169.254"');
    expect(wired.logs()).toContain('outbound request refused');

    // A tool server that redirects to a private address reaches nothing either.
    expect((await api.post('/v1/providers', { id: 'redirecting', name: 'R', auth_methods: [], mcp_server: { url: via(`http://127.0.0.1:${victim.port}/mcp`, 307) } })).status).toBe(201);
    const deployment = (await api.post('/v1/providers/deployments', { provider_id: 'redirecting' })).json as { id: string };
    const session = (await api.post('/v1/sessions', { providers: [{ provider_deployment_id: deployment.id }] })).json as { id: string };
    const tools = (await api.get(`/v1/sessions/${session.id}/tools`)).json as { unavailable: unknown[] };
    expect(tools.unavailable).toHaveLength(1);
    expectNoConnectionToVictim();
  });

  it('refuses literal private addresses in the server’s own fetch before any connection (gatehouse serve wiring)', async () => {
    const targets = [
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://192.168.1.1/',
      'http://172.16.0.1/',
      `http://[::1]:${victim.port}/`,
      `http://[::ffff:127.0.0.1]:${victim.port}/`,
      `http://localhost:${victim.port}/`,
      `http://127.0.0.1:${victim.port}/`,
      'http://0.0.0.0/',
      'file:///etc/passwd',
      `gopher://127.0.0.1:${victim.port}/_x`,
    ];
    for (const url of targets) {
      await expect(wired.context.fetch(url), url).rejects.toThrowError(OutboundRequestRefusedError);
    }
    expectNoConnectionToVictim();
  });

  it('refuses webhook URLs at private addresses when the endpoint is created, and a name resolving to one when delivering', async () => {
    const targets: Array<[string, RegExp]> = [
      ['https://169.254.169.254/hooks', /169\.254\.169\.254 refused: .*cloud metadata/],
      ['https://10.0.0.1/hooks', /10\.0\.0\.1 refused: .*private address/],
      [`https://127.0.0.1:${victim.port}/hooks`, /127\.0\.0\.1 refused: .*loopback/],
      [`https://[::ffff:127.0.0.1]:${victim.port}/hooks`, /IPv4-mapped address of a loopback/],
      [`https://localhost:${victim.port}/hooks`, /localhost refused: .*loopback/],
      ['http://hooks.example.test/hooks', /plain http: is not allowed/],
    ];
    for (const [url, message] of targets) {
      const answer = await api.post('/v1/webhooks', { url });
      expect(answer.status, url).toBe(400);
      const error = (answer.json as { error: { message: string; details: Array<{ path: string }> } }).error;
      expect(error.details.map((detail) => detail.path)).toEqual(['url']);
      expect(error.message, url).toMatch(message);
    }
    expect((await api.get('/v1/webhooks')).json).toMatchObject({ data: [] });

    // A name is not resolved at creation (what it resolves to then proves nothing); the delivery is refused.
    const created = await api.post('/v1/webhooks', { url: `https://rebind.test:${victim.port}/hooks` });
    expect(created.status).toBe(201);
    const endpointId = (created.json as { id: string }).id;
    const moved = await api.request('PATCH', `/v1/webhooks/${endpointId}`, { url: 'https://192.168.1.10/hooks' });
    expect(moved.status).toBe(400);
    expect(moved.text).toMatch(/192\.168\.1\.10 refused: .*private address/);
    const refusalsBefore = refusals.filter((error) => error.host === 'rebind.test').length;
    expect((await api.post(`/v1/webhooks/${endpointId}/test`)).status).toBe(202);
    await expect.poll(() => refusals.filter((error) => error.host === 'rebind.test').length, { timeout: 15_000 }).toBeGreaterThan(refusalsBefore);
    await expect
      .poll(async () => ((await api.get(`/v1/webhooks/${endpointId}/deliveries`)).json as { data: Array<{ attempts: number }> }).data[0]?.attempts ?? 0, {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(1);
    const [delivery] = ((await api.get(`/v1/webhooks/${endpointId}/deliveries`)).json as { data: Array<{ status: string; last_status_code: number | null }> }).data;
    expect(delivery!.status).not.toBe('succeeded');
    expect(delivery!.last_status_code).toBeNull();
    expect(refusals.map((error) => error.message)).toContain(`Outbound request to rebind.test refused: it resolves to 127.0.0.1, a loopback address.`);
    expectNoConnectionToVictim();
  });

  it('reaches what the operator allow-listed: a loopback tool server by port, and redirects between allowed hosts', async () => {
    expect((await api.post('/v1/providers', { id: 'allowed', name: 'Allowed', auth_methods: [], mcp_server: { url: toolServer.url } })).status).toBe(201);
    const deployment = (await api.post('/v1/providers/deployments', { provider_id: 'allowed' })).json as { id: string };
    const session = (await api.post('/v1/sessions', { providers: [{ provider_deployment_id: deployment.id }] })).json as { id: string };
    const call = (await api.post(`/v1/sessions/${session.id}/tool-calls`, { name: 'allowed__echo', arguments: { text: 'allowed' } })).json as {
      status: string;
      content: Array<{ text: string }>;
    };
    expect(call.status).toBe('succeeded');
    expect(call.content[0]!.text).toBe('allowed');

    const followed = await server.context.fetch(`${redirectorOrigin}/r?to=${encodeURIComponent(`${toolServer.origin}/nowhere`)}`);
    expect(followed.redirected).toBe(true);
    expect(followed.url).toBe(`${toolServer.origin}/nowhere`);
    await followed.body?.cancel();
    expectNoConnectionToVictim();
  });

  it('refuses a bad GATEHOUSE_OUTBOUND_ALLOWLIST at start-up, naming the variable', () => {
    expect(() => parseConfig({}, { GATEHOUSE_OUTBOUND_ALLOWLIST: '10.0.0.0/99' })).toThrowError(/GATEHOUSE_OUTBOUND_ALLOWLIST: "10\.0\.0\.0\/99"/);
    expect(() => parseConfig({}, { GATEHOUSE_OUTBOUND_ALLOWLIST: 'http://x/' })).toThrowError(/GATEHOUSE_OUTBOUND_ALLOWLIST/);
    expect(parseConfig({}, { GATEHOUSE_OUTBOUND_ALLOWLIST: 'mcp.internal, 10.0.0.0/8, 127.0.0.1:8080' }).outboundAllowlist).toHaveLength(3);
  });
});

/**
 * An OAuth provider on a plain-http host that the operator allow-listed (GATEHOUSE_OUTBOUND_ALLOWLIST,
 * private network off) works end to end: discovery, the code exchange and revocation are allowed by
 * oauth4webapi exactly where the outbound guard allows them. Its revocation URL is a name that
 * resolves to loopback: revocation on delete is refused by the guard and reaches nothing.
 */
describe('SSRF: OAuth against an allow-listed plain-http provider', () => {
  let recorder: DialRecorder;
  let victim: CountingListener;
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let gatehouse: Gatehouse;
  const refusals: OutboundRequestRefusedError[] = [];

  beforeAll(async () => {
    recorder = installDialRecorder();
    victim = await startCountingListener();
    upstream = await startUpstream({ clients: [] });
    const allowlist = `127.0.0.1:${upstream.port}`;
    const fetch = createGuardedFetch({
      policy: new OutboundPolicy(false, parseAllowlist(allowlist)),
      resolve: async (hostname) => {
        const addresses = NAMES[hostname];
        if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      },
      onRefused: (error) => refusals.push(error),
    });
    server = await startInProcessGatehouse({ env: { GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'false', GATEHOUSE_OUTBOUND_ALLOWLIST: allowlist }, fetch });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await upstream?.close();
    await victim?.close();
    recorder?.restore();
  });

  it('discovers, exchanges the code over allow-listed http, and refuses a revocation URL that resolves to loopback', async () => {
    expect(upstream.issuer.startsWith('http://127.0.0.1:')).toBe(true);
    await gatehouse.providers.create({
      id: 'internal-idp',
      name: 'Internal IdP',
      authMethods: [
        {
          id: 'oauth',
          type: 'oauth2',
          issuer: upstream.issuer,
          authorizationUrl: upstream.authorizationEndpoint,
          tokenUrl: upstream.tokenEndpoint,
          revocationUrl: `https://rebind.test:${victim.port}/revoke`,
          scopes: ['openid', 'offline_access'],
        },
      ],
    });
    const clientId = 'internal-client';
    const clientSecret = 'internal-client-secret';
    const deployment = await gatehouse.providers.deployments.create({ providerId: 'internal-idp', oauthClient: { clientId, clientSecret } });
    await upstream.addClient({ clientId, clientSecret, redirectUris: [deployment.callbackUrl] });

    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'internal-idp', providerAuthMethodId: 'oauth' });
    const waiting = gatehouse.waitForSetupSession([setupSession]);
    const { context } = await authorizeInBrowser(browser, setupSession.url, 'ines');
    const completed = await waiting;
    await context.close();
    expect(completed.status).toBe('completed');
    expect(upstream.tokenRequests().filter((request) => request.grantType === 'authorization_code')).toHaveLength(1);

    const deleted = await gatehouse.providers.authConfigs.delete(completed.authConfig!.id);
    expect(deleted.revocation).toMatchObject({ attempted: true, confirmed: false });
    expect(refusals.map((error) => error.message)).toContain('Outbound request to rebind.test refused: it resolves to 127.0.0.1, a loopback address.');
    expect(victim.connections()).toBe(0);
    expect(recorder.blocked).toEqual([]);
  });
});
