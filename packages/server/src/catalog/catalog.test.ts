import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogError, ProviderCatalog, buildCatalog, loadCatalog } from './catalog.js';
import {
  authMethodSchema,
  providerDefinitionSchema,
  type OAuth2AuthMethod,
  type ProviderDefinition,
  type ProviderDefinitionInput,
} from './provider-schema.js';

/** A valid definition with one OAuth method and one key method; tests change one thing at a time. */
function validProvider(): ProviderDefinitionInput {
  return {
    id: 'acme',
    name: 'Acme',
    authMethods: [
      {
        id: 'oauth',
        type: 'oauth2',
        authorizationUrl: 'https://acme.example/oauth/authorize',
        tokenUrl: 'https://acme.example/oauth/token',
        scopes: ['read', 'write'],
      },
      {
        id: 'api_key',
        type: 'api_key',
        label: 'API key',
        injection: { header: 'authorization', prefix: 'Bearer ' },
      },
    ],
    mcpServer: { url: 'https://acme.example/mcp' },
  };
}

/** The issues of a failed parse, as `path -> message` pairs (fails the test when the parse succeeds). */
function issuesOf(input: unknown): { path: string; message: string }[] {
  const result = providerDefinitionSchema.safeParse(input);
  expect(result.success, 'expected the definition to be refused').toBe(false);
  return result.success ? [] : result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

function oauthOf(definition: ProviderDefinition | undefined): OAuth2AuthMethod {
  const method = definition?.authMethods.find((candidate) => candidate.type === 'oauth2');
  if (!method || method.type !== 'oauth2') throw new Error(`no oauth2 method in ${definition?.id ?? 'undefined'}`);
  return method;
}

/** Every string value that looks like a URL, with where it is. */
function urlsIn(value: unknown, path = ''): { path: string; url: string }[] {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:/i.test(value) && value.includes('//') ? [{ path, url: value }] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => urlsIn(item, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => (key === 'scopes' || key === 'scopeDescriptions' ? [] : urlsIn(item, `${path}.${key}`)));
  }
  return [];
}

