/**
 * The shape of a provider definition: the built-in catalog (`catalog/providers.yaml`) and the custom
 * providers created through `POST /v1/providers` are both validated by these schemas.
 *
 * Every object is strict (an unknown key is an error, so a typo such as `tokenURL` is reported instead
 * of silently ignored), and every string that ends up in a URL, an HTTP header or a token request is
 * constrained here, once, so the code that uses a definition can trust it.
 *
 * Optional fields keep no default in the parsed value (a stored definition is exactly what was given);
 * {@link OAUTH2_DEFAULTS} holds the values the OAuth code must use when a field is absent.
 *
 * @module
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------------

/** The slug every provider id must match: lower case, starts with a letter, 2 to 63 characters. */
export const PROVIDER_ID_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;

/**
 * The pattern of an auth method id. Like a provider slug, but `_` is allowed too because the public
 * API names the key method `api_key` (see docs/api.md).
 */
export const AUTH_METHOD_ID_PATTERN = /^[a-z][a-z0-9_-]{1,62}$/;

/** What the OAuth code uses when an optional {@link OAuth2AuthMethod} field is absent. */
export const OAUTH2_DEFAULTS = Object.freeze({
  scopeSeparator: ' ',
  scopeParameter: 'scope',
  tokenEndpointAuthMethod: 'client_secret_basic',
  accessTokenPath: 'access_token',
} as const);

/**
 * Authorization request parameters that Gatehouse sets itself (client identity, redirect, PKCE, CSRF
 * state, RFC 8707 resource, response mode). A definition may neither override them through
 * `authorizationParams` nor use one of them as its `scopeParameter`: that would let a definition turn
 * off PKCE or redirect the code elsewhere.
 */
export const RESERVED_AUTHORIZATION_PARAMS: ReadonlySet<string> = new Set([
  'client_id',
  'client_secret',
  'response_type',
  'response_mode',
  'redirect_uri',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'resource',
  'request',
  'request_uri',
]);

/**
 * Header names an API key may not be injected into: connection management and message framing
 * (which the HTTP client owns), content negotiation and the MCP transport's own headers.
 */
export const RESERVED_INJECTION_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'transfer-encoding',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'accept',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
]);

/** Segments that would reach `Object.prototype` when a dotted path is walked. */
const FORBIDDEN_PATH_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/** The URL schemes a definition may use. `http:` is allowed here; private hosts are refused at connection time. */
const ALLOWED_URL_PROTOCOLS = new Set(['https:', 'http:']);

/** RFC 9110 `token`: the characters of an HTTP header field name. */
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/** RFC 6749 §3.3 `scope-token`: %x21 / %x23-5B / %x5D-7E (printable ASCII without space, `"` and `\`). */
const SCOPE_TOKEN_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;

/** A query parameter name for the authorization request. */
const PARAM_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** One segment of `accessTokenPath`. */
const PATH_SEGMENT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

interface UrlRules {
  /** RFC 6749 §3.1/§3.2: endpoint URIs MUST NOT include a fragment. */
  allowFragment: boolean;
  /** RFC 8414 §2: an issuer has no query and no fragment. */
  allowQuery: boolean;
}

/**
 * A URL string: absolute, `https:` or `http:`, without credentials, at most 2048 characters. The
 * scheme check is what keeps `javascript:`, `data:`, `file:` and `gopher:` out of redirects and fetches.
 */
function urlString({ allowFragment, allowQuery }: UrlRules) {
  return z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      if (/\s/.test(value)) {
        ctx.addIssue({ code: 'custom', message: 'must be a URL without whitespace' });
        return;
      }
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an absolute URL (https://...)' });
        return;
      }
      if (!ALLOWED_URL_PROTOCOLS.has(url.protocol)) {
        ctx.addIssue({
          code: 'custom',
          message: `must use the https: or http: scheme, not "${url.protocol}"`,
        });
        return;
      }
      if (url.hostname === '') {
        ctx.addIssue({ code: 'custom', message: 'must name a host' });
      }
      if (url.username !== '' || url.password !== '') {
        ctx.addIssue({ code: 'custom', message: 'must not contain credentials (user:password@)' });
      }
      if (!allowFragment && value.includes('#')) {
        ctx.addIssue({ code: 'custom', message: 'must not contain a fragment (#...)' });
      }
      if (!allowQuery && value.includes('?')) {
        ctx.addIssue({ code: 'custom', message: 'must not contain a query string (?...)' });
      }
    });
}

