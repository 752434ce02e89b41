/**
 * REFERENCE §3 rows 1–6 and the token-endpoint faults, against a real oidc-provider upstream:
 * state, replay under concurrency, expiry, open redirect, mix-up, provider error. Each test asserts
 * what the app and the end user see and what reached the provider's token endpoint.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, Gatehouse, SetupSessionExpiredError, SetupSessionFailedError } from '@gatehouse/sdk';
import { launchBrowser } from '../support/browser.js';
import { FakeClock, startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { captureCallback, createOAuthFixture, deliverCallback, startAttemptOverHttp, type OAuthFixture } from '../support/setup-flow.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const APP_REDIRECT = 'https://app.example.com/oauth/done';

describe('OAuth callback security', () => {
  let upstreamA: Upstream;
  let upstreamB: Upstream;
  let server: InProcessGatehouse;
  let browser: Browser;
  let gatehouse: Gatehouse;
  let fixtureA: OAuthFixture;
  let fixtureB: OAuthFixture;
  const clock = new FakeClock();

  beforeAll(async () => {
    [upstreamA, upstreamB] = await Promise.all([startUpstream({ clients: [] }), startUpstream({ clients: [] })]);
    server = await startInProcessGatehouse({
      clock,
      // Short, so the hanging token endpoint below is given up on quickly.
      env: { GATEHOUSE_ALLOWED_REDIRECT_URLS: 'https://app.example.com/oauth', GATEHOUSE_TOKEN_REQUEST_TIMEOUT_MS: '1500' },
    });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    fixtureA = await createOAuthFixture(gatehouse, upstreamA, 'acme-a');
    fixtureB = await createOAuthFixture(gatehouse, upstreamB, 'acme-b');
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([upstreamA?.close(), upstreamB?.close()]);
  });

  const tokenRequestCount = (upstream: Upstream) => upstream.tokenRequests().length;
  const authConfigCount = async (providerId: string) => (await gatehouse.providers.authConfigs.list({ providerId })).data.length;
  const newSession = (fixture: OAuthFixture, extra: { redirectUrl?: string } = {}) =>
    gatehouse.providers.setupSessions.create({ providerId: fixture.providerId, providerAuthMethodId: 'oauth', ...extra });

  describe('state (row 1)', () => {
    it('refuses an altered or missing state with a generic page and no token request', async () => {
      const session = await newSession(fixtureA);
      const attempt = await startAttemptOverHttp(session.url);
      const before = tokenRequestCount(upstreamA);

      const altered = await deliverCallback(`${fixtureA.callbackUrl}?code=abc&state=${attempt.state}x&iss=${encodeURIComponent(upstreamA.issuer)}`, attempt.cookieHeader);
      const missing = await deliverCallback(`${fixtureA.callbackUrl}?code=abc&iss=${encodeURIComponent(upstreamA.issuer)}`, attempt.cookieHeader);

      for (const response of [altered, missing]) {
        expect(response.status).toBe(400);
        expect(response.body).toContain('This link can’t be used');
        expect(response.body).not.toContain(attempt.state);
      }
      expect(tokenRequestCount(upstreamA)).toBe(before);
      expect((await gatehouse.providers.setupSessions.get(session.id)).status).toBe('pending');
    });

    it('refuses the right state from another browser without burning the real attempt, then refuses its replay', async () => {
      const session = await newSession(fixtureA);
      const captured = await captureCallback(browser, session.url, fixtureA.callbackUrl, 'bob');
      const before = tokenRequestCount(upstreamA);

      const noCookie = await deliverCallback(captured.callbackUrl);
      const otherBrowser = await deliverCallback(captured.callbackUrl, `gatehouse_oauth_${session.id}=forged-binding-value`);
      expect(noCookie.status).toBe(400);
      expect(otherBrowser.status).toBe(400);
      expect(tokenRequestCount(upstreamA)).toBe(before);
      expect((await gatehouse.providers.setupSessions.get(session.id)).status).toBe('pending');

      const real = await deliverCallback(captured.callbackUrl, captured.cookieHeader);
      expect(real.status).toBe(200);
      expect(real.body).toMatch(/connected to Acme Cloud/i);
      expect(tokenRequestCount(upstreamA)).toBe(before + 1);

      const replay = await deliverCallback(captured.callbackUrl, captured.cookieHeader);
      expect(replay.status).toBe(400);
      expect(tokenRequestCount(upstreamA)).toBe(before + 1);
      const completed = await gatehouse.providers.setupSessions.get(session.id);
      expect(completed.status).toBe('completed');
      const configs = await gatehouse.providers.authConfigs.list({ providerId: fixtureA.providerId });
      expect(configs.data.filter((config) => config.id === completed.authConfig?.id)).toHaveLength(1);
      await captured.context.close();
    });

    it('refuses a callback whose state belongs to another deployment', async () => {
      const session = await newSession(fixtureA);
      const attempt = await startAttemptOverHttp(session.url);
      const response = await deliverCallback(`${fixtureB.callbackUrl}?code=abc&state=${attempt.state}&iss=${encodeURIComponent(upstreamB.issuer)}`, attempt.cookieHeader);
      expect(response.status).toBe(400);
      expect(tokenRequestCount(upstreamB)).toBe(0);
    });
  });

  describe('code replay under concurrency (row 2)', () => {
    it('makes exactly one token exchange and one auth config out of 100 simultaneous callbacks', async () => {
      const session = await newSession(fixtureA, { redirectUrl: APP_REDIRECT });
      const captured = await captureCallback(browser, session.url, fixtureA.callbackUrl, 'carol');
      const before = tokenRequestCount(upstreamA);
      const configsBefore = await authConfigCount(fixtureA.providerId);

      const responses = await Promise.all(Array.from({ length: 100 }, () => deliverCallback(captured.callbackUrl, captured.cookieHeader)));

      const redirected = responses.filter((response) => response.status === 302);
      expect(redirected).toHaveLength(1);
      expect(responses.filter((response) => response.status === 400)).toHaveLength(99);
      const location = new URL(redirected[0]!.location!);
      expect(`${location.origin}${location.pathname}`).toBe(APP_REDIRECT);
      expect(location.searchParams.get('setup_session_id')).toBe(session.id);
      expect(location.searchParams.get('status')).toBe('completed');
      expect(tokenRequestCount(upstreamA)).toBe(before + 1);
      expect(await authConfigCount(fixtureA.providerId)).toBe(configsBefore + 1);
      await captured.context.close();
    });
  });

  describe('expiry (row 3)', () => {
    it('refuses the callback after expiry with an expired page and no token request; the SDK then rejects at once', async () => {
      const session = await newSession(fixtureA);
      const attempt = await startAttemptOverHttp(session.url);
      const before = tokenRequestCount(upstreamA);

      clock.advance(31 * 60_000);
      const callback = await deliverCallback(
        `${fixtureA.callbackUrl}?code=abc&state=${attempt.state}&iss=${encodeURIComponent(upstreamA.issuer)}`,
        attempt.cookieHeader,
      );
      expect(callback.status).toBe(410);
      expect(callback.body).toMatch(/expired/i);
      expect(tokenRequestCount(upstreamA)).toBe(before);
      expect((await gatehouse.providers.setupSessions.get(session.id)).status).toBe('expired');

      const error = await gatehouse.waitForSetupSession([session]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SetupSessionExpiredError);
      expect((error as SetupSessionExpiredError).setupSession.id).toBe(session.id);
    });

    it('wakes a waiting SDK with a rejection when the user opens the link after expiry', async () => {
      const session = await newSession(fixtureA);
      const settled = gatehouse.waitForSetupSession([session]).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      // Let the long-poll reach the server and start waiting before time moves.
      await new Promise((resolve) => setTimeout(resolve, 300));
      clock.advance(31 * 60_000);

      const page = await fetch(session.url);
      expect(page.status).toBe(410);
      expect(await page.text()).toMatch(/expired/i);
      expect(await settled).toBeInstanceOf(SetupSessionExpiredError);
    });
  });

  describe('open redirect (row 4)', () => {
    it.each([
      ['a host off the allow-list', 'https://evil.example.net/oauth'],
      ['a protocol-relative URL', '//evil.example.net/oauth'],
      ['a look-alike host', 'https://app.example.com.evil.net/oauth'],
      ['a javascript: URL', 'javascript:alert(document.cookie)'],
      ['credentials in front of another host', 'https://app.example.com@evil.net/oauth'],
    ])('refuses %s at creation with a 400 naming redirect_url', async (_why, redirectUrl) => {
      const error = await newSession(fixtureA, { redirectUrl }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).status).toBe(400);
      expect((error as BadRequestError).message).toMatch(/redirect_url/);
    });
  });

  describe('mix-up (row 5)', () => {
    it('rejects an authorization response issued by another server, and sends the code to no token endpoint', async () => {
      const sessionB = await newSession(fixtureB);
      const fromB = await captureCallback(browser, sessionB.url, fixtureB.callbackUrl, 'dave');
      const codeFromB = new URL(fromB.callbackUrl).searchParams.get('code')!;
      await fromB.context.close();

      const sessionA = await newSession(fixtureA);
      const attemptA = await startAttemptOverHttp(sessionA.url);
      const beforeA = tokenRequestCount(upstreamA);
      const beforeB = tokenRequestCount(upstreamB);

      const response = await deliverCallback(
        `${fixtureA.callbackUrl}?code=${codeFromB}&state=${attemptA.state}&iss=${encodeURIComponent(upstreamB.issuer)}`,
        attemptA.cookieHeader,
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatch(/unexpected|expected provider/i);
      expect(tokenRequestCount(upstreamA)).toBe(beforeA);
      expect(tokenRequestCount(upstreamB)).toBe(beforeB);
      const failed = await gatehouse.providers.setupSessions.get(sessionA.id);
      expect(failed.status).toBe('failed');
      expect(failed.error?.code).toBe('invalid_authorization_response');
      expect(failed.authConfig).toBeNull();
    });

    it('rejects a response without iss from a server that promises to send it', async () => {
      const session = await newSession(fixtureA);
      const attempt = await startAttemptOverHttp(session.url);
      const before = tokenRequestCount(upstreamA);
      await deliverCallback(`${fixtureA.callbackUrl}?code=abc&state=${attempt.state}`, attempt.cookieHeader);
      expect(tokenRequestCount(upstreamA)).toBe(before);
      expect((await gatehouse.providers.setupSessions.get(session.id)).error?.code).toBe('invalid_authorization_response');
    });
  });

  describe('provider says no (row 6)', () => {
    it('ends the session failed with the escaped reason, and the waiting SDK rejects at once', async () => {
      const session = await newSession(fixtureA);
      const attempt = await startAttemptOverHttp(session.url);
      const waiting = gatehouse.waitForSetupSession([session]).catch((error: unknown) => error);
      const description = '<script>alert("owned")</script> The user cancelled';
      const response = await deliverCallback(
        `${fixtureA.callbackUrl}?error=access_denied&error_description=${encodeURIComponent(description)}&state=${attempt.state}&iss=${encodeURIComponent(upstreamA.issuer)}`,
        attempt.cookieHeader,
      );
      expect(response.status).toBe(200);
      expect(response.body).not.toContain('<script>alert');
      expect(response.body).toContain('&lt;script&gt;');

      const error = await waiting;
      expect(error).toBeInstanceOf(SetupSessionFailedError);
      expect((error as SetupSessionFailedError).setupSession.error?.code).toBe('access_denied');
      expect((error as SetupSessionFailedError).setupSession.error?.message).toContain('The user cancelled');
    });

    it('fails the session as an invalid response, without a token request, when the provider sends no code', async () => {
      const session = await newSession(fixtureA);
      const attempt = await startAttemptOverHttp(session.url);
      const before = tokenRequestCount(upstreamA);
      const response = await deliverCallback(`${fixtureA.callbackUrl}?state=${attempt.state}&iss=${encodeURIComponent(upstreamA.issuer)}`, attempt.cookieHeader);
      expect(response.status).toBe(200);
      const failed = await gatehouse.providers.setupSessions.get(session.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toEqual({ code: 'invalid_authorization_response', message: expect.stringMatching(/without an authorization code/) });
      expect(tokenRequestCount(upstreamA)).toBe(before);
    });

    it('sends the browser back to the app with status=failed when the app gave a redirect URL', async () => {
      const session = await newSession(fixtureA, { redirectUrl: APP_REDIRECT });
      const attempt = await startAttemptOverHttp(session.url);
      const response = await deliverCallback(
        `${fixtureA.callbackUrl}?error=access_denied&state=${attempt.state}&iss=${encodeURIComponent(upstreamA.issuer)}`,
        attempt.cookieHeader,
      );
      expect(response.status).toBe(302);
      const location = new URL(response.location!);
      expect(location.searchParams.get('status')).toBe('failed');
      expect(location.searchParams.get('error')).toBe('access_denied');
    });

    it('is what happens when the user presses cancel at the real upstream', async () => {
      const session = await newSession(fixtureA);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(session.url);
      await Promise.all([page.waitForURL((url) => url.href.startsWith(upstreamA.issuer)), page.getByRole('link', { name: /Continue to/ }).click()]);
      await page.locator('input[name="login"]').fill('erin');
      await page.locator('input[name="password"]').fill('x');
      await Promise.all([page.waitForURL(/interaction/), page.locator('form button[type="submit"]').click()]);
      await Promise.all([page.waitForURL((url) => url.href.startsWith(server.url)), page.getByRole('link', { name: /cancel/i }).click()]);
      expect(await page.locator('h1').textContent()).toMatch(/not connected|couldn|failed|denied/i);
      await context.close();
      const failed = await gatehouse.providers.setupSessions.get(session.id);
      expect(failed.status).toBe('failed');
      expect(failed.error?.code).toBe('access_denied');
    });
  });

  describe('token endpoint faults', () => {
    it.each([
      ['a 500', { status: 500, body: 'boom' }],
      ['a 503 with Retry-After', { status: 503, headers: { 'retry-after': '120' }, body: 'busy' }],
      ['a truncated JSON body', { status: 200, headers: { 'content-type': 'application/json' }, body: '{"' }],
      ['a JSON array', { status: 200, body: [] }],
      ['an HTML page', { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>login</html>' }],
      ['a 200 without access_token', { status: 200, body: { token_type: 'bearer', refresh_token: 'canary-refresh-in-fault' } }],
      ['a Slack-style ok:false', { status: 200, body: { ok: false, error: 'invalid_code' } }],
      ['a token endpoint that never answers', { hang: true }],
      ['a connection dropped without an answer', { destroySocket: true }],
    ] as const)('fails the session cleanly on %s, without an auth config or a token in the logs', async (_why, fault) => {
      const session = await newSession(fixtureA);
      const attempt = await startAttemptOverHttp(session.url);
      const configsBefore = await authConfigCount(fixtureA.providerId);
      upstreamA.faultNextTokenRequests(1, fault);
      const response = await deliverCallback(
        `${fixtureA.callbackUrl}?code=fault-code-canary&state=${attempt.state}&iss=${encodeURIComponent(upstreamA.issuer)}`,
        attempt.cookieHeader,
      );
      expect(response.status).toBe(200);
      const failed = await gatehouse.providers.setupSessions.get(session.id);
      expect(failed.status).toBe('failed');
      expect(failed.error?.message).not.toMatch(/canary|<html>/);
      // A hang is cut off by GATEHOUSE_TOKEN_REQUEST_TIMEOUT_MS and named as such.
      if ('hang' in fault) expect(failed.error?.code).toBe('token_endpoint_timeout');
      expect(failed.authConfig).toBeNull();
      expect(await authConfigCount(fixtureA.providerId)).toBe(configsBefore);
      expect(server.logs()).not.toContain('fault-code-canary');
      expect(server.logs()).not.toContain('canary-refresh-in-fault');
    });
  });
});