describe('the shipped catalog', () => {
  const catalog = loadCatalog();

  it('loads and has slack, github, google-calendar and exa', () => {
    expect(catalog).toBeInstanceOf(ProviderCatalog);
    for (const id of ['slack', 'github', 'google-calendar', 'exa']) {
      expect(catalog.has(id), id).toBe(true);
      expect(catalog.get(id)?.id).toBe(id);
    }
    expect(catalog.list().map((definition) => definition.id)).toEqual(
      expect.arrayContaining(['slack', 'github', 'google-calendar', 'exa']),
    );
  });

  it('uses https for every endpoint, issuer, MCP server and docs page', () => {
    const urls = catalog.list().flatMap((definition) => urlsIn(definition, definition.id));
    expect(urls.length).toBeGreaterThan(10);
    for (const { path, url } of urls) {
      expect(new URL(url).protocol, `${path} = ${url}`).toBe('https:');
    }
    for (const definition of catalog.list()) {
      for (const method of definition.authMethods) {
        if (method.type !== 'oauth2') continue;
        expect(new URL(method.authorizationUrl ?? '').protocol).toBe('https:');
        expect(new URL(method.tokenUrl ?? '').protocol).toBe('https:');
      }
    }
  });

  it('asks Slack for a user token and reads it from authed_user', () => {
    const slack = oauthOf(catalog.get('slack'));
    expect(slack.authorizationUrl).toBe('https://slack.com/oauth/v2/authorize');
    expect(slack.tokenUrl).toBe('https://slack.com/api/oauth.v2.access');
    expect(slack.scopeParameter).toBe('user_scope');
    expect(slack.scopeSeparator).toBe(',');
    expect(slack.accessTokenPath).toBe('authed_user.access_token');
    expect(slack.revocationUrl).toBeUndefined();
    expect(slack.issuer).toBeUndefined();
    expect(slack.scopes).toContain('chat:write');
  });

  it('makes Google return a refresh token and checks its issuer', () => {
    const google = oauthOf(catalog.get('google-calendar'));
    expect(google.issuer).toBe('https://accounts.google.com');
    expect(google.authorizationParams).toEqual({ access_type: 'offline', prompt: 'consent' });
    expect(google.revocationUrl).toBe('https://oauth2.googleapis.com/revoke');
    expect(google.scopes).toContain('https://www.googleapis.com/auth/calendar.events');
  });

  it('sends GitHub credentials in the body and has no RFC 7009 endpoint for it', () => {
    const github = oauthOf(catalog.get('github'));
    expect(github.tokenEndpointAuthMethod).toBe('client_secret_post');
    expect(github.revocationUrl).toBeUndefined();
    expect(github.scopes).toContain('repo');
    expect(catalog.get('github')?.mcpServer).toMatchObject({ url: 'https://api.githubcopilot.com/mcp/' });
  });

  it('has Exa as an API key sent as Authorization: Bearer (what mcp.exa.ai reads), with its hosted MCP server', () => {
    const exa = catalog.get('exa');
    expect(exa?.authMethods).toHaveLength(1);
    const [method] = exa?.authMethods ?? [];
    expect(method?.type).toBe('api_key');
    if (method?.type !== 'api_key') return;
    expect(method.injection).toEqual({ header: 'authorization', prefix: 'Bearer ' });
    // The header value the gateway builds (prefix + key) must match the hosted server's own parser
    // (exa-labs/exa-mcp-server api/mcp.ts getBearerToken), or the key is ignored.
    const headerValue = `${method.injection.prefix ?? ''}exa-key-1234`;
    expect(/^Bearer\s+(.+)$/i.exec(headerValue)?.[1]).toBe('exa-key-1234');
    expect(exa?.mcpServer).toMatchObject({ url: 'https://mcp.exa.ai/mcp' });
  });

  it('cannot be changed by a caller', () => {
    const slack = catalog.get('slack');
    expect(Object.isFrozen(slack)).toBe(true);
    expect(() => {
      (oauthOf(slack).scopes as string[]).push('admin');
    }).toThrow(TypeError);
    expect(oauthOf(catalog.get('slack')).scopes).not.toContain('admin');
  });

  it('answers unknown and prototype ids with nothing', () => {
    expect(catalog.get('nope')).toBeUndefined();
    expect(catalog.has('__proto__')).toBe(false);
    expect(catalog.has('constructor')).toBe(false);
    expect(catalog.size).toBe(catalog.list().length);
  });
});