/** A page for people (documentation): a fragment is fine. */
const pageUrlSchema = urlString({ allowFragment: true, allowQuery: true });

/** An endpoint Gatehouse sends requests or browsers to: no fragment. */
const endpointUrlSchema = urlString({ allowFragment: false, allowQuery: true });

/** An RFC 8414 / OpenID Connect issuer identifier: no query, no fragment. */
const issuerSchema = urlString({ allowFragment: false, allowQuery: false });

/** A display string: trimmed, not empty. */
function text(max: number) {
  return z.string().trim().min(1).max(max);
}

const authMethodIdSchema = z
  .string()
  .regex(AUTH_METHOD_ID_PATTERN, 'must be 2-63 characters of a-z, 0-9, "-" or "_", starting with a letter');

// ---------------------------------------------------------------------------------------------------
// OAuth 2.0
// ---------------------------------------------------------------------------------------------------

const oauth2AuthMethodObject = z.strictObject({
  /** Unique within the provider, e.g. `oauth`. Setup sessions name it as `provider_auth_method_id`. */
  id: authMethodIdSchema,
  type: z.literal('oauth2'),
  /** Shown on the hosted setup page; defaults to the provider name. */
  name: text(100).optional(),
  /**
   * The authorization server's issuer identifier. Set it only when the provider publishes RFC 8414 or
   * OpenID Connect metadata for it: it enables discovery and the RFC 9207 `iss` check on the callback.
   */
  issuer: issuerSchema.optional(),
  /**
   * `mcp`: the provider's remote MCP server runs its own OAuth (the MCP authorization spec): the
   * authorization server is discovered from the MCP URL (RFC 9728 protected resource metadata, then
   * RFC 8414 / OIDC metadata), a client is registered by RFC 7591 when the deployment has none, and
   * every authorization and token request names the MCP server as its RFC 8707 `resource`. The
   * endpoints and the issuer are then discovered, not configured.
   */
  discovery: z.literal('mcp').optional(),
  /** Where the browser is sent to grant access (required unless `discovery` is set). */
  authorizationUrl: endpointUrlSchema.optional(),
  /** Where the code (and later the refresh token) is exchanged (required unless `discovery` is set). */
  tokenUrl: endpointUrlSchema.optional(),
  /** An RFC 7009 revocation endpoint (`POST`, form field `token`). Leave it out when the provider has none. */
  revocationUrl: endpointUrlSchema.optional(),
  /**
   * Scopes requested by default; may be empty. With `discovery: 'mcp'`, an empty list means the
   * protected resource metadata's `scopes_supported`.
   */
  scopes: z
    .array(z.string().regex(SCOPE_TOKEN_PATTERN, 'must be an RFC 6749 scope token (printable ASCII, no spaces)'))
    .max(100)
    .default([]),
  /** Human descriptions of some of `scopes`, shown on the hosted consent page. */
  scopeDescriptions: z.record(z.string().regex(SCOPE_TOKEN_PATTERN), text(300)).optional(),
  /** How scopes are joined in the authorization request (default `' '`; Slack uses `','`). */
  scopeSeparator: z
    .string()
    .regex(/^[ !-/:-@[-`{-~]{1,3}$/, 'must be 1-3 punctuation or space characters')
    .optional(),
  /** The query parameter that carries the scopes (default `scope`; Slack user tokens use `user_scope`). */
  scopeParameter: z.string().regex(PARAM_NAME_PATTERN, 'must be a query parameter name').optional(),
  /** How the client authenticates at the token endpoint (default `client_secret_basic`). */
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
  /** Extra authorization request parameters, e.g. Google's `access_type: offline`. */
  authorizationParams: z.record(z.string().regex(PARAM_NAME_PATTERN, 'must be a query parameter name'), z.string().max(512)).optional(),
  /**
   * Dotted path of the access token in the token response (default `access_token`). Slack's user token
   * is at `authed_user.access_token`.
   */
  accessTokenPath: z
    .string()
    .max(200)
    .refine(
      (path) => path.split('.').every((segment) => PATH_SEGMENT_PATTERN.test(segment) && !FORBIDDEN_PATH_SEGMENTS.has(segment)),
      'must be a dotted path of names such as "authed_user.access_token"',
    )
    .optional(),
  /** Refresh this many seconds before the access token expires (0 to 86400). */
  refreshWindowSeconds: z.number().int().min(0).max(86_400).optional(),
});

const oauth2AuthMethodSchema = oauth2AuthMethodObject.superRefine((method, ctx) => {
  if (method.discovery === 'mcp') {
    // Discovered endpoints are the only ones: a configured one next to them could send the code to
    // another server than the one the MCP server names (a mix-up).
    for (const field of ['issuer', 'authorizationUrl', 'tokenUrl', 'revocationUrl'] as const) {
      if (method[field] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: 'is discovered from the MCP server with discovery "mcp"; leave it out' });
      }
    }
  } else {
    for (const field of ['authorizationUrl', 'tokenUrl'] as const) {
      if (method[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'is required (or set discovery: "mcp")' });
    }
  }
  const separator = method.scopeSeparator ?? OAUTH2_DEFAULTS.scopeSeparator;
  const seen = new Set<string>();
  method.scopes.forEach((scope, index) => {
    if (seen.has(scope)) {
      ctx.addIssue({ code: 'custom', path: ['scopes', index], message: `duplicate scope "${scope}"` });
    }
    seen.add(scope);
    if (scope.includes(separator)) {
      ctx.addIssue({
        code: 'custom',
        path: ['scopes', index],
        message: `must not contain the scope separator ${JSON.stringify(separator)}`,
      });
    }
  });
  for (const scope of Object.keys(method.scopeDescriptions ?? {})) {
    if (!seen.has(scope)) {
      ctx.addIssue({
        code: 'custom',
        path: ['scopeDescriptions', scope],
        message: `describes "${scope}", which is not in scopes`,
      });
    }
  }
  const scopeParameter = method.scopeParameter ?? OAUTH2_DEFAULTS.scopeParameter;
  if (method.scopeParameter !== undefined && RESERVED_AUTHORIZATION_PARAMS.has(method.scopeParameter)) {
    ctx.addIssue({
      code: 'custom',
      path: ['scopeParameter'],
      message: `"${method.scopeParameter}" is set by Gatehouse and cannot carry scopes`,
    });
  }
  for (const name of Object.keys(method.authorizationParams ?? {})) {
    if (RESERVED_AUTHORIZATION_PARAMS.has(name) || name === scopeParameter) {
      ctx.addIssue({
        code: 'custom',
        path: ['authorizationParams', name],
        message: `"${name}" is set by Gatehouse and cannot be overridden`,
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// API key
// ---------------------------------------------------------------------------------------------------

const apiKeyInjectionSchema = z.strictObject({
  /** The header that carries the key to the tool server, e.g. `x-api-key` or `authorization`. */
  header: z
    .string()
    .regex(HEADER_NAME_PATTERN, 'must be an HTTP header name')
    .refine((name) => !RESERVED_INJECTION_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('proxy-'), {
      message: 'is a header the HTTP client or the MCP transport sets itself',
    })
    .optional(),
  /** The environment variable that carries the key to a local (stdio) tool server. */
  env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  /** Put before the key, e.g. `Bearer ` (with its space). Printable ASCII only, so it cannot split a header. */
  prefix: z
    .string()
    .max(64)
    .regex(/^[\x20-\x7E]*$/, 'must be printable ASCII (no line breaks)')
    .optional(),
}).refine((injection) => injection.header !== undefined || injection.env !== undefined, {
  message: 'name a header or an environment variable that carries the key',
});

const apiKeyAuthMethodSchema = z.strictObject({
  /** Unique within the provider, e.g. `api_key`. */
  id: authMethodIdSchema,
  type: z.literal('api_key'),
  /** Shown on the hosted setup page; defaults to the provider name. */
  name: text(100).optional(),
  /** The form field label, e.g. `API key`. */
  label: text(100),
  /** Help text under the field: where to find the key. */
  description: text(1000).optional(),
  /** Placeholder of the form field. */
  placeholder: text(200).optional(),
  /** Where the user creates a key. */
  docsUrl: pageUrlSchema.optional(),
  /** How the key reaches the tool server. */
  injection: apiKeyInjectionSchema,
});

// ---------------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------------

/** An auth method: OAuth 2.0 or a pasted API key, told apart by `type`. */
export const authMethodSchema = z.discriminatedUnion('type', [oauth2AuthMethodSchema, apiKeyAuthMethodSchema]);

const remoteMcpServerSchema = z.strictObject({
  /** The provider's remote MCP endpoint. */
  url: endpointUrlSchema,
  /** The MCP transport; Streamable HTTP when absent. */
  transport: z.enum(['streamable-http', 'sse']).optional(),
});

/**
 * A tool server Gatehouse starts as a local process speaking MCP over stdio. Only the operator may
 * configure one (in a providers file): the API refuses it, since it runs a command on the server.
 */
const stdioMcpServerSchema = z.strictObject({
  transport: z.literal('stdio'),
  /** The executable, e.g. `node` or `/usr/local/bin/acme-mcp`. */
  command: z.string().min(1).max(500),
  args: z.array(z.string().max(1000)).max(50).optional(),
  /** Extra environment of the process (no secrets here: credentials arrive by `injection.env`). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(2000)).optional(),
});

const mcpServerSchema = z.union([remoteMcpServerSchema, stdioMcpServerSchema]);

/** A provider: a service a user authorizes (its auth methods) and its tool server (an MCP server). */
export const providerDefinitionSchema = z
  .strictObject({
    /** Slug, e.g. `slack`: lower case letters, digits and `-`, starting with a letter, 2-63 characters. */
    id: z
      .string()
      .regex(PROVIDER_ID_PATTERN, 'must be 2-63 characters of a-z, 0-9 or "-", starting with a letter'),
    /** Display name. */
    name: text(100),
    description: text(1000).optional(),
    /** The provider's developer documentation. */
    docsUrl: pageUrlSchema.optional(),
    /** How a user authorizes; empty when the provider needs no per-user authorization. */
    authMethods: z.array(authMethodSchema).max(20),
    /** The provider's tool server. */
    mcpServer: mcpServerSchema.optional(),
  })
  .superRefine((provider, ctx) => {
    const firstIndex = new Map<string, number>();
    provider.authMethods.forEach((method, index) => {
      if (method.type === 'oauth2' && method.discovery === 'mcp' && (!provider.mcpServer || provider.mcpServer.transport === 'stdio')) {
        ctx.addIssue({
          code: 'custom',
          path: ['authMethods', index, 'discovery'],
          message: 'discovery "mcp" needs a remote mcpServer (its url is where the authorization server is discovered)',
        });
      }
      const previous = firstIndex.get(method.id);
      if (previous !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['authMethods', index, 'id'],
          message: `duplicate auth method id "${method.id}" (also authMethods[${previous}])`,
        });
      } else {
        firstIndex.set(method.id, index);
      }
    });
  });

// ---------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------

/** A validated provider definition (built-in or custom). */
export type ProviderDefinition = z.infer<typeof providerDefinitionSchema>;

/** A provider definition before validation, as written in YAML or sent to the API. */
export type ProviderDefinitionInput = z.input<typeof providerDefinitionSchema>;

/** One way to authorize a provider. */
export type AuthMethod = z.infer<typeof authMethodSchema>;

/** OAuth 2.0 authorization code flow (with PKCE, state and, where offered, the RFC 9207 `iss` check). */
export type OAuth2AuthMethod = z.infer<typeof oauth2AuthMethodSchema>;

/** A key the user pastes on the hosted setup page, injected as a header into tool server requests. */
export type ApiKeyAuthMethod = z.infer<typeof apiKeyAuthMethodSchema>;

/** How an API key is sent to the tool server. */
export type ApiKeyInjection = z.infer<typeof apiKeyInjectionSchema>;

/** A provider's remote MCP server. */
export type McpServerDefinition = z.infer<typeof mcpServerSchema>;
