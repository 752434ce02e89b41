/**
 * Proves the end-to-end harness with real parts: oidc-provider (./upstream.ts) as the provider's
 * authorization server, headless Chromium (./browser.ts) as the user, oauth4webapi as the client.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import * as oauth from 'oauth4webapi';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser, loginAndConsentAtUpstream } from './browser.js';
import { startUpstream, type Upstream } from './upstream.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** A loopback redirect_uri that records every request it gets, in order. */
interface CallbackServer {
  url: string;
  /** The next request not yet taken (waits for it if none arrived yet). */
  next(): Promise<URL>;
  close(): Promise<void>;
}

async function startCallbackServer(): Promise<CallbackServer> {
  const received: URL[] = [];
  const waiters: Array<(url: URL) => void> = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end(); // e.g. the browser's /favicon.ico
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(url);
    else received.push(url);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>callback</title><p>received</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    next: () => {
      const ready = received.shift();
      return ready ? Promise.resolve(ready) : new Promise<URL>((resolve) => waiters.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const CLIENT_ID = 'gatehouse-e2e';
const CLIENT_SECRET = 'upstream-client-secret-0123456789';
const SCOPE = 'openid offline_access profile email repo.read';

describe('test/support upstream + browser harness', () => {
  let callback: CallbackServer;
  let upstream: Upstream;
  let browser: Browser;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: CLIENT_ID };
  const clientAuth = oauth.ClientSecretBasic(CLIENT_SECRET);

  beforeAll(async () => {
    callback = await startCallbackServer();
    [upstream, browser] = await Promise.all([
      startUpstream({
        clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [callback.url] }],
        rotateRefreshTokens: true,
        accessTokenTtlSeconds: 600,
        scopes: ['openid', 'offline_access', 'profile', 'email', 'repo.read', 'repo.write'],
      }),
      launchBrowser(),
    ]);
    const issuer = new URL(upstream.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), upstream?.close(), callback?.close()]);
  });

  /** A full browser authorization (fresh cookies) up to the validated callback parameters. */
  async function authorizeInBrowser(login: string) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint!);
    authorizationUrl.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: callback.url,
      scope: SCOPE,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }).toString();

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const arrived = callback.next();
      await loginAndConsentAtUpstream(page, { login, url: authorizationUrl.href });
      const callbackUrl = await arrived;
      expect(page.url()).toBe(callbackUrl.href);
      return { callbackUrl, state, codeVerifier };
    } finally {
      await context.close();
    }
  }

  async function exchange(callbackUrl: URL, state: string, codeVerifier: string) {
    const params = oauth.validateAuthResponse(as, client, callbackUrl, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, clientAuth, params, callback.url, codeVerifier, insecure,
    );
    return oauth.processAuthorizationCodeResponse(as, client, response);
  }

  it('advertises S256, the RFC 9207 iss parameter, introspection and revocation', async () => {
    expect(as.issuer).toBe(upstream.issuer);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.authorization_endpoint).toBe(upstream.authorizationEndpoint);
    expect(as.token_endpoint).toBe(upstream.tokenEndpoint);
    expect(as.introspection_endpoint).toBe(upstream.introspectionEndpoint);
    expect(as.revocation_endpoint).toBe(upstream.revocationEndpoint);
    expect(as.scopes_supported).toEqual(expect.arrayContaining(['offline_access', 'repo.read']));

    // The RFC 8414 path answers with the same document.
    const rfc8414 = await fetch(`${upstream.url}/.well-known/oauth-authorization-server`);
    expect(rfc8414.status).toBe(200);
    expect(((await rfc8414.json()) as { issuer: string }).issuer).toBe(upstream.issuer);
  });

  it('runs a PKCE code flow in Chromium: iss checked, access + refresh token, introspection, rotation', async () => {
    const before = upstream.tokenRequests().length;
    const { callbackUrl, state, codeVerifier } = await authorizeInBrowser('alice');

    expect(callbackUrl.searchParams.get('iss')).toBe(upstream.issuer);
    expect(callbackUrl.searchParams.get('state')).toBe(state);
    // A wrong iss (mix-up) is rejected by the client library.
    const mixedUp = new URL(callbackUrl);
    mixedUp.searchParams.set('iss', 'http://127.0.0.1:1');
    expect(() => oauth.validateAuthResponse(as, client, mixedUp, state)).toThrow(/iss/);

    const tokens = await exchange(callbackUrl, state, codeVerifier);
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.access_token.split('.')).toHaveLength(1); // opaque, not a JWT
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    // oidc-provider leaves offline_access out of the access token's scope (it is the refresh token's).
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'repo.read']));
    expect(oauth.getValidatedIdTokenClaims(tokens)?.sub).toBe('alice');

    const exchanged = upstream.tokenRequests().slice(before);
    expect(exchanged).toHaveLength(1);
    expect(exchanged[0]).toMatchObject({ grantType: 'authorization_code', clientId: CLIENT_ID, faulted: false });

    const introspection = await oauth.processIntrospectionResponse(
      as, client,
      await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, insecure),
    );
    expect(introspection.active).toBe(true);
    expect(introspection.sub).toBe('alice');
    expect(introspection.client_id).toBe(CLIENT_ID);
    expect(introspection.scope?.split(' ')).toContain('repo.read');

    const refreshed = await oauth.processRefreshTokenResponse(
      as, client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure),
    );
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(upstream.tokenRequests().slice(before).map((r) => r.grantType)).toEqual([
      'authorization_code',
      'refresh_token',
    ]);

    // The rotated-away refresh token is dead.
    await expect(
      oauth.processRefreshTokenResponse(
        as, client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses an authorization request without a PKCE code_challenge (or with plain)', async () => {
    const before = upstream.tokenRequests().length;
    const variants: Array<Record<string, string>> = [
      {},
      { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' },
    ];
    for (const pkce of variants) {
      const url = new URL(upstream.authorizationEndpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: CLIENT_ID,
        redirect_uri: callback.url,
        scope: 'openid offline_access',
        state: 'no-pkce-state',
        ...pkce,
      }).toString();
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBeGreaterThanOrEqual(300);
      expect(response.status).toBeLessThan(400);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(callback.url);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('code')).toBeNull();
      expect(location.searchParams.get('iss')).toBe(upstream.issuer);
      expect(() => oauth.validateAuthResponse(as, client, location, 'no-pkce-state')).toThrow();
    }
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it('injects token endpoint faults: the next request fails, the one after succeeds', async () => {
    const { callbackUrl, state, codeVerifier } = await authorizeInBrowser('bob');
    const tokens = await exchange(callbackUrl, state, codeVerifier);
    const before = upstream.tokenRequests().length;

    upstream.faultNextTokenRequests(1, { status: 503, headers: { 'retry-after': '1' }, body: 'busy' });
    const faulted = await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure);
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('retry-after')).toBe('1');
    expect(await faulted.text()).toBe('busy');

    // The fault never reached oidc-provider: the same refresh token still works.
    const refreshed = await oauth.processRefreshTokenResponse(
      as, client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure),
    );
    expect(refreshed.access_token).toEqual(expect.any(String));
    expect(upstream.tokenRequests().slice(before)).toMatchObject([
      { grantType: 'refresh_token', faulted: true },
      { grantType: 'refresh_token', faulted: false },
    ]);

    // Truncated JSON with a JSON content type.
    upstream.faultNextTokenRequests(1, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"' });
    await expect(
      oauth.processRefreshTokenResponse(
        as, client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, insecure),
      ),
    ).rejects.toMatchObject({ code: oauth.PARSE_ERROR });

    // A hanging token endpoint: only the client's own deadline ends the request.
    upstream.faultNextTokenRequests(1, { hang: true });
    await expect(
      oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, {
        ...insecure,
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();

    // The override rewrites real responses: a rotation that omits the new refresh token.
    upstream.setResponseOverride((r) =>
      r.status === 200 ? { status: 200, body: { ...(r.body as object), refresh_token: undefined } } : undefined,
    );
    try {
      const withoutRefresh = await oauth.processRefreshTokenResponse(
        as, client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, insecure),
      );
      expect(withoutRefresh.access_token).toEqual(expect.any(String));
      expect(withoutRefresh.refresh_token).toBeUndefined();
    } finally {
      upstream.setResponseOverride(undefined);
    }
    expect(upstream.tokenRequests().slice(-1)[0]).toMatchObject({ grantType: 'refresh_token', overridden: true });
  });

  it('revokeGrantsFor(account) kills that account\'s tokens', async () => {
    const { callbackUrl, state, codeVerifier } = await authorizeInBrowser('carol');
    const tokens = await exchange(callbackUrl, state, codeVerifier);

    expect(upstream.revokeGrantsFor('carol')).toBe(1);

    const introspection = await oauth.processIntrospectionResponse(
      as, client,
      await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, insecure),
    );
    expect(introspection.active).toBe(false);
    await expect(
      oauth.processRefreshTokenResponse(
        as, client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