describe('providerDefinitionSchema', () => {
  it('accepts a valid definition, http URLs included, and keeps absent options absent', () => {
    const input = validProvider();
    (input.authMethods[0] as { tokenUrl: string }).tokenUrl = 'http://127.0.0.1:9999/token';
    const parsed = providerDefinitionSchema.parse(input);
    const oauth = oauthOf(parsed);
    expect(oauth.tokenUrl).toBe('http://127.0.0.1:9999/token');
    expect(oauth.scopeSeparator).toBeUndefined();
    expect(parsed.authMethods).toHaveLength(2);
  });

  it('accepts a provider without per-user auth', () => {
    expect(providerDefinitionSchema.safeParse({ id: 'public-docs', name: 'Docs', authMethods: [] }).success).toBe(true);
  });

  it('refuses unknown fields, at the top and inside auth methods', () => {
    expect(issuesOf({ ...validProvider(), tokenURL: 'https://x.example/t' })).toEqual([
      expect.objectContaining({ path: '', message: expect.stringContaining('tokenURL') }),
    ]);
    const nested = validProvider();
    (nested.authMethods[0] as Record<string, unknown>).clientSecret = 'shh';
    expect(issuesOf(nested)).toEqual([
      expect.objectContaining({ path: 'authMethods.0', message: expect.stringContaining('clientSecret') }),
    ]);
    const injection = validProvider();
    (injection.authMethods[1] as { injection: Record<string, unknown> }).injection.query = 'key';
    expect(issuesOf(injection)).toEqual([
      expect.objectContaining({ path: 'authMethods.1.injection', message: expect.stringContaining('query') }),
    ]);
  });

  it.each(['javascript:alert(1)', 'file:///etc/passwd', 'gopher://evil.example:70/x', 'data:text/html,hi', 'ftp://x.example/'])(
    'refuses the URL %s with a message naming the scheme',
    (url) => {
      const input = validProvider();
      (input.authMethods[0] as { authorizationUrl: string }).authorizationUrl = url;
      const scheme = `${url.split(':')[0]}:`;
      expect(issuesOf(input)).toEqual([
        {
          path: 'authMethods.0.authorizationUrl',
          message: `must use the https: or http: scheme, not "${scheme}"`,
        },
      ]);
    },
  );

  it('refuses a javascript: MCP URL and a relative URL', () => {
    expect(issuesOf({ ...validProvider(), mcpServer: { url: 'javascript:alert(1)' } })).toEqual([
      expect.objectContaining({ path: 'mcpServer.url', message: expect.stringContaining('"javascript:"') }),
    ]);
    expect(issuesOf({ ...validProvider(), docsUrl: '/docs' })).toEqual([
      expect.objectContaining({ path: 'docsUrl', message: expect.stringContaining('absolute URL') }),
    ]);
  });

  it('refuses credentials and fragments in endpoints, and a query in an issuer', () => {
    const input = validProvider();
    const oauth = input.authMethods[0] as Record<string, unknown>;
    oauth.tokenUrl = 'https://user:pass@acme.example/token';
    oauth.authorizationUrl = 'https://acme.example/authorize#frag';
    oauth.issuer = 'https://acme.example/?tenant=1';
    expect(issuesOf(input)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'authMethods.0.tokenUrl', message: expect.stringContaining('credentials') }),
        expect.objectContaining({ path: 'authMethods.0.authorizationUrl', message: expect.stringContaining('fragment') }),
        expect.objectContaining({ path: 'authMethods.0.issuer', message: expect.stringContaining('query') }),
      ]),
    );
  });

  it('refuses duplicate auth method ids, naming the second one', () => {
    const input = validProvider();
    (input.authMethods[1] as { id: string }).id = 'oauth';
    expect(issuesOf(input)).toEqual([
      { path: 'authMethods.1.id', message: 'duplicate auth method id "oauth" (also authMethods[0])' },
    ]);
  });

  it.each(['Slack', 'a', '-slack', '1slack', 'sl ack', 'slack_bot', 'x'.repeat(64), ''])('refuses the provider id %j', (id) => {
    expect(issuesOf({ ...validProvider(), id })).toEqual([
      { path: 'id', message: 'must be 2-63 characters of a-z, 0-9 or "-", starting with a letter' },
    ]);
  });

  it('accepts slugs at the edges', () => {
    for (const id of ['ab', 'google-calendar', `a${'b'.repeat(62)}`]) {
      expect(providerDefinitionSchema.safeParse({ ...validProvider(), id }).success, id).toBe(true);
    }
  });

  it('refuses a bad auth method id but allows api_key', () => {
    const input = validProvider();
    (input.authMethods[0] as { id: string }).id = 'OAuth';
    expect(issuesOf(input)).toEqual([expect.objectContaining({ path: 'authMethods.0.id' })]);
  });

  it('refuses an unknown auth method type', () => {
    const result = authMethodSchema.safeParse({ id: 'basic', type: 'basic', label: 'x' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['type']);
  });

  it('refuses overriding the parameters Gatehouse owns', () => {
    const input = validProvider();
    const oauth = input.authMethods[0] as Record<string, unknown>;
    oauth.authorizationParams = { code_challenge_method: 'plain', redirect_uri: 'https://evil.example/', scope: 'admin', prompt: 'consent' };
    oauth.scopeParameter = 'state';
    const paths = issuesOf(input).map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'authMethods.0.authorizationParams.code_challenge_method',
        'authMethods.0.authorizationParams.redirect_uri',
        'authMethods.0.scopeParameter',
      ]),
    );
    expect(paths).not.toContain('authMethods.0.authorizationParams.prompt');
  });

  it('refuses scopes that contain the separator, duplicates, and descriptions of unknown scopes', () => {
    const input = validProvider();
    const oauth = input.authMethods[0] as Record<string, unknown>;
    oauth.scopeSeparator = ',';
    oauth.scopes = ['read', 'a,b', 'read'];
    oauth.scopeDescriptions = { write: 'Write things' };
    expect(issuesOf(input)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'authMethods.0.scopes.1', message: expect.stringContaining('separator') }),
        expect.objectContaining({ path: 'authMethods.0.scopes.2', message: expect.stringContaining('duplicate') }),
        expect.objectContaining({ path: 'authMethods.0.scopeDescriptions.write' }),
      ]),
    );
  });

  it('refuses access token paths that reach the prototype', () => {
    for (const accessTokenPath of ['__proto__.x', 'a..b', 'constructor', 'a.b c']) {
      const input = validProvider();
      (input.authMethods[0] as Record<string, unknown>).accessTokenPath = accessTokenPath;
      expect(issuesOf(input), accessTokenPath).toEqual([expect.objectContaining({ path: 'authMethods.0.accessTokenPath' })]);
    }
  });

  it('refuses header injection through the API key prefix or header name', () => {
    const prefix = validProvider();
    (prefix.authMethods[1] as { injection: { prefix: string } }).injection.prefix = 'Bearer \r\nX-Evil: 1';
    expect(issuesOf(prefix)).toEqual([expect.objectContaining({ path: 'authMethods.1.injection.prefix' })]);
    for (const header of ['Host', 'content-length', 'mcp-session-id', 'x key', 'x-key:']) {
      const input = validProvider();
      (input.authMethods[1] as { injection: { header: string } }).injection.header = header;
      expect(issuesOf(input), header).toEqual([expect.objectContaining({ path: 'authMethods.1.injection.header' })]);
    }
  });
});

