/**
 * A real OAuth 2.0 / OpenID Connect authorization server for end-to-end tests: `oidc-provider` v9
 * on 127.0.0.1 with an ephemeral port, standing in for a provider such as GitHub or Slack.
 *
 * - PKCE (S256) is required for every authorization code grant.
 * - A plain code flow with `offline_access` (no `prompt=consent` needed) yields a refresh token.
 * - RFC 9207 `iss` is returned in authorization responses (and advertised in discovery).
 * - Introspection and revocation are enabled; access tokens are opaque (JWTs for an RFC 8707
 *   resource with `resourceIndicators`).
 * - Optionally: open dynamic client registration (RFC 7591) at `/reg`.
 * - The built-in dev login / consent pages are on: any login name, the password is ignored.
 * - A Koa middleware in front of oidc-provider counts token requests and can inject faults.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface UpstreamClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Defaults to `client_secret_basic`. */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** Defaults to `['authorization_code', 'refresh_token']`. */
  grantTypes?: Array<'authorization_code' | 'refresh_token'>;
}

export interface UpstreamOptions {
  clients: UpstreamClient[];
  /** Issue a new refresh token on every refresh (the old one stops working). Default false. */
  rotateRefreshTokens?: boolean;
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Default 14 days. */
  refreshTokenTtlSeconds?: number;
  /**
   * Scopes the server knows, e.g. ['openid', 'offline_access', 'profile', 'email', 'repo.read'].
   * `openid` and `offline_access` are always added. Requested scopes not listed here are dropped.
   */
  scopes?: string[];
  /** Open RFC 7591 dynamic client registration at `/reg` (no initial access token). Default false. */
  registration?: boolean;
  /**
   * RFC 8707 resource indicators: an authorization or token request naming `resource` gets a JWT
   * access token (RS256, this server's JWKS) whose `aud` is that resource and whose scopes are
   * `scope` (the resource server's). Any absolute URL is accepted as a resource. Default off.
   */
  resourceIndicators?: { scope: string };
  /** The token endpoint's client authentication methods (oidc-provider's `clientAuthMethods`), e.g. `['none']` for public clients only. */
  clientAuthMethods?: string[];
}

/** One request that reached the authorization endpoint. */
export interface AuthorizationRequestRecord {
  clientId: string | undefined;
  scope: string | undefined;
  /** RFC 8707 `resource`, if the request had one. */
  resource: string | undefined;
}

/** A response the token endpoint sends instead of (or in place of) its real one. */
export type InjectedTokenResponse =
  | {
      status: number;
      /** Sent as given. Without a content-type: objects are sent as JSON, strings as text/plain. */
      headers?: Record<string, string>;
      /** A string or bytes are sent verbatim (so `'{"'` is possible); other values as JSON. */
      body?: string | Uint8Array | object;
      /** Wait this long before answering. */
      delayMs?: number;
    }
  /** Never answer (until the client gives up or the upstream closes). */
  | { hang: true }
  /** Drop the connection without any response. */
  | { destroySocket: true };

export interface TokenRequestRecord {
  /** `grant_type` of the form body ('' when absent). */
  grantType: string;
  /** Date.now() when the request arrived. */
  at: number;
  /** The client id, from HTTP Basic credentials or the `client_id` form field. */
  clientId?: string;
  /** True when the answer was injected by `faultNextTokenRequests` (oidc-provider never saw it). */
  faulted: boolean;
  /** True when the real answer was replaced by the response override. */
  overridden: boolean;
  /** RFC 8707 `resource` of the form body, if any. */
  resource?: string;
}

export interface ObservedTokenResponse {
  grantType: string;
  /** The form parameters of the request (includes the code / refresh token / secret: test-only). */
  params: Record<string, string>;
  status: number;
  /** oidc-provider's response body, normally a JSON object. */
  body: unknown;
}

/**
 * Called after oidc-provider answered a (non-faulted) token request. Return a replacement
 * response to send instead, or undefined to send the real one. E.g. drop the rotated
 * refresh token: `r => r.status === 200 ? { status: 200, body: { ...r.body as object, refresh_token: undefined } } : undefined`.
 */
export type TokenResponseOverride = (observed: ObservedTokenResponse) => InjectedTokenResponse | undefined;

