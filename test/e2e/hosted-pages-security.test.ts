/**
 * The hosted pages as a browser receives them from a real server (REFERENCE §3 "provider says no"
 * and SECURITY.md "XSS and clickjacking", "cookie theft"): the OAuth start page, the API-key form
 * (first view and after a bad paste), the callback's failure and invalid-link pages, and the
 * not-found page each carry a strict Content-Security-Policy (no script at all, no framing), the
 * anti-framing, nosniff, referrer and no-store headers; cookies are `HttpOnly; SameSite=Lax`, scoped by
 * path, and `Secure` exactly when GATEHOUSE_PUBLIC_URL is https; provider-supplied text (a custom
 * provider named with a `<script>`) is escaped; no secret (the OAuth client secret, `state`, the PKCE
 * verifier or challenge, the browser-binding cookie) is written into any page.
 *
 * Two servers: one on its plain-http address, one whose GATEHOUSE_PUBLIC_URL is https (talked to on
 * its http loopback address, as a TLS-terminating proxy would).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessGatehouse, type InProcessGatehouse } from '../support/gatehouse.js';
import { RawApi } from '../support/security.js';

const RUN = randomBytes(6).toString('hex');
const CLIENT_SECRET = `hosted-pages-client-secret-${RUN}`;
const PROVIDER_NAME = `Acme <script>alert("name-${RUN}")</script> & "Co"`;
const ESCAPED_NAME = `Acme &lt;script&gt;alert(&quot;name-${RUN}&quot;)&lt;/script&gt; &amp; &quot;Co&quot;`;
const HTML_DESCRIPTION = `<img src=x onerror=alert("description-${RUN}")>`;
const APP_ORIGIN = 'https://app.example.test';

interface Page {
  status: number;
  headers: Headers;
  html: string;
  cookies: ParsedCookie[];
}

interface ParsedCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

function parseSetCookie(header: string): ParsedCookie {
  const [pair, ...attributes] = header.split(';').map((part) => part.trim());
  const [name, ...value] = pair!.split('=');
  return {
    name: name!,
    value: value.join('='),
    attributes: new Map(
      attributes.map((attribute) => {
        const [key, ...rest] = attribute.split('=');
        return [key!.toLowerCase(), rest.join('=')];
      }),
    ),
  };
}

async function load(url: string, init: RequestInit = {}): Promise<Page> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  return { status: response.status, headers: response.headers, html: await response.text(), cookies: response.headers.getSetCookie().map(parseSetCookie) };
}

/** The CSP as directive → sources. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((directive) => directive.trim())
      .filter(Boolean)
      .map((directive) => {
        const [name, ...sources] = directive.split(/\s+/);
        return [name!.toLowerCase(), sources];
      }),
  );
}

/** The headers every hosted page carries, and a CSP that allows no script and no framing. */
function expectHardenedPage(page: Page, what: string, formActionOrigins: string[] = []) {
  expect(page.headers.get('content-type'), what).toMatch(/^text\/html/);
  const csp = page.headers.get('content-security-policy');
  expect(csp, what).toBeTruthy();
  const policy = directives(csp!);
  expect(["'none'", "'self'"], what).toContain(policy.get('default-src')?.join(' '));
  // Scripts fall back to default-src: neither may allow inline or evaluated script, or any host.
  for (const directive of ['script-src', 'script-src-elem', 'script-src-attr', 'default-src']) {
    for (const source of policy.get(directive) ?? []) {
      expect(["'none'", "'self'"], `${what}: ${directive} ${source}`).toContain(source);
    }
  }
  expect(policy.get('style-src') ?? [], what).not.toContain("'unsafe-inline'");
  expect(policy.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(policy.get('base-uri'), what).toEqual(["'none'"]);
  expect(policy.get('form-action'), what).toEqual(["'self'", ...formActionOrigins]);
  expect(page.headers.get('x-frame-options'), what).toBe('DENY');
  expect(page.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(page.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(page.headers.get('cache-control'), what).toBe('no-store');
  // Nothing the CSP would have to stop: no script element, no event handler, no javascript: URL.
  expect(page.html, what).not.toMatch(/<script/i);
  expect(page.html, what).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
  expect(page.html, what).not.toMatch(/javascript:/i);
}

/**
 * No secret in the page: none of the given values, and no token-shaped string (43+ base64url
 * characters: a 256-bit `state` or PKCE verifier) except those the page is meant to carry.
 */
function expectNoSecrets(page: Page, what: string, secrets: string[], allowedTokens: string[] = []) {
  for (const secret of secrets) expect(page.html, `${what} contains a secret`).not.toContain(secret);
  const tokens = (page.html.match(/[A-Za-z0-9_-]{43,}/g) ?? []).filter((token) => !allowedTokens.includes(token));
  expect(tokens, what).toEqual([]);
}

function expectCookie(cookie: ParsedCookie | undefined, path: string, secure: boolean) {
  expect(cookie).toBeDefined();
  expect(cookie!.attributes.has('httponly')).toBe(true);
  expect(cookie!.attributes.get('samesite')?.toLowerCase()).toBe('lax');
  expect(cookie!.attributes.get('path')).toBe(path);
  expect(cookie!.attributes.has('secure')).toBe(secure);
  expect(Number(cookie!.attributes.get('max-age'))).toBeGreaterThan(0);
}

describe.each([
  { label: 'plain http public URL', publicUrl: undefined, secure: false },
  { label: 'https public URL behind a proxy', publicUrl: 'https://gatehouse.example.test', secure: true },
])('hosted pages ($label)', ({ publicUrl, secure }) => {
  let server: InProcessGatehouse;
  let api: RawApi;
  let deploymentId: string;

  /** A URL Gatehouse handed out (on its public URL), on the address the test can reach. */
  const reachable = (url: string) => {
    const parsed = new URL(url);
    return `${server.url}${parsed.pathname}${parsed.search}`;
  };

  const createSetup = async (method: 'oauth' | 'api_key', extra: Record<string, unknown> = {}) => {
    const answer = await api.post('/v1/providers/setup-sessions', { provider_id: 'acme', provider_auth_method_id: method, ...extra });
    expect(answer.status, answer.text).toBe(201);
    return answer.json as { id: string; url: string };
  };

  beforeAll(async () => {
    server = await startInProcessGatehouse({
      env: { GATEHOUSE_ALLOWED_REDIRECT_URLS: `${APP_ORIGIN}/`, ...(publicUrl ? { GATEHOUSE_PUBLIC_URL: publicUrl } : {}) },
    });
    api = new RawApi(server.url, server.apiKey);
    const provider = await api.post('/v1/providers', {
      id: 'acme',
      name: PROVIDER_NAME,
      description: HTML_DESCRIPTION,
      auth_methods: [
        {
          id: 'oauth',
          type: 'oauth2',
          authorization_url: 'https://auth.example.test/authorize',
          token_url: 'https://auth.example.test/token',
          scopes: ['read', 'write'],
          scope_descriptions: { read: `<b>read</b> ${HTML_DESCRIPTION}` },
        },
        {
          id: 'api_key',
          type: 'api_key',
          label: `<i>Key</i>`,
          description: HTML_DESCRIPTION,
          placeholder: `"><script>alert(1)</script>`,
          injection: { header: 'x-api-key' },
        },
      ],
    });
    expect(provider.status, provider.text).toBe(201);
    const deployment = await api.post('/v1/providers/deployments', { provider_id: 'acme', oauth_client: { client_id: 'acme-client', client_secret: CLIENT_SECRET } });
    expect(deployment.status, deployment.text).toBe(201);
    deploymentId = (deployment.json as { id: string }).id;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('serves the OAuth start page hardened, with the provider’s text escaped and no secret in it', async () => {
    const setup = await createSetup('oauth');
    if (publicUrl) expect(setup.url.startsWith(`${publicUrl}/setup/`)).toBe(true);
    const page = await load(reachable(setup.url));
    expect(page.status).toBe(200);
    expectHardenedPage(page, 'OAuth start page');
    expect(page.html).toContain(ESCAPED_NAME);
    expect(page.html).not.toContain(PROVIDER_NAME);
    expect(page.html).toContain('&lt;img src=x onerror=alert(&quot;description-');
    expect(page.html).not.toContain('<img src=x');
    expect(page.html).toContain('&lt;b&gt;read&lt;/b&gt;');
    expectNoSecrets(page, 'OAuth start page', [CLIENT_SECRET]);
    // Showing the page sets no cookie: the browser binding is made only when the user continues.
    expect(page.cookies).toEqual([]);
  });

  it('binds the attempt with an HttpOnly, SameSite=Lax cookie scoped to the callback, Secure exactly on https', async () => {
    const setup = await createSetup('oauth');
    const start = await load(`${reachable(setup.url)}/authorize`);
    expect(start.status).toBe(302);
    expect(start.headers.get('cache-control')).toBe('no-store');
    expect(start.headers.get('referrer-policy')).toBe('no-referrer');
    const location = new URL(start.headers.get('location')!);
    expect(location.origin).toBe('https://auth.example.test');
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('redirect_uri')).toBe(`${publicUrl ?? server.url}/oauth/callback/${deploymentId}`);
    const binding = start.cookies.find((cookie) => cookie.name === `gatehouse_oauth_${setup.id}`);
    expectCookie(binding, '/oauth/callback', secure);
    expect(binding!.value.length).toBeGreaterThanOrEqual(43);
    // Nothing of the attempt is in the redirect's body either.
    expect(start.html).not.toContain(location.searchParams.get('state')!);
  });

  it('shows the provider’s refusal escaped, hardened, without state, challenge, cookie or client secret', async () => {
    const setup = await createSetup('oauth');
    const start = await load(`${reachable(setup.url)}/authorize`);
    const location = new URL(start.headers.get('location')!);
    const state = location.searchParams.get('state')!;
    const challenge = location.searchParams.get('code_challenge')!;
    const binding = start.cookies.find((cookie) => cookie.name === `gatehouse_oauth_${setup.id}`)!;
    const callback = new URL(`${server.url}/oauth/callback/${deploymentId}`);
    callback.searchParams.set('error', 'access_denied');
    callback.searchParams.set('error_description', `<script>alert("denied-${RUN}")</script>`);
    callback.searchParams.set('state', state);
    const page = await load(callback.href, { headers: { cookie: `${binding.name}=${binding.value}` } });
    expect(page.status).toBe(200);
    expectHardenedPage(page, 'failed page');
    expect(page.html).toContain(`&lt;script&gt;alert(&quot;denied-${RUN}&quot;)&lt;/script&gt;`);
    expect(page.html).toContain(ESCAPED_NAME);
    expectNoSecrets(page, 'failed page', [CLIENT_SECRET, state, challenge, binding.value]);
    // The attempt's cookie is cleared, with the same scope.
    const cleared = page.cookies.find((cookie) => cookie.name === binding.name);
    expect(cleared?.attributes.get('path')).toBe('/oauth/callback');
    expect(Number(cleared?.attributes.get('max-age') ?? '0')).toBe(0);
    expect(((await api.get(`/v1/providers/setup-sessions/${setup.id}`)).json as { status: string }).status).toBe('failed');
  });

  it('answers a callback with a wrong state, or from another browser, with the hardened invalid-link page', async () => {
    const setup = await createSetup('oauth');
    const start = await load(`${reachable(setup.url)}/authorize`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const binding = start.cookies.find((cookie) => cookie.name === `gatehouse_oauth_${setup.id}`)!;
    const attempts: Array<[string, string, Record<string, string>]> = [
      ['wrong state', `code=abc&state=${randomBytes(32).toString('base64url')}`, { cookie: `${binding.name}=${binding.value}` }],
      ['no cookie', `code=abc&state=${state}`, {}],
    ];
    for (const [what, query, headers] of attempts) {
      const page = await load(`${server.url}/oauth/callback/${deploymentId}?${query}`, { headers });
      expect(page.status, what).toBe(400);
      expectHardenedPage(page, what);
      expect(page.html).toContain('This link can’t be used');
      expectNoSecrets(page, what, [CLIENT_SECRET, state, binding.value]);
    }
    expect(((await api.get(`/v1/providers/setup-sessions/${setup.id}`)).json as { status: string }).status).toBe('pending');
  });

  it('serves the API-key form hardened, with its CSRF cookie HttpOnly, SameSite=Lax, path-scoped and Secure exactly on https', async () => {
    const setup = await createSetup('api_key');
    const page = await load(reachable(setup.url));
    expect(page.status).toBe(200);
    expectHardenedPage(page, 'API-key form');
    const csrf = page.cookies.find((cookie) => cookie.name === `gatehouse_csrf_${setup.id}`);
    expectCookie(csrf, `/setup/${setup.id}`, secure);
    expect(page.html).toContain(ESCAPED_NAME);
    expect(page.html).toContain('&lt;i&gt;Key&lt;/i&gt;');
    expect(page.html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    // The form carries its CSRF token (that is its job), and nothing else secret.
    const token = /name="csrf_token" value="([^"]+)"/.exec(page.html)![1]!;
    expect(token).toBe(csrf!.value);
    expectNoSecrets(page, 'API-key form', [CLIENT_SECRET], [token]);

    // A bad paste shows the form again, as hardened, and does not echo what was pasted.
    const pasted = `not a key ${RUN}`;
    const again = await load(`${server.url}/setup/${setup.id}/api-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${csrf!.name}=${csrf!.value}` },
      body: new URLSearchParams({ api_key: pasted, csrf_token: token }),
    });
    expect(again.status).toBe(400);
    expectHardenedPage(again, 'API-key form after a bad paste');
    expect(again.html).not.toContain(pasted);
    expectNoSecrets(again, 'API-key form after a bad paste', [CLIENT_SECRET], [token]);
  });

  it('lets the API-key form post back only to itself and to the app it returns to', async () => {
    const setup = await createSetup('api_key', { redirect_url: `${APP_ORIGIN}/done` });
    const page = await load(reachable(setup.url));
    expect(page.status).toBe(200);
    expectHardenedPage(page, 'API-key form with a redirect URL', [APP_ORIGIN]);
  });

  it('serves the not-found page hardened', async () => {
    const page = await load(`${server.url}/setup/pas_doesnotexist`);
    expect(page.status).toBe(404);
    expectHardenedPage(page, 'not-found page');
    expect(page.cookies).toEqual([]);
  });
});