describe('loadCatalog with a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-catalog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  const entry = (id: string) => `- id: ${id}
  name: ${id}
  authMethods:
    - id: api_key
      type: api_key
      label: API key
      injection:
        header: x-api-key
`;

  it('loads a valid file', () => {
    const catalog = loadCatalog(write('ok.yaml', entry('alpha') + entry('beta')));
    expect(catalog.list().map((definition) => definition.id)).toEqual(['alpha', 'beta']);
  });

  it('refuses a duplicate provider id, naming both entries', () => {
    const path = write('dup.yaml', entry('alpha') + entry('beta') + entry('alpha'));
    let error: unknown;
    try {
      loadCatalog(path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CatalogError);
    const catalogError = error as CatalogError;
    expect(catalogError.issues).toEqual([
      { index: 2, providerId: 'alpha', path: 'id', message: 'duplicate provider id (also providers[0])' },
    ]);
    expect(catalogError.message).toContain(path);
    expect(catalogError.message).toContain('providers[2] (id "alpha") id: duplicate provider id (also providers[0])');
  });

  it('names the provider index, id and field path of invalid data', () => {
    const path = write(
      'bad.yaml',
      entry('alpha') +
        `- id: beta
  name: Beta
  authMethods:
    - id: oauth
      type: oauth2
      authorizationUrl: javascript:alert(1)
      tokenUrl: https://beta.example/token
      scopes: []
`,
    );
    expect(() => loadCatalog(path)).toThrow(
      /providers\[1\] \(id "beta"\) authMethods\.0\.authorizationUrl: must use the https: or http: scheme, not "javascript:"/,
    );
  });

  it('refuses a file that is not a list, is not YAML, or does not exist', () => {
    expect(() => loadCatalog(write('map.yaml', 'slack: {}\n'))).toThrow(/must be a YAML list/);
    expect(() => loadCatalog(write('broken.yaml', '- id: [unclosed\n'))).toThrow(/not valid YAML/);
    expect(() => loadCatalog(write('dupkey.yaml', '- id: a1\n  id: a2\n  name: x\n  authMethods: []\n'))).toThrow(/not valid YAML/);
    expect(() => loadCatalog(join(dir, 'missing.yaml'))).toThrow(CatalogError);
  });

  it('reports every problem at once', () => {
    try {
      buildCatalog([{ id: 'Bad', name: 'x', authMethods: [] }, { id: 'ok-one', name: '', authMethods: [] }], 'inline');
      expect.unreachable('buildCatalog should have thrown');
    } catch (error) {
      expect((error as CatalogError).issues.map((issue) => [issue.index, issue.path])).toEqual([
        [0, 'id'],
        [1, 'name'],
      ]);
    }
  });

  it('refuses duplicate ids passed straight to ProviderCatalog', () => {
    const definition = providerDefinitionSchema.parse({ id: 'alpha', name: 'Alpha', authMethods: [] });
    expect(() => new ProviderCatalog([definition, { ...definition }])).toThrow(/Duplicate provider id "alpha"/);
  });
});