export interface Upstream {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  issuer: string;
  /** Same as issuer: the base URL of the server. */
  url: string;
  port: number;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  revocationEndpoint: string;
  /** The OpenID discovery document URL (RFC 8414's path is served too). */
  discoveryUrl: string;
  /** `${issuer}/jwks`: the keys that sign id tokens and JWT access tokens. */
  jwksUri: string;
  /** Dynamic client registrations (`POST /reg`) received so far. */
  registrations(): number;
  /** The clients registered by `POST /reg` (with their secrets: test-only), oldest first. */
  registeredClients(): Array<{ clientId: string; clientSecret: string | undefined }>;
  /** Requests to the authorization endpoint so far, oldest first. */
  authorizationRequests(): AuthorizationRequestRecord[];
  /** A copy of the token requests received so far (faulted ones included), oldest first. */
  tokenRequests(): TokenRequestRecord[];
  /** The next `n` token requests get `response` instead of reaching oidc-provider. */
  faultNextTokenRequests(n: number, response: InjectedTokenResponse): void;
  /** Install (or clear, with undefined) a hook that can replace real token responses. */
  setResponseOverride(fn: TokenResponseOverride | undefined): void;
  /**
   * Delete every grant, access token, refresh token and authorization code of this account
   * (as a user revoking the app at the provider would). The login session is kept.
   * Returns how many grants were removed.
   */
  revokeGrantsFor(accountId: string): number;
  /**
   * Invalidates the account's access tokens before their time (as a provider that rotates its
   * signing keys would) while its refresh tokens stay valid. Returns how many were removed.
   */
  revokeAccessTokensOf(accountId: string): number;
  /** Changes the lifetime of access tokens issued from now on (those already issued keep theirs). */
  setAccessTokenTtl(seconds: number): void;
  /**
   * Registers a client after start-up (through the adapter's `Client` model), for clients whose
   * redirect URI is known only once the Gatehouse deployment exists.
   */
  addClient(client: UpstreamClient): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Minimal typings for the parts of oidc-provider (which ships no types) and Koa that we use.

interface KoaContext {
  method: string;
  path: string;
  req: IncomingMessage;
  res: ServerResponse;
  status: number;
  body: unknown;
  respond?: boolean;
  get(field: string): string;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface OidcProvider {
  readonly issuer: string;
  use(middleware: KoaMiddleware): unknown;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
type OidcProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

interface OidcClientEntity {
  clientId: string;
  grantTypeAllowed(grantType: string): boolean;
}
interface OidcTokenEntity {
  clientId?: string;
}

// A variable specifier keeps TypeScript from demanding a declaration file for oidc-provider.
const OIDC_PROVIDER_MODULE: string = 'oidc-provider';
let providerConstructor: Promise<OidcProviderConstructor> | undefined;
function loadProvider(): Promise<OidcProviderConstructor> {
  providerConstructor ??= (import(OIDC_PROVIDER_MODULE) as Promise<{ default: OidcProviderConstructor }>).then(
    (mod) => mod.default,
  );
  return providerConstructor;
}

// One RS256 signing key per test process (id tokens); generating RSA keys is not free.
let signingJwk: Promise<Record<string, unknown>> | undefined;
function loadSigningJwk(): Promise<Record<string, unknown>> {
  signingJwk ??= new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, _publicKey, privateKey) => {
      if (err) {
        reject(err);
        return;
      }
      const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
      resolve({ ...jwk, kid: `upstream-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' });
    });
  });
  return signingJwk;
}

// ---------------------------------------------------------------------------------------------
// In-memory adapter that can be enumerated (for revokeGrantsFor).

interface StoredEntry {
  model: string;
  payload: Record<string, unknown>;
  expiresAt: number;
}

class MemoryStore {
  readonly entries = new Map<string, StoredEntry>();
  readonly sessionUids = new Map<string, string>();
  readonly userCodes = new Map<string, string>();

  key(model: string, id: string): string {
    return `${model}:${id}`;
  }

  get(model: string, id: string | undefined): Record<string, unknown> | undefined {
    if (id === undefined) return undefined;
    const key = this.key(model, id);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  adapterFor(model: string) {
    return {
      upsert: async (id: string, payload: Record<string, unknown>, expiresIn?: number) => {
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
        this.entries.set(this.key(model, id), { model, payload, expiresAt });
        if (model === 'Session' && typeof payload.uid === 'string') this.sessionUids.set(payload.uid, id);
        if (typeof payload.userCode === 'string') this.userCodes.set(payload.userCode, id);
      },
      find: async (id: string) => this.get(model, id),
      findByUid: async (uid: string) => this.get(model, this.sessionUids.get(uid)),
      findByUserCode: async (userCode: string) => this.get(model, this.userCodes.get(userCode)),
      consume: async (id: string) => {
        const payload = this.get(model, id);
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id: string) => {
        this.entries.delete(this.key(model, id));
      },
      revokeByGrantId: async (grantId: string) => {
        for (const [key, entry] of this.entries) {
          if (entry.payload.grantId === grantId) this.entries.delete(key);
        }
      },
    };
  }

  revokeAccount(accountId: string): number {
    const grantIds = new Set<string>();
    for (const [key, entry] of this.entries) {
      if (entry.model === 'Grant' && entry.payload.accountId === accountId) {
        grantIds.add(key.slice('Grant:'.length));
        this.entries.delete(key);
      }
    }
    const tokenModels = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode']);
    for (const [key, entry] of this.entries) {
      if (!tokenModels.has(entry.model)) continue;
      const { accountId: owner, grantId } = entry.payload;
      if (owner === accountId || (typeof grantId === 'string' && grantIds.has(grantId))) this.entries.delete(key);
    }
    return grantIds.size;
  }

  /** Deletes the account's access tokens only: its grants and refresh tokens keep working. */
  revokeAccessTokens(accountId: string): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.model === 'AccessToken' && entry.payload.accountId === accountId) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }
}

// ---------------------------------------------------------------------------------------------

const MAX_TOKEN_BODY = 64 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > MAX_TOKEN_BODY) throw new Error('token request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Hand an already-read body back to oidc-provider. Its body parser reads `req` through
 * `req.iterator()` while `req.readable` is true; if that ever changes it falls back to `req.body`
 * (with a one-time warning), which we also set.
 */
function replayBody(req: IncomingMessage, raw: Buffer): void {
  let replayed = false;
  Object.defineProperty(req, 'readable', { configurable: true, get: () => !replayed });
  Object.defineProperty(req, 'readableEncoding', { configurable: true, value: null });
  Object.defineProperty(req, 'iterator', {
    configurable: true,
    value: () =>
      (async function* () {
        replayed = true;
        yield raw;
      })(),
  });
  Object.defineProperty(req, 'body', { configurable: true, writable: true, value: raw.toString('utf8') });
}

function basicClientId(authorization: string | undefined): string | undefined {
  if (!authorization?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return decoded.slice(0, colon);
  }
}

export async function startUpstream(options: UpstreamOptions): Promise<Upstream> {
  const [Provider, jwk] = await Promise.all([loadProvider(), loadSigningJwk()]);
  let accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 3600;

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const store = new MemoryStore();
  const scopes = [...new Set(['openid', 'offline_access', ...(options.scopes ?? ['profile', 'email'])])];

  const configuration: Record<string, unknown> = {
    adapter: (model: string) => store.adapterFor(model),
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: c.grantTypes ?? ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes,
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    findAccount: async (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: async () => ({
        sub: id,
        name: id,
        preferred_username: id,
        email: `${id}@upstream.test`,
        email_verified: true,
      }),
    }),
    pkce: { required: () => true },
    // Every client with the refresh_token grant gets one; it outlives the login session.
    issueRefreshToken: async (_ctx: unknown, client: OidcClientEntity) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: options.rotateRefreshTokens ?? false,
    clientBasedCORS: () => true,
    ttl: {
      AccessToken: () => accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: options.refreshTokenTtlSeconds ?? 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
    },
    ...(options.clientAuthMethods ? { clientAuthMethods: options.clientAuthMethods } : {}),
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: options.registration ?? false },
      ...(options.resourceIndicators
        ? {
            resourceIndicators: {
              enabled: true,
              defaultResource: async () => undefined,
              useGrantedResource: async () => true,
              getResourceServerInfo: async (_ctx: unknown, resourceIndicator: string) => ({
                scope: options.resourceIndicators!.scope,
                audience: resourceIndicator,
                accessTokenTTL: accessTokenTtlSeconds,
                accessTokenFormat: 'jwt',
                jwt: { sign: { alg: 'RS256' } },
              }),
            },
          }
        : {}),
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: OidcClientEntity, token: OidcTokenEntity) =>
          token.clientId === client.clientId,
      },
    },
  };

  const provider = new Provider(issuer, configuration);

  const records: TokenRequestRecord[] = [];
  const authorizationRecords: AuthorizationRequestRecord[] = [];
  let registrationCount = 0;
  const registered: Array<{ clientId: string; clientSecret: string | undefined }> = [];
  const faults: InjectedTokenResponse[] = [];
  let override: TokenResponseOverride | undefined;
  let closing = false;
  const closeWaiters = new Set<() => void>();

  function untilClosedOr(req: IncomingMessage, ms = Infinity): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        closeWaiters.delete(done);
        req.socket.off('close', done);
        resolve();
      };
      if (closing) {
        resolve();
        return;
      }
      closeWaiters.add(done);
      req.socket.once('close', done);
      if (Number.isFinite(ms)) timer = setTimeout(done, ms);
    });
  }

  async function sendInjected(ctx: KoaContext, injected: InjectedTokenResponse): Promise<void> {
    ctx.respond = false; // we write the raw response ourselves
    const { req, res } = ctx;
    if ('hang' in injected) {
      await untilClosedOr(req);
      res.destroy();
      return;
    }
    if ('destroySocket' in injected) {
      req.socket.destroy();
      return;
    }
    if (injected.delayMs) await untilClosedOr(req, injected.delayMs);
    if (req.socket.destroyed) return;

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(injected.headers ?? {})) headers[name.toLowerCase()] = value;
    let payload: Buffer;
    const body = injected.body;
    if (body === undefined) {
      payload = Buffer.alloc(0);
    } else if (typeof body === 'string') {
      payload = Buffer.from(body, 'utf8');
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else if (body instanceof Uint8Array) {
      payload = Buffer.from(body);
      headers['content-type'] ??= 'application/octet-stream';
    } else {
      payload = Buffer.from(JSON.stringify(body), 'utf8');
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    headers['content-length'] ??= String(payload.length);
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.writeHead(injected.status, headers);
    res.end(payload);
  }

  provider.use(async (ctx, next) => {
    // RFC 8414 metadata path: serve the same document as OpenID discovery.
    if (ctx.method === 'GET' && ctx.path === '/.well-known/oauth-authorization-server') {
      ctx.path = '/.well-known/openid-configuration';
      return next();
    }
    if (ctx.method === 'POST' && ctx.path === '/reg') {
      registrationCount++;
      await next();
      const body = ctx.body as { client_id?: unknown; client_secret?: unknown } | undefined;
      if (typeof body?.client_id === 'string') {
        registered.push({ clientId: body.client_id, clientSecret: typeof body.client_secret === 'string' ? body.client_secret : undefined });
      }
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      const query = new URL(ctx.req.url ?? '/', issuer).searchParams;
      authorizationRecords.push({
        clientId: query.get('client_id') ?? undefined,
        scope: query.get('scope') ?? undefined,
        resource: query.get('resource') ?? undefined,
      });
    }
    if (ctx.method !== 'POST' || ctx.path !== '/token') return next();

    const raw = await readBody(ctx.req);
    replayBody(ctx.req, raw);
    const isForm = ctx.get('content-type').toLowerCase().startsWith('application/x-www-form-urlencoded');
    const params: Record<string, string> = isForm ? Object.fromEntries(new URLSearchParams(raw.toString('utf8'))) : {};
    const record: TokenRequestRecord = {
      grantType: params.grant_type ?? '',
      at: Date.now(),
      clientId: basicClientId(ctx.get('authorization') || undefined) ?? params.client_id,
      faulted: false,
      overridden: false,
      ...(params.resource ? { resource: params.resource } : {}),
    };
    records.push(record);

    const fault = faults.shift();
    if (fault) {
      record.faulted = true;
      await sendInjected(ctx, fault);
      return;
    }

    await next();

    if (override) {
      const replacement = override({ grantType: record.grantType, params, status: ctx.status, body: ctx.body });
      if (replacement) {
        record.overridden = true;
        await sendInjected(ctx, replacement);
      }
    }
  });

  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', provider.callback());

  return {
    issuer,
    url: issuer,
    port,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    revocationEndpoint: `${issuer}/token/revocation`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUri: `${issuer}/jwks`,
    registrations: () => registrationCount,
    registeredClients: () => registered.map((client) => ({ ...client })),
    authorizationRequests: () => authorizationRecords.map((r) => ({ ...r })),
    tokenRequests: () => records.map((r) => ({ ...r })),
    faultNextTokenRequests(n, response) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer');
      for (let i = 0; i < n; i++) faults.push(response);
    },
    setResponseOverride(fn) {
      override = fn;
    },
    revokeGrantsFor: (accountId) => store.revokeAccount(accountId),
    revokeAccessTokensOf: (accountId) => store.revokeAccessTokens(accountId),
    setAccessTokenTtl(seconds) {
      accessTokenTtlSeconds = seconds;
    },
    addClient: (client) =>
      store.adapterFor('Client').upsert(client.clientId, {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: client.redirectUris,
        grant_types: client.grantTypes ?? ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? 'client_secret_basic',
      }),
    async close() {
      if (closing) return;
      closing = true;
      for (const wake of [...closeWaiters]) wake();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
