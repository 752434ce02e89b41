/**
 * Slack's token response shape end to end, against a local stub of Slack's `oauth.v2.authorize` and
 * `oauth.v2.access` (as documented at docs.slack.dev): scopes asked as a comma-separated `user_scope`,
 * the user token nested at `authed_user.access_token` beside a bot token, and the user's scopes and
 * expiry inside `authed_user`. The hosted flow is driven with fetch (redirects followed by hand, the
 * browser-binding cookie carried along), and a tool call proves which token reaches the tool server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '@gatehouse/sdk';
import { FakeClock, startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { startToolServer, type ToolServer } from '../support/mcp-tool-server.js';

const USER_TOKEN = 'xoxp-1111-2222-user-token-9f3a';
const BOT_TOKEN = 'xoxb-1111-2222-bot-token-7c1d';
const EXPIRES_IN = 43_200;

interface SlackStub {
  url: string;
  authorizeQueries: URLSearchParams[];
  tokenRequests: URLSearchParams[];
  close(): Promise<void>;
}

/** Slack's two OAuth endpoints: authorize redirects straight back with a code; access answers as Slack does. */
async function startSlackStub(): Promise<SlackStub> {
  const authorizeQueries: URLSearchParams[] = [];
  const tokenRequests: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (req.method === 'GET' && url.pathname === '/oauth/v2/authorize') {
      authorizeQueries.push(url.searchParams);
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', 'slack-code-1');
      back.searchParams.set('state', url.searchParams.get('state')!);
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/oauth.v2.access') {
      let body = '';
      req.on('data', (chunk) => (body += String(chunk)));
      req.on('end', () => {
        tokenRequests.push(new URLSearchParams(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ok: true,
            app_id: 'A0KRD7HC3',
            authed_user: { id: 'U1234', scope: 'channels:history,chat:write', access_token: USER_TOKEN, token_type: 'user', refresh_token: 'xoxe-1-refresh', expires_in: EXPIRES_IN },
            scope: 'commands,incoming-webhook',
            token_type: 'bot',
            access_token: BOT_TOKEN,
            bot_user_id: 'U0KRQLJ9H',
            team: { id: 'T9TK3CUKW', name: 'Slack Softball Team' },
            enterprise: null,
            is_enterprise_install: false,
          }),
        );
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, authorizeQueries, tokenRequests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The cookies of `response` as a Cookie header, added to `jar`. */
function keepCookies(response: Response, jar: Map<string, string>): string {
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(';');
    const [name, ...value] = pair!.split('=');
    jar.set(name!.trim(), value.join('='));
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

describe('Slack-style nested token response', () => {
  const clock = new FakeClock();
  let slack: SlackStub;
  let toolServer: ToolServer;
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let deploymentId: string;

  beforeAll(async () => {
    // Far from the wall clock, so an expiry computed from Date.now() instead of the server's clock shows.
    clock.advance(5 * 3_600_000);
    slack = await startSlackStub();
    // Accepts the user token only: a bot token (or none) is refused with 401.
    toolServer = await startToolServer({ name: 'slack', auth: { type: 'api-key', header: 'authorization', validKeys: [`Bearer ${USER_TOKEN}`] } });
    server = await startInProcessGatehouse({ clock });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
    // Slack's catalog method (packages/server/catalog/providers.yaml) with the stub's URLs.
    await gatehouse.providers.create({
      id: 'slack-stub',
      name: 'Slack',
      authMethods: [
        {
          id: 'oauth',
          type: 'oauth2',
          authorizationUrl: `${slack.url}/oauth/v2/authorize`,
          tokenUrl: `${slack.url}/api/oauth.v2.access`,
          scopes: ['channels:history', 'chat:write'],
          scopeSeparator: ',',
          scopeParameter: 'user_scope',
          tokenEndpointAuthMethod: 'client_secret_basic',
          accessTokenPath: 'authed_user.access_token',
        },
      ],
      mcpServer: { url: toolServer.url },
    });
    deploymentId = (await gatehouse.providers.deployments.create({ providerId: 'slack-stub', oauthClient: { clientId: 'slack-client', clientSecret: 'slack-secret' } })).id;
  });

  afterAll(async () => {
    await server?.close();
    await toolServer?.close();
    await slack?.close();
  });

  it('stores the nested user token with its scopes and expiry, and the tool server receives that token', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'slack-stub', providerAuthMethodId: 'oauth' });
    const waiting = gatehouse.waitForSetupSession([setupSession]);
    const before = clock.now().getTime();

    const jar = new Map<string, string>();
    const start = await fetch(`${setupSession.url}/authorize`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    keepCookies(start, jar);
    const atSlack = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    expect(atSlack.status).toBe(302);
    const callback = await fetch(atSlack.headers.get('location')!, { headers: { cookie: keepCookies(atSlack, jar) }, redirect: 'manual' });
    expect(callback.status).toBe(200);
    const completed = await waiting;
    const after = clock.now().getTime();

    // Scopes went out as Slack wants them: comma-joined, in user_scope.
    const [authorize] = slack.authorizeQueries;
    expect(authorize?.get('user_scope')).toBe('channels:history,chat:write');
    expect(authorize?.has('scope')).toBe(false);
    expect(slack.tokenRequests).toHaveLength(1);

    const authConfig = await gatehouse.providers.authConfigs.get(completed.authConfig!.id);
    expect(authConfig.status).toBe('active');
    expect(authConfig.scopes).toEqual(['channels:history', 'chat:write']);
    const expiresAt = Date.parse(authConfig.accessTokenExpiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + EXPIRES_IN * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + EXPIRES_IN * 1000);

    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: deploymentId, providerAuthConfigId: authConfig.id }] });
    const result = await gatehouse.sessions.toolCalls.create(session.id, { name: 'slack-stub__whoami', arguments: {} });
    expect(result.status).toBe('succeeded');
    expect(JSON.stringify(result.content)).toContain(`api-key:${USER_TOKEN.slice(-4)}`);

    for (const token of [USER_TOKEN, BOT_TOKEN]) {
      expect(JSON.stringify([authConfig, completed])).not.toContain(token);
      expect(server.logs()).not.toContain(token);
    }
  });
});
