/**
 * A small local stand-in for the OAuth endpoints of Slack (`oauth/v2/authorize`, `api/oauth.v2.access`)
 * or GitHub (`login/oauth/authorize`, `login/oauth/access_token`), in *their* response forms:
 *
 * - Slack: the code exchange nests the user token under `authed_user` (`token_type: "user"`); a
 *   refresh answers at the top level (or nested, with `nestRefresh`); every error is HTTP 200
 *   `{"ok": false, "error": "invalid_refresh_token"}`. Client authentication: HTTP Basic.
 * - GitHub (GitHub App user tokens, which expire and refresh): flat RFC 6749 tokens, but errors are
 *   HTTP 200 `{"error": "bad_refresh_token", "error_description": ..., "error_uri": ...}`.
 *   Client authentication: `client_id` / `client_secret` form fields.
 *
 * Refresh tokens are single use (as with Slack token rotation and GitHub): a refresh returns a new
 * one and the old one stops working. The authorization endpoint approves at once as the login set
 * with `approveAs`, so a setup runs over plain HTTP (no browser). An RFC 7662 introspection endpoint
 * lets the test tool server (./mcp-tool-server.ts) check the access tokens it is given, and an
 * RFC 7009 revocation endpoint records what was revoked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type StubStyle = 'slack' | 'github';

/** A canned token endpoint answer. */
export interface StubResponse {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface TokenRequestRecord {
  grantType: string;
  login: string | undefined;
  /** The refresh token presented (test-only: these are fake tokens). */
  refreshToken: string | undefined;
  /** The refresh token issued in return, if any. */
  issuedRefreshToken: string | undefined;
  /** True when a canned response was sent instead of the real one. */
  faulted: boolean;
}

interface Grant {
  login: string;
  clientId: string;
  accessTokens: Set<string>;
  refreshToken: string | undefined;
}

export interface ProviderTokenStub {
  url: string;
  style: StubStyle;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  revocationEndpoint: string;
  /** The login the next authorization request is approved as. */
  approveAs(login: string): void;
  /** Clients the token endpoint accepts (its authentication is checked). */
  addClient(clientId: string, clientSecret: string): void;
  /** Grants of this login get no refresh token (Slack without token rotation, a GitHub OAuth app). */
  withoutRefreshToken(login: string): void;
  /** Every refresh of this login's grants is answered with `response`. */
  failRefreshesOf(login: string, response: StubResponse): void;
  /** The next `n` token requests get `response`. */
  faultNextTokenRequests(n: number, response: StubResponse): void;
  /**
   * Holds the next refresh request until `release` is called; `arrived` resolves when it comes in.
   * `release()` lets it through as usual, `release(response)` answers it with `response`.
   */
  holdNextRefresh(): { arrived: Promise<void>; release(response?: StubResponse): void };
  /** The user revokes the app: every token of the login stops working. */
  revoke(login: string): void;
  /** Every token request so far, oldest first. */
  tokenRequests(): TokenRequestRecord[];
  /** Tokens sent to the revocation endpoint so far. */
  revokedTokens(): string[];
  /** Refresh tokens of this login that would still work. */
  liveRefreshTokens(login: string): string[];
  /** The error a grant-gone refresh gets, in this provider's form. */
  grantGoneResponse(): StubResponse;
  /** An error in this provider's form. */
  errorResponse(code: string): StubResponse;
  close(): Promise<void>;
}

const token = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return new URLSearchParams(body);
}

function send(res: ServerResponse, response: StubResponse): void {
  const payload = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  res.writeHead(response.status, { 'content-type': 'application/json; charset=utf-8', ...response.headers });
  res.end(payload);
}

