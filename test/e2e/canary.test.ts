/**
 * The canary test (REFERENCE §3, "secret leakage"): every secret Gatehouse handles is a recognisable
 * canary, the whole life of a user's credentials is driven through the product, and then nothing
 * Gatehouse said to anyone may contain one.
 *
 * Canaries: the deployment's OAuth client secret, the access and refresh tokens the provider issues
 * (literal `canary-at-…` / `canary-rt-…`: the upstream's token responses are replaced, so its refresh
 * grant is scripted by this file: rotate, 500, or `invalid_grant`), an end user's pasted API key, an
 * operator's deployment API key, the Gatehouse API key itself, an authorization code that fails its
 * exchange, and the secrets Gatehouse or the provider generates: every `state`, authorization code,
 * PKCE verifier, browser-binding cookie, the session's MCP secret and the webhook signing secret.
 *
 * Driven: OAuth setup in Chromium, an API-key setup on the hosted form (one bad paste first), a
 * webhook endpoint (a local receiver keeps the raw payloads), tool calls through the API and through
 * the session's MCP endpoint on an OAuth and an API-key provider, a refresh forced by expiry (fake
 * clock), a tool server that refuses the token with a 401 quoting it back (once, then always) and
 * refuses a call with a 400 quoting it back (as many real APIs do), a token endpoint answering 500 with
 * the refresh token and client secret in its body, a revoked grant (`invalid_grant` echoing the
 * token), re-authorization in Chromium, a code exchange answered 500, wrong keys and bad bodies, and
 * deletion with revocation at the provider.
 *
 * Captured: every API answer (status, headers, body) of the SDK and of a raw client that lists and
 * reads every object at the end, the hosted pages the browser received, the MCP endpoint's answers,
 * every webhook request (headers and body), and the server's log at debug level. None may contain a
 * canary. Positive outcomes are asserted along the way, so the test cannot pass by doing nothing.
 * The upstream and the tool servers of course receive the secrets: only Gatehouse's outputs count.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse, verifyWebhookSignature, type ProviderSetupSession, type Session, type WebhookEndpointWithSecret } from '@gatehouse/sdk';
import { launchBrowser, loginAndConsentAtUpstream } from '../support/browser.js';
import { FakeClock, startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { startToolServer, type ToolServer } from '../support/mcp-tool-server.js';
import { RawApi, submitApiKeyForm } from '../support/security.js';
import { deliverCallback, startAttemptOverHttp } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

// --- the canaries ---------------------------------------------------------------------------------------

/** In every literal canary, and nowhere else: finding it anywhere is a leak of one of them. */
const RUN = randomBytes(6).toString('hex');
const GATEHOUSE_API_KEY = `ghk_canary-gatehouse-api-key-${RUN}`;
const CLIENT_SECRET = `canary-client-secret-${RUN}`;
const USER_API_KEY = `canary-user-api-key-${RUN}-uk01`;
const DEPLOYMENT_API_KEY = `canary-deployment-api-key-${RUN}-dk01`;
const FAILING_CODE = `canary-authorization-code-${RUN}`;
const TOKEN_ERROR_MARKER = `canary-token-endpoint-error-body-${RUN}`;
/** Token `n`'s last four characters (what the tool server's `whoami` shows) are `at0n` / `rt0n`. */
const accessToken = (n: number) => `canary-at-${RUN}-at${String(n).padStart(2, '0')}`;
const refreshToken = (n: number) => `canary-rt-${RUN}-rt${String(n).padStart(2, '0')}`;

const LOGIN = 'river';
const HOUR_MS = 3600_000;

// --- what Gatehouse said, to anyone -----------------------------------------------------------------------

interface Output {
  where: string;
  text: string;
  /** Secrets this output is the one place to show (the answer that created them), once each. */
  issues?: string[];
}

