/**
 * Steps of the end user's side of a setup session, driven in Chromium or with plain HTTP.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Gatehouse } from '@gatehouse/sdk';
import { loginAndConsentAtUpstream } from './browser.js';
import type { Upstream } from './upstream.js';

/** A provider backed by an upstream oidc-provider, deployed in a Gatehouse project with its own client. */
export interface OAuthFixture {
  providerId: string;
  deploymentId: string;
  callbackUrl: string;
  clientId: string;
}

/**
 * Creates a custom provider whose OAuth server is `upstream`, a deployment with a fresh client,
 * and registers that client (with the deployment's callback URL) at the upstream.
 */
export async function createOAuthFixture(
  gatehouse: Gatehouse,
  upstream: Upstream,
  providerId = `acme-${randomBytes(3).toString('hex')}`,
  mcpServer?: { url: string },
): Promise<OAuthFixture> {
  await gatehouse.providers.create({
    id: providerId,
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
    ...(mcpServer ? { mcpServer } : {}),
  });
  const clientId = `client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const deployment = await gatehouse.providers.deployments.create({ providerId, oauthClient: { clientId, clientSecret } });
  await upstream.addClient({ clientId, clientSecret, redirectUris: [deployment.callbackUrl] });
  return { providerId, deploymentId: deployment.id, callbackUrl: deployment.callbackUrl, clientId };
}

/**
 * The whole end-user journey in a fresh browser context: open the setup URL, press "Continue",
 * log in and consent at the upstream, and land on the page Gatehouse (or the app) shows at the end.
 */
export async function authorizeInBrowser(browser: Browser, setupUrl: string, login: string): Promise<{ page: Page; context: BrowserContext }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(setupUrl);
  await Promise.all([page.waitForURL((url) => !url.href.startsWith(setupUrl)), page.getByRole('link', { name: /Continue to/ }).click()]);
  await loginAndConsentAtUpstream(page, { login });
  return { page, context };
}

/**
 * Runs the journey but stops the browser at the OAuth callback without delivering it, and returns
 * the callback URL the provider produced and the browser's cookie header, so a test can replay,
 * alter or move it.
 */
export async function captureCallback(
  browser: Browser,
  setupUrl: string,
  callbackUrl: string,
  login: string,
): Promise<{ callbackUrl: string; cookieHeader: string; context: BrowserContext }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  let captured: string | undefined;
  // The callback is reached through the provider's redirect, which page.route() does not see;
  // the DevTools Fetch domain pauses redirect hops too.
  const devtools = await context.newCDPSession(page);
  await devtools.send('Fetch.enable', { patterns: [{ urlPattern: `${callbackUrl}*`, requestStage: 'Request' }] });
  devtools.on('Fetch.requestPaused', (event) => {
    captured = event.request.url;
    // A 204 would cancel the navigation the login helper waits for: answer with a page instead.
    void devtools.send('Fetch.fulfillRequest', {
      requestId: event.requestId,
      responseCode: 200,
      responseHeaders: [{ name: 'content-type', value: 'text/html' }],
      body: Buffer.from('<!doctype html><title>held by the test</title>').toString('base64'),
    });
  });
  await page.goto(setupUrl);
  await Promise.all([page.waitForURL((url) => !url.href.startsWith(setupUrl)), page.getByRole('link', { name: /Continue to/ }).click()]);
  await loginAndConsentAtUpstream(page, { login });
  if (!captured) throw new Error(`the browser never reached ${callbackUrl} (at ${page.url()})`);
  const cookies = await context.cookies(callbackUrl);
  return { callbackUrl: captured, cookieHeader: cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; '), context };
}

/**
 * Starts an authorization attempt without a browser: `GET /setup/:id/authorize` with redirects off.
 * Returns the provider URL it redirects to, its `state`, and the browser-binding cookie it set.
 */
export async function startAttemptOverHttp(setupUrl: string): Promise<{ authorizationUrl: URL; state: string; cookieHeader: string }> {
  const response = await fetch(`${setupUrl}/authorize`, { redirect: 'manual' });
  if (response.status !== 302) throw new Error(`expected a redirect, got ${response.status}`);
  const authorizationUrl = new URL(response.headers.get('location')!);
  const cookieHeader = response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0])
    .join('; ');
  return { authorizationUrl, state: authorizationUrl.searchParams.get('state')!, cookieHeader };
}

/** GETs a callback URL as the browser would (with `cookieHeader`), without following redirects. */
export async function deliverCallback(url: string, cookieHeader?: string): Promise<{ status: number; body: string; location: string | null }> {
  const response = await fetch(url, { redirect: 'manual', headers: cookieHeader ? { cookie: cookieHeader } : {} });
  return { status: response.status, body: await response.text(), location: response.headers.get('location') };
}