/** Starts the stub on 127.0.0.1 with an ephemeral port. */
export async function startProviderTokenStub(options: { style: StubStyle; accessTokenTtlSeconds?: number; nestRefresh?: boolean }): Promise<ProviderTokenStub> {
  const { style } = options;
  const ttl = options.accessTokenTtlSeconds ?? 3600;
  const clients = new Map<string, string>();
  const codes = new Map<string, { login: string; clientId: string; challenge: string; redirectUri: string }>();
  const grants: Grant[] = [];
  const noRefresh = new Set<string>();
  const failing = new Map<string, StubResponse>();
  const faults: StubResponse[] = [];
  const holds: Array<{ arrive(): void; released: Promise<StubResponse | undefined> }> = [];
  const records: TokenRequestRecord[] = [];
  const revoked: string[] = [];
  let approvedLogin = 'user';

  const paths =
    style === 'slack'
      ? { authorize: '/oauth/v2/authorize', token: '/api/oauth.v2.access' }
      : { authorize: '/login/oauth/authorize', token: '/login/oauth/access_token' };

  const errorResponse = (code: string): StubResponse =>
    style === 'slack'
      ? { status: 200, body: { ok: false, error: code } }
      : { status: 200, body: { error: code, error_description: `stub: ${code}`, error_uri: 'https://docs.github.com/apps/troubleshooting' } };
  const grantGoneResponse = () => errorResponse(style === 'slack' ? 'invalid_refresh_token' : 'bad_refresh_token');

  const issue = (grant: Grant, refresh: boolean) => {
    const accessToken = token(style === 'slack' ? 'xoxe.xoxp-' : 'ghu_');
    grant.accessTokens.add(accessToken);
    grant.refreshToken = noRefresh.has(grant.login) ? undefined : token(style === 'slack' ? 'xoxe-1-' : 'ghr_');
    const tokens = { access_token: accessToken, expires_in: ttl, ...(grant.refreshToken ? { refresh_token: grant.refreshToken } : {}) };
    if (style === 'github') {
      return { ...tokens, token_type: 'bearer', scope: '', ...(grant.refreshToken ? { refresh_token_expires_in: 15_897_600 } : {}) };
    }
    const user = { id: `U_${grant.login}`, scope: 'channels:read,chat:write', token_type: 'user', ...tokens };
    const team = { id: 'T_STUB', name: 'Stub workspace' };
    if (!refresh || options.nestRefresh) return { ok: true, app_id: 'A_STUB', authed_user: user, team, enterprise: null, is_enterprise_install: false };
    return { ok: true, app_id: 'A_STUB', user_id: user.id, team, ...user };
  };

  const clientOf = (req: IncomingMessage, form: URLSearchParams): string | undefined => {
    let id = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const [user, pass] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      id = decodeURIComponent(user ?? '');
      secret = decodeURIComponent(pass ?? '');
    }
    return id !== undefined && clients.get(id) === secret ? id : undefined;
  };

  async function tokenEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const grantType = form.get('grant_type') ?? '';
    const refreshToken = form.get('refresh_token') ?? undefined;
    const grant = refreshToken ? grants.find((candidate) => candidate.refreshToken === refreshToken) : undefined;
    const record: TokenRequestRecord = { grantType, login: grant?.login, refreshToken, issuedRefreshToken: undefined, faulted: false };
    records.push(record);

    let canned = faults.shift();
    if (!canned && grantType === 'refresh_token') {
      const hold = holds.shift();
      if (hold) {
        hold.arrive();
        canned = await hold.released;
      }
      if (!canned && grant && failing.has(grant.login)) canned = failing.get(grant.login);
    }
    if (canned) {
      record.faulted = true;
      send(res, canned);
      return;
    }
    const clientId = clientOf(req, form);
    if (!clientId) return send(res, errorResponse(style === 'slack' ? 'invalid_client_id' : 'incorrect_client_credentials'));

    if (grantType === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!code || code.clientId !== clientId || code.challenge !== challenge || code.redirectUri !== form.get('redirect_uri')) {
        return send(res, errorResponse(style === 'slack' ? 'invalid_code' : 'bad_verification_code'));
      }
      const fresh: Grant = { login: code.login, clientId, accessTokens: new Set(), refreshToken: undefined };
      grants.push(fresh);
      const body = issue(fresh, false);
      record.login = fresh.login;
      record.issuedRefreshToken = fresh.refreshToken;
      return send(res, { status: 200, body });
    }
    if (grantType === 'refresh_token') {
      if (!grant || grant.clientId !== clientId) return send(res, grantGoneResponse());
      const body = issue(grant, true);
      record.issuedRefreshToken = grant.refreshToken;
      return send(res, { status: 200, body });
    }
    return send(res, errorResponse('unsupported_grant_type'));
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (req.method === 'GET' && url.pathname === paths.authorize) {
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      const code = token('code-');
      codes.set(code, {
        login: approvedLogin,
        clientId: url.searchParams.get('client_id') ?? '',
        challenge: url.searchParams.get('code_challenge') ?? '',
        redirectUri,
      });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      target.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: target.href }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === paths.token) {
      tokenEndpoint(req, res).catch(() => res.destroy());
      return;
    }
    if (req.method === 'POST' && url.pathname === '/introspect') {
      void readForm(req).then((form) => {
        const presented = form.get('token') ?? '';
        const grant = grants.find((candidate) => candidate.accessTokens.has(presented));
        send(res, {
          status: 200,
          body: grant ? { active: true, sub: grant.login, client_id: grant.clientId, scope: '', exp: Math.floor(Date.now() / 1000) + 3600 } : { active: false },
        });
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/revoke') {
      void readForm(req).then((form) => {
        const presented = form.get('token') ?? '';
        revoked.push(presented);
        for (const grant of grants) {
          grant.accessTokens.delete(presented);
          if (grant.refreshToken === presented) grant.refreshToken = undefined;
        }
        res.writeHead(200).end();
      });
      return;
    }
    res.writeHead(404).end();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    style,
    authorizationEndpoint: `${base}${paths.authorize}`,
    tokenEndpoint: `${base}${paths.token}`,
    introspectionEndpoint: `${base}/introspect`,
    revocationEndpoint: `${base}/revoke`,
    approveAs: (login) => (approvedLogin = login),
    addClient: (clientId, clientSecret) => clients.set(clientId, clientSecret),
    withoutRefreshToken: (login) => noRefresh.add(login),
    failRefreshesOf: (login, response) => failing.set(login, response),
    faultNextTokenRequests(n, response) {
      for (let i = 0; i < n; i++) faults.push(response);
    },
    holdNextRefresh() {
      let arrive!: () => void;
      let release!: (response?: StubResponse) => void;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<StubResponse | undefined>((resolve) => (release = resolve));
      holds.push({ arrive, released });
      return { arrived, release };
    },
    revoke(login) {
      for (const grant of grants.filter((candidate) => candidate.login === login)) {
        grant.accessTokens.clear();
        grant.refreshToken = undefined;
      }
    },
    tokenRequests: () => records.map((record) => ({ ...record })),
    revokedTokens: () => [...revoked],
    liveRefreshTokens: (login) => grants.filter((grant) => grant.login === login && grant.refreshToken).map((grant) => grant.refreshToken!),
    grantGoneResponse,
    errorResponse,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