/** A local webhook receiver that keeps every request as it arrived. */
interface Receiver {
  url: string;
  received: Array<{ headers: Record<string, string>; body: string; json: { type: string; data: Record<string, unknown> } }>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server: Server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
    received.push({ headers, body, json: JSON.parse(body) as Receiver['received'][number]['json'] });
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function headerLines(headers: Headers): string {
  const lines: string[] = [];
  headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  return lines.join('\n');
}

/**
 * A reverse proxy in front of a tool server that behaves like many real APIs when they refuse a
 * request: its 401 answers quote the `Authorization` header it was sent, and so does the 400 with
 * which it refuses every call of the `list_notes` tool.
 */
async function startEchoingProxy(target: string): Promise<{ url: string; echoed(): number; close(): Promise<void> }> {
  let echoed = 0;
  const echo = (response: ServerResponse, status: number, authorization: string | undefined) => {
    echoed++;
    const body = JSON.stringify({ error: status === 401 ? 'invalid_token' : 'bad_request', message: `Refused the request with "Authorization: ${authorization}".` });
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
  };
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (/"method":"tools\/call"/.test(body.toString()) && /"name":"list_notes"/.test(body.toString())) {
      echo(response, 400, request.headers.authorization);
      return;
    }
    const forwarded = httpRequest(new URL(request.url ?? '/', target), { method: request.method, headers: { ...request.headers, host: new URL(target).host } }, (answer) => {
      if (answer.statusCode === 401) {
        answer.resume();
        echo(response, 401, request.headers.authorization);
        return;
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.on('error', () => response.destroy());
    response.on('close', () => forwarded.destroy());
    forwarded.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    echoed: () => echoed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('canary secrets never leave Gatehouse', () => {
  const clock = new FakeClock();
  let upstream: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let receiver: Receiver;
  let gatehouse: Gatehouse;
  let raw: RawApi;
  let oauthTools: ToolServer;
  let oauthToolsProxy: Awaited<ReturnType<typeof startEchoingProxy>>;
  let keyTools: ToolServer;
  let webhook: WebhookEndpointWithSecret;
  let clientId: string;
  let oauthDeploymentId: string;
  let oauthCallbackUrl: string;
  let keyDeploymentId: string;
  let oauthAuthConfigId: string;
  let keyAuthConfigId: string;
  let session: Session;

  const outputs: Output[] = [];
  /** Secrets generated along the way (by Gatehouse, the provider or the browser), by name. */
  const generated: Array<{ name: string; value: string }> = [];
  const remember = (name: string, value: string | null | undefined) => {
    if (value && !generated.some((entry) => entry.value === value)) generated.push({ name, value });
  };

  /** Every fetch of the SDK and the MCP client goes through here; the answer is kept whole. */
  const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const where = `${init?.method ?? 'GET'} ${url.pathname}`;
    const head = `HTTP ${response.status}\n${headerLines(response.headers)}`;
    if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      outputs.push({ where, text: head }); // a stream's body is not awaited here (the session endpoint answers JSON)
      return response;
    }
    outputs.push({ where, text: `${head}\n\n${await response.clone().text()}` });
    return response;
  };
  /** Marks the latest output at `where` as the answer that hands out `secret`. */
  const issuedBy = (where: string, secret: string) => {
    const output = [...outputs].reverse().find((entry) => entry.where === where && entry.text.includes(secret));
    expect(output, `the answer of ${where} shows the new secret`).toBeDefined();
    output!.issues = [...(output!.issues ?? []), secret];
  };

  // --- the provider's token endpoint, scripted -------------------------------------------------------------

  let issuedCount = 0;
  let refreshGrant: 'rotate' | 'revoked' = 'rotate';
  /** Whether the tool server accepts the tokens the provider issues from now on. */
  let toolServerAcceptsNewTokens = true;
  /** What the OAuth tool server accepts as `Authorization` (mutated to make it answer 401). */
  const acceptedAuthorization: string[] = [];
  const refreshTokensPresented: string[] = [];
  const issueTokens = () => {
    const n = ++issuedCount;
    if (toolServerAcceptsNewTokens) acceptedAuthorization.push(`Bearer ${accessToken(n)}`);
    return { access_token: accessToken(n), refresh_token: refreshToken(n), token_type: 'Bearer', expires_in: 3600, scope: 'openid offline_access profile' };
  };
  const refuseToken = (n: number) => {
    const index = acceptedAuthorization.indexOf(`Bearer ${accessToken(n)}`);
    if (index >= 0) acceptedAuthorization.splice(index, 1);
  };

  // --- the end user in Chromium --------------------------------------------------------------------------------

  /** Runs the setup URL in a fresh browser context; keeps the pages Gatehouse served and the secrets seen on the way. */
  async function authorizeInChromium(setupUrl: string): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const reading: Array<Promise<unknown>> = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      remember('state (in a browser URL)', url.searchParams.get('state'));
      remember('authorization code (in a browser URL)', url.searchParams.get('code'));
    });
    page.on('response', (response) => {
      if (!response.url().startsWith(server.url)) return;
      reading.push(
        (async () => {
          const setCookie = await response.headerValue('set-cookie');
          for (const match of (setCookie ?? '').matchAll(/gatehouse_oauth_[^=]+=([^;\s]+)/g)) remember('browser-binding cookie', match[1]);
          if (response.status() >= 300 && response.status() < 400) return;
          const body = await response.text().catch(() => '');
          outputs.push({ where: `browser ${response.status()} ${new URL(response.url()).pathname}`, text: body });
        })(),
      );
    });
    await page.goto(setupUrl);
    await Promise.all([page.waitForURL((url) => !url.href.startsWith(setupUrl)), page.getByRole('link', { name: /Continue to/ }).click()]);
    await loginAndConsentAtUpstream(page, { login: LOGIN });
    outputs.push({ where: 'browser final page', text: await page.content() });
    await Promise.all(reading);
    await context.close();
  }

  // --- the leak check ----------------------------------------------------------------------------------------------

  function everything(): Output[] {
    return [
      ...outputs,
      ...raw.answers.map((answer) => ({ where: 'raw API answer', text: `HTTP ${answer.status}\n${headerLines(answer.headers)}\n\n${answer.text}` })),
      ...receiver.received.map((request) => ({
        where: `webhook ${request.json.type}`,
        text: `${Object.entries(request.headers).map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${request.body}`,
      })),
      { where: 'server log', text: server.logs() },
    ];
  }

  function canaries(): Array<{ name: string; value: string }> {
    const literal = [
      { name: 'Gatehouse API key', value: GATEHOUSE_API_KEY },
      { name: 'OAuth client secret', value: CLIENT_SECRET },
      { name: 'OAuth client credentials (HTTP Basic form)', value: Buffer.from(`${clientId}:${CLIENT_SECRET}`).toString('base64') },
      { name: 'pasted API key', value: USER_API_KEY },
      { name: 'deployment API key', value: DEPLOYMENT_API_KEY },
      { name: 'failing authorization code', value: FAILING_CODE },
      { name: 'token endpoint error body', value: TOKEN_ERROR_MARKER },
    ];
    for (let n = 1; n <= issuedCount; n++) literal.push({ name: `access token ${n}`, value: accessToken(n) }, { name: `refresh token ${n}`, value: refreshToken(n) });
    return [...literal, ...generated, { name: 'any literal canary (run marker)', value: RUN }];
  }

  /** Every place a canary shows up in what Gatehouse said so far, as readable lines. */
  function leaks(said: Output[] = everything()): string[] {
    const found: string[] = [];
    for (const output of said) {
      for (const canary of canaries()) {
        let text = output.text;
        if (output.issues?.includes(canary.value)) text = text.replace(canary.value, '[issued here]');
        const at = text.indexOf(canary.value);
        if (at >= 0) found.push(`${canary.name} in ${output.where}: …${text.slice(Math.max(0, at - 80), at + canary.value.length + 40)}…`);
      }
    }
    return found;
  }

  const webhooksOf = (type: string, id?: string) => receiver.received.filter((request) => request.json.type === type && (id === undefined || request.json.data.id === id));
  const waitForWebhook = (type: string, id: string, count = 1) =>
    eventually(`${count} × ${type} for ${id}`, () => (webhooksOf(type, id).length >= count ? webhooksOf(type, id) : undefined));
  const call = (name: string, targetSession: Session = session) => gatehouse.sessions.toolCalls.create(targetSession.id, { name });
  const text = (result: { content: unknown }) => JSON.stringify(result.content);

  beforeAll(async () => {
    upstream = await startUpstream({ clients: [] });
    upstream.setResponseOverride((observed) => {
      if (observed.grantType === 'authorization_code') {
        remember('authorization code (sent to the provider)', observed.params.code);
        remember('PKCE code verifier', observed.params.code_verifier);
        return observed.status === 200 ? { status: 200, body: issueTokens() } : undefined;
      }
      if (observed.grantType === 'refresh_token') {
        // oidc-provider does not know the canary refresh tokens: this file answers the grant.
        refreshTokensPresented.push(observed.params.refresh_token ?? '');
        if (refreshGrant === 'revoked') {
          return { status: 400, body: { error: 'invalid_grant', error_description: `refresh token ${observed.params.refresh_token} was revoked by the user` } };
        }
        return { status: 200, body: issueTokens() };
      }
      return undefined;
    });
    server = await startInProcessGatehouse({
      clock,
      env: {
        GATEHOUSE_BOOTSTRAP_API_KEY: GATEHOUSE_API_KEY,
        // Refreshes happen when this file forces them, not on the background sweep's timer.
        GATEHOUSE_REFRESH_SWEEP_INTERVAL_MS: '86400000',
        GATEHOUSE_WEBHOOK_RETRY_BASE_MS: '50',
      },
    });
    gatehouse = new Gatehouse({ apiKey: GATEHOUSE_API_KEY, baseUrl: server.url, fetch: recordingFetch, maxRetries: 0 });
    raw = new RawApi(server.url, GATEHOUSE_API_KEY);
    receiver = await startReceiver();
    browser = await launchBrowser();

    // An OAuth provider whose tool server takes exactly the access tokens issued (and not refused) so far.
    // It is reached through a proxy whose refusals quote the token back.
    oauthTools = await startToolServer({ name: 'acme', auth: { type: 'api-key', header: 'authorization', validKeys: acceptedAuthorization } });
    oauthToolsProxy = await startEchoingProxy(oauthTools.origin);
    await gatehouse.providers.create({
      id: 'acme',
      name: 'Acme Cloud',
      authMethods: [
        {
          id: 'oauth',
          type: 'oauth2',
          issuer: upstream.issuer,
          authorizationUrl: upstream.authorizationEndpoint,
          tokenUrl: upstream.tokenEndpoint,
          revocationUrl: upstream.revocationEndpoint,
          scopes: ['openid', 'offline_access', 'profile'],
        },
      ],
      mcpServer: { url: oauthToolsProxy.url },
    });
    clientId = `client-${randomBytes(4).toString('hex')}`;
    const oauthDeployment = await gatehouse.providers.deployments.create({ providerId: 'acme', oauthClient: { clientId, clientSecret: CLIENT_SECRET } });
    oauthDeploymentId = oauthDeployment.id;
    oauthCallbackUrl = oauthDeployment.callbackUrl;
    await upstream.addClient({ clientId, clientSecret: CLIENT_SECRET, redirectUris: [oauthDeployment.callbackUrl] });

    // An API-key provider: users paste their key; the operator's own key serves sessions without a user.
    keyTools = await startToolServer({ name: 'keyco', auth: { type: 'api-key', header: 'x-api-key', validKeys: [USER_API_KEY, DEPLOYMENT_API_KEY] } });
    await gatehouse.providers.create({
      id: 'keyco',
      name: 'Key Co',
      authMethods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }],
      mcpServer: { url: keyTools.url },
    });
    keyDeploymentId = (await gatehouse.providers.deployments.create({ providerId: 'keyco', credentials: { apiKey: DEPLOYMENT_API_KEY } })).id;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([oauthToolsProxy?.close(), oauthTools?.close(), keyTools?.close(), upstream?.close(), receiver?.close()]);
  });

  it('registers a webhook endpoint; its signing secret is shown once, at creation', async () => {
    webhook = await gatehouse.webhooks.create({ url: receiver.url });
    expect(webhook.secret).toMatch(/^whsec_/);
    remember('webhook signing secret', webhook.secret);
    issuedBy('POST /v1/webhooks', webhook.secret);
    expect(await gatehouse.webhooks.get(webhook.id)).not.toHaveProperty('secret');
    expect(leaks()).toEqual([]);
  });

  it('connects the user in Chromium over OAuth and announces it by webhook, with no secret in pages, answers or payload', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'acme', providerAuthMethodId: 'oauth', metadata: { user: 'river' } });
    const waiting = gatehouse.waitForSetupSession([setupSession]);
    await authorizeInChromium(setupSession.url);
    const completed = await waiting;
    expect(completed.status).toBe('completed');
    oauthAuthConfigId = completed.authConfig!.id;
    expect(generated.filter((entry) => entry.name.startsWith('state')).length).toBeGreaterThanOrEqual(1);
    expect(generated.some((entry) => entry.name === 'PKCE code verifier')).toBe(true);
    expect(generated.some((entry) => entry.name === 'browser-binding cookie')).toBe(true);
    expect(outputs.some((output) => output.where === 'browser final page' && /connected to Acme Cloud/i.test(output.text))).toBe(true);

    const [delivered] = await waitForWebhook('setup_session.completed', setupSession.id);
    const event = await verifyWebhookSignature({ payload: delivered!.body, headers: delivered!.headers, secret: webhook.secret });
    expect(event).toMatchObject({ type: 'setup_session.completed', data: { id: setupSession.id, status: 'completed' } });
    expect(leaks()).toEqual([]);
  });

  it('connects a user by a pasted API key; a bad paste is refused without echoing it', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'keyco', providerAuthMethodId: 'api_key' });
    const badPaste = await submitApiKeyForm(setupSession.url, `${USER_API_KEY} with spaces`);
    expect(badPaste.status).toBe(400);
    outputs.push({ where: 'hosted form after a bad paste', text: await badPaste.text() });

    const pasted = await submitApiKeyForm(setupSession.url, USER_API_KEY);
    expect(pasted.status).toBe(200);
    outputs.push({ where: 'hosted form after the paste', text: await pasted.text() });
    const completed: ProviderSetupSession = await gatehouse.providers.setupSessions.get(setupSession.id);
    expect(completed.status).toBe('completed');
    keyAuthConfigId = completed.authConfig!.id;
    await waitForWebhook('setup_session.completed', setupSession.id);
    expect(leaks()).toEqual([]);
  });

  it('calls tools with each credential through the API and the session MCP endpoint; the tool servers get the secrets, the caller does not', async () => {
    session = await gatehouse.sessions.create({
      providers: [
        { providerDeploymentId: oauthDeploymentId, providerAuthConfigId: oauthAuthConfigId },
        { providerDeploymentId: keyDeploymentId, providerAuthConfigId: keyAuthConfigId },
      ],
    });
    const mcpSecret = session.mcp.secret!;
    expect(mcpSecret).toMatch(/^gms_/);
    remember('session MCP secret', mcpSecret);
    issuedBy('POST /v1/sessions', mcpSecret);

    const oauthCall = await call('acme__whoami');
    expect(oauthCall.status).toBe('succeeded');
    expect(text(oauthCall)).toContain('api-key:at01');
    const keyCall = await call('keyco__whoami');
    expect(keyCall.status).toBe('succeeded');
    expect(text(keyCall)).toContain('api-key:uk01');

    const operatorSession = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: keyDeploymentId }] });
    issuedBy('POST /v1/sessions', operatorSession.mcp.secret!);
    remember('session MCP secret (operator session)', operatorSession.mcp.secret);
    const operatorCall = await call('keyco__whoami', operatorSession);
    expect(text(operatorCall)).toContain('api-key:dk01');

    const mcp = new Client({ name: 'canary-test', version: '1.0.0' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(session.mcp.url), { requestInit: { headers: { authorization: `Bearer ${mcpSecret}` } }, fetch: recordingFetch }));
    const { tools } = await mcp.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['acme__whoami', 'keyco__whoami']));
    const viaMcp = await mcp.callTool({ name: 'acme__whoami', arguments: {} });
    expect(JSON.stringify(viaMcp.content)).toContain('api-key:at01');
    await mcp.close();

    // A tool server that refuses a call with a 400 quoting the request: a clean tool error, without the quote.
    const refused = await call('acme__list_notes');
    expect(refused.status).toBe('failed');
    expect(refused.error?.code).toBe('tool_server_error');
    expect(refused.error?.message).toMatch(/acme tool server failed the call/);
    expect(oauthToolsProxy.echoed()).toBe(1);

    expect(oauthTools.calls().map((entry) => entry.subject)).toEqual(['api-key:at01', 'api-key:at01']);
    expect(leaks()).toEqual([]);
  });

  it('refreshes an expired token before the call, with the stored refresh token, and announces it', async () => {
    clock.advance(2 * HOUR_MS);
    const result = await call('acme__whoami');
    expect(result.status).toBe('succeeded');
    expect(text(result)).toContain('api-key:at02');
    expect(refreshTokensPresented).toEqual([refreshToken(1)]);
    const authConfig = await gatehouse.providers.authConfigs.get(oauthAuthConfigId);
    expect(authConfig.lastRefreshedAt).not.toBeNull();
    await waitForWebhook('auth_config.refreshed', oauthAuthConfigId);
    expect(leaks()).toEqual([]);
  });

  it('refreshes once when the tool server refuses the token, and the retried call succeeds', async () => {
    refuseToken(2);
    const result = await call('acme__whoami');
    expect(result.status).toBe('succeeded');
    expect(text(result)).toContain('api-key:at03');
    expect(refreshTokensPresented.at(-1)).toBe(refreshToken(2));
    expect(oauthTools.authFailures()).toBeGreaterThanOrEqual(1);
    expect(oauthToolsProxy.echoed()).toBeGreaterThanOrEqual(1);
    expect(leaks()).toEqual([]);
  });

  it('reports reauthorization_required, without the token, when the tool server refuses even the refreshed token', async () => {
    toolServerAcceptsNewTokens = false;
    refuseToken(3);
    try {
      const result = await call('acme__whoami');
      expect(result.status).toBe('failed');
      expect(result.error?.code).toBe('reauthorization_required');
      expect(refreshTokensPresented.at(-1)).toBe(refreshToken(3));
    } finally {
      toolServerAcceptsNewTokens = true;
      acceptedAuthorization.push(`Bearer ${accessToken(issuedCount)}`);
    }
    expect(leaks()).toEqual([]);
  });

  it('fails the call cleanly when the token endpoint answers 500 with the secrets in its body; the auth config stays active', async () => {
    clock.advance(2 * HOUR_MS);
    const before = upstream.tokenRequests().length;
    const echo = `${TOKEN_ERROR_MARKER}: could not refresh refresh_token=${refreshToken(issuedCount)} for client ${clientId}:${CLIENT_SECRET} (access_token=${accessToken(issuedCount)})`;
    upstream.faultNextTokenRequests(1, { status: 500, body: { error: 'server_error', error_description: echo } });
    upstream.faultNextTokenRequests(2, { status: 500, headers: { 'content-type': 'text/html' }, body: `<html><pre>${echo}</pre></html>` });

    const result = await call('acme__whoami');
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('token_refresh_failed');
    expect(upstream.tokenRequests().slice(before).map((request) => request.faulted)).toEqual([true, true, true]);
    const authConfig = await gatehouse.providers.authConfigs.get(oauthAuthConfigId);
    expect(authConfig.status).toBe('active');
    expect(authConfig.lastError?.code).toBe('token_endpoint_unavailable');
    expect(leaks()).toEqual([]);
  });

  it('turns a revoked grant (invalid_grant echoing the token) into reauthorization_required with one webhook', async () => {
    refreshGrant = 'revoked';
    const result = await call('acme__whoami');
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('reauthorization_required');
    const authConfig = await gatehouse.providers.authConfigs.get(oauthAuthConfigId);
    expect(authConfig.status).toBe('reauthorization_required');
    expect(authConfig.lastError?.code).toBe('invalid_grant');
    await waitForWebhook('auth_config.reauthorization_required', oauthAuthConfigId);
    expect(leaks()).toEqual([]);
  });

  it('re-authorizes the same auth config in Chromium, after which calls succeed with the new token', async () => {
    refreshGrant = 'rotate';
    const reauthorization = await gatehouse.providers.setupSessions.create({ providerId: 'acme', providerAuthMethodId: 'oauth', providerAuthConfigId: oauthAuthConfigId });
    const waiting = gatehouse.waitForSetupSession([reauthorization]);
    await authorizeInChromium(reauthorization.url);
    const completed = await waiting;
    expect(completed.authConfig?.id).toBe(oauthAuthConfigId);
    expect(completed.authConfig?.status).toBe('active');
    const result = await call('acme__whoami');
    expect(result.status).toBe('succeeded');
    expect(text(result)).toContain(`api-key:at${String(issuedCount).padStart(2, '0')}`);
    expect(leaks()).toEqual([]);
  });

  it('fails a setup session whose code exchange gets a 500 echoing the code and client secret, with a clean page, record and webhook', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'acme', providerAuthMethodId: 'oauth' });
    const attempt = await startAttemptOverHttp(setupSession.url);
    remember('state (attempt over HTTP)', attempt.state);
    remember('browser-binding cookie (attempt over HTTP)', attempt.cookieHeader.split('=').slice(1).join('='));
    const before = upstream.tokenRequests().length;
    upstream.faultNextTokenRequests(1, { status: 500, body: `${TOKEN_ERROR_MARKER}: bad code ${FAILING_CODE} for ${clientId}:${CLIENT_SECRET}` });

    const callback = await deliverCallback(
      `${oauthCallbackUrl}?code=${FAILING_CODE}&state=${attempt.state}&iss=${encodeURIComponent(upstream.issuer)}`,
      attempt.cookieHeader,
    );
    outputs.push({ where: 'callback page of the failed exchange', text: callback.body });
    expect(callback.status).toBe(200);
    expect(callback.body).toMatch(/Couldn’t connect/);
    expect(upstream.tokenRequests().length - before).toBe(1);
    const failed = await gatehouse.providers.setupSessions.get(setupSession.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('token_endpoint_error');
    await waitForWebhook('setup_session.failed', setupSession.id);
    expect(leaks()).toEqual([]);
  });

  it('answers wrong keys, wrong MCP secrets and bad bodies carrying secrets without echoing them', async () => {
    const wrongKey = new RawApi(server.url, `${GATEHOUSE_API_KEY}-but-wrong`);
    expect((await wrongKey.get('/v1/sessions')).status).toBe(401);
    raw.answers.push(...wrongKey.answers);

    const wrongSecret = await recordingFetch(session.mcp.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.mcp.secret!}-but-wrong`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(wrongSecret.status).toBe(401);

    const unknownField = await raw.post('/v1/providers/deployments', {
      provider_id: 'acme',
      oauth_client: { client_id: clientId, client_secret: CLIENT_SECRET },
      api_key: USER_API_KEY,
    });
    expect(unknownField.status).toBe(400);
    const tooLong = await raw.post('/v1/providers/deployments', { provider_id: 'keyco', credentials: { api_key: `${DEPLOYMENT_API_KEY}${'x'.repeat(5000)}` } });
    expect(tooLong.status).toBe(400);
    const wrongType = await raw.post('/v1/providers/deployments', { provider_id: 'acme', oauth_client: { client_id: clientId, client_secret: [CLIENT_SECRET] } });
    expect(wrongType.status).toBe(400);
    expect(leaks()).toEqual([]);
  });

  it('shows no secret when every object of the project is listed and read', async () => {
    await sweepEveryObject();
    expect(leaks()).toEqual([]);
  });

  it('revokes the tokens at the provider when the auth configs are deleted, and says so by webhook', async () => {
    const deleted = await gatehouse.providers.authConfigs.delete(oauthAuthConfigId);
    expect(deleted).toMatchObject({ id: oauthAuthConfigId, deleted: true, revocation: { attempted: true, confirmed: true, error: null } });
    const deletedKey = await gatehouse.providers.authConfigs.delete(keyAuthConfigId);
    expect(deletedKey).toMatchObject({ id: keyAuthConfigId, deleted: true, revocation: { attempted: false } });
    await waitForWebhook('auth_config.deleted', oauthAuthConfigId);
    await waitForWebhook('auth_config.deleted', keyAuthConfigId);

    // A call on the deleted grant fails cleanly.
    const result = await call('acme__whoami');
    expect(result.status).toBe('failed');
    expect(leaks()).toEqual([]);
  });

  it('has carried no canary in any log line, API answer, page, MCP answer or webhook, from start to finish', async () => {
    // Every delivery is final, so no payload is still on its way.
    await eventually('every webhook delivery to be final', async () => {
      const deliveries = await gatehouse.webhooks.deliveries.list(webhook.id, { limit: 100 });
      return deliveries.data.length > 0 && deliveries.data.every((delivery) => delivery.status === 'succeeded') ? true : undefined;
    });
    await sweepEveryObject();

    // Not vacuous: the paths ran and were captured.
    const types = new Set(receiver.received.map((request) => request.json.type));
    expect([...types].sort()).toEqual(
      ['auth_config.deleted', 'auth_config.reauthorization_required', 'auth_config.refreshed', 'setup_session.completed', 'setup_session.failed'].sort(),
    );
    expect(issuedCount).toBeGreaterThanOrEqual(5);
    expect(oauthTools.calls().length).toBeGreaterThanOrEqual(5);
    expect(keyTools.calls().map((entry) => entry.subject)).toEqual(expect.arrayContaining(['api-key:uk01', 'api-key:dk01']));
    expect(generated.length).toBeGreaterThanOrEqual(8);
    expect(server.logs()).toMatch(/auth config refreshed/);
    expect(server.logs()).toMatch(/auth config needs re-authorization/);
    expect(everything().length).toBeGreaterThan(100);
    // The detector itself finds each canary, wherever it sits in a text.
    const planted = canaries().map((canary, index) => ({ where: `planted ${index}`, text: `${'.'.repeat(index)}${canary.value}…` }));
    expect(leaks(planted).length).toBeGreaterThanOrEqual(planted.length);

    expect(leaks()).toEqual([]);
  });

  /** Lists and reads every object of the project through the raw API (answers kept in `raw.answers`). */
  async function sweepEveryObject(): Promise<void> {
    const read = async <T = { id: string }>(path: string): Promise<T> => {
      const answer = await raw.get(path);
      expect(answer.status, path).toBe(200);
      return answer.json as T;
    };
    const list = async (path: string) => (await read<{ data: Array<{ id: string }> }>(path)).data;

    for (const provider of await list('/v1/providers')) await read(`/v1/providers/${provider.id}`);
    for (const deployment of await list('/v1/providers/deployments?limit=100')) await read(`/v1/providers/deployments/${deployment.id}`);
    for (const setupSession of await list('/v1/providers/setup-sessions?limit=100')) await read(`/v1/providers/setup-sessions/${setupSession.id}`);
    for (const authConfig of await list('/v1/providers/auth-configs?limit=100')) {
      await read(`/v1/providers/auth-configs/${authConfig.id}`);
      await read(`/v1/providers/auth-configs/${authConfig.id}/events?limit=100`);
    }
    for (const agentSession of await list('/v1/sessions?limit=100')) {
      await read(`/v1/sessions/${agentSession.id}`);
      await read(`/v1/sessions/${agentSession.id}/tool-calls?limit=100`);
      await read(`/v1/sessions/${agentSession.id}/tools`);
    }
    for (const endpoint of await list('/v1/webhooks?limit=100')) {
      await read(`/v1/webhooks/${endpoint.id}`);
      await read(`/v1/webhooks/${endpoint.id}/deliveries?limit=100`);
    }
  }
});
