/**
 * A test double of the Gatehouse REST API (docs/api.md) on a real `node:http` server: wire-format JSON
 * (snake_case), the one error shape, cursor lists, the setup-session long-poll woken by state changes, and
 * sessions with tools whose results tests script with `addSessionTool`.
 *
 * It is a mock of our own server, so it is only for what the real server cannot be made to do:
 * dropped connections, hangs, sequences of 5xx / 429 with `Retry-After` (retry and backoff tests),
 * malformed answers, and timing the client's own timeouts and aborts. Anything the real server can
 * answer belongs in a test against it (`startInProcessGatehouse` from test/support/gatehouse.ts, as in
 * packages/sdk/test/providers.test.ts and setup-session-endings.test.ts), or the fake and the server
 * drift apart unnoticed.
 *
 * Faults are injected with `intercept`: it sees every request first and may answer it itself.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TEST_API_KEY = 'gh_test_sk_CANARY_9f8e7d6c5b4a';

type Json = Record<string, unknown>;

/** One request as the double received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: unknown;
  receivedAt: number;
}

/** Answers a request itself (returns `true`) or lets the router answer it (returns `false`/nothing). */
export type Intercept = (request: RecordedRequest, response: ServerResponse) => boolean | void | Promise<boolean | void>;

/** What a scripted tool answers: MCP content, or an `error` that makes the call `failed`. */
export interface FakeToolOutcome {
  content?: Json[];
  structured_content?: Json | null;
  /** The tool reported an error itself (MCP `isError`). */
  is_error?: boolean;
  /** The call failed (`status: failed`), e.g. `{ code: 'reauthorization_required', message: '…' }`. */
  error?: { code: string; message: string };
}

/** Runs one call of a scripted tool with the arguments exactly as the request carried them. */
export type FakeToolHandler = (args: unknown, session: Json) => FakeToolOutcome | Promise<FakeToolOutcome>;

/** A session tool in wire form, as `addSessionTool` takes it. */
export interface FakeSessionToolFields {
  provider_id: string;
  provider_deployment_id: string;
  original_name: string;
  description?: string | null;
  input_schema?: Json;
  annotations?: Json | null;
}

interface Waiter {
  ids: string[];
  answer: () => void;
}

let sequence = 0;
const newId = (prefix: string): string => `${prefix}_${(++sequence).toString(36).padStart(8, '0')}`;
const now = (): string => new Date().toISOString();

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${++sequence}`, ...headers });
  response.end(body === undefined ? '' : JSON.stringify(body));
}

export function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: { requestId?: string; details?: Json[]; headers?: Record<string, string> } = {},
): void {
  const requestId = extra.requestId ?? `req_${++sequence}`;
  const error: Json = { code, message, request_id: requestId };
  if (extra.details) error.details = extra.details;
  sendJson(response, status, { error }, { 'x-request-id': requestId, ...extra.headers });
}

export class FakeGatehouse {
  readonly requests: RecordedRequest[] = [];
  readonly providers = new Map<string, Json>();
  readonly deployments = new Map<string, Json>();
  readonly setupSessions = new Map<string, Json>();
  readonly authConfigs = new Map<string, Json>();
  readonly sessions = new Map<string, Json>();
  readonly toolCalls = new Map<string, Json>();
  /** Session tools (wire form) by name; a session gets those of its providers' deployments. */
  readonly sessionTools = new Map<string, Json>();
  /** Providers (wire form) that `GET /v1/sessions/:id/tools` reports as unreachable, for sessions over their deployment. */
  readonly unavailableProviders: Json[] = [];
  readonly #toolHandlers = new Map<string, FakeToolHandler>();
  /** Sees every request first; return `true` when it answered. */
  intercept: Intercept | undefined;
  baseUrl = '';

  readonly #waiters = new Set<Waiter>();
  readonly #server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        body = rawBody;
      }
      const recorded: RecordedRequest = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        rawBody,
        body,
        receivedAt: Date.now(),
      };
      this.requests.push(recorded);
      void this.#handle(recorded, response).catch((error: unknown) => {
        if (!response.headersSent) sendError(response, 500, 'internal_error', String(error));
      });
    });
  });

  constructor() {
    this.providers.set('slack', {
      object: 'provider',
      id: 'slack',
      name: 'Slack',
      source: 'catalog',
      auth_methods: [
        {
          id: 'oauth',
          type: 'oauth2',
          issuer: null,
          authorization_url: 'https://slack.com/oauth/v2/authorize',
          token_url: 'https://slack.com/api/oauth.v2.access',
          revocation_url: null,
          scopes: ['channels:read'],
        },
      ],
      mcp_server: null,
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Requests to one path (optionally one method). */
  requestsTo(path: string, method?: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === path && (!method || request.method === method));
  }

  /** Seeds a pending setup session. */
  addSetupSession(fields: Json = {}): Json {
    const id = newId('pas');
    const setupSession: Json = {
      object: 'provider_setup_session',
      id,
      provider_id: 'slack',
      provider_auth_method_id: 'oauth',
      provider_deployment_id: 'pde_default',
      status: 'pending',
      url: `${this.baseUrl}/setup/${id}`,
      redirect_url: null,
      metadata: {},
      expires_at: new Date(Date.now() + 600_000).toISOString(),
      created_at: now(),
      completed_at: null,
      error: null,
      auth_config: null,
      ...fields,
    };
    this.setupSessions.set(id, setupSession);
    return setupSession;
  }

  /** Seeds an auth config. */
  addAuthConfig(fields: Json = {}): Json {
    const id = newId('pac');
    const authConfig: Json = {
      object: 'provider_auth_config',
      id,
      provider_id: 'slack',
      provider_deployment_id: 'pde_default',
      provider_auth_method_id: 'oauth',
      status: 'active',
      scopes: ['channels:read'],
      metadata: {},
      access_token_expires_at: null,
      created_at: now(),
      updated_at: now(),
      ...fields,
    };
    this.authConfigs.set(id, authConfig);
    return authConfig;
  }

  /** What the OAuth callback does: completes the session with a new auth config, and wakes waiters. */
  completeSetupSession(id: string): Json {
    const setupSession = this.#mustGetSession(id);
    const authConfig = this.addAuthConfig({
      provider_id: setupSession.provider_id,
      provider_deployment_id: setupSession.provider_deployment_id,
      provider_auth_method_id: setupSession.provider_auth_method_id,
      metadata: setupSession.metadata,
    });
    Object.assign(setupSession, { status: 'completed', completed_at: now(), auth_config: authConfig });
    this.#wake(id);
    return setupSession;
  }

  failSetupSession(id: string, code = 'access_denied', message = 'The user denied access.'): void {
    Object.assign(this.#mustGetSession(id), { status: 'failed', error: { code, message } });
    this.#wake(id);
  }

  expireSetupSession(id: string): void {
    Object.assign(this.#mustGetSession(id), { status: 'expired' });
    this.#wake(id);
  }

  /**
   * Adds a tool that sessions over `provider_deployment_id` get, named `<provider_id>__<original_name>`.
   * Without a handler, a call answers its arguments as JSON text.
   */
  addSessionTool(fields: FakeSessionToolFields, handler?: FakeToolHandler): Json {
    const tool: Json = {
      name: `${fields.provider_id}__${fields.original_name}`,
      description: null,
      input_schema: { type: 'object', properties: {} },
      annotations: null,
      ...fields,
    };
    this.sessionTools.set(tool.name as string, tool);
    this.#toolHandlers.set(tool.name as string, handler ?? ((args) => ({ content: [{ type: 'text', text: JSON.stringify(args) }] })));
    return tool;
  }

  deleteSetupSession(id: string): void {
    this.setupSessions.delete(id);
  }

  #mustGetSession(id: string): Json {
    const setupSession = this.setupSessions.get(id);
    if (!setupSession) throw new Error(`no setup session ${id}`);
    return setupSession;
  }

  #wake(id: string): void {
    for (const waiter of this.#waiters) if (waiter.ids.includes(id)) waiter.answer();
  }

  async #handle(request: RecordedRequest, response: ServerResponse): Promise<void> {
    if (this.intercept && (await this.intercept(request, response))) return;
    if (request.headers.authorization !== `Bearer ${TEST_API_KEY}`) {
      sendError(response, 401, 'unauthorized', 'Invalid API key.');
      return;
    }
    const segments = request.path.split('/').filter(Boolean).map(decodeURIComponent);
    const [version, root, second, third] = segments;
    if (version === 'v1' && root === 'sessions' && segments.length <= 4) return this.#handleSessions(request, response, second, third);
    if (version !== 'v1' || root !== 'providers' || segments.length > 4) {
      sendError(response, 404, 'not_found', `No route ${request.method} ${request.path}.`);
      return;
    }
    const body = (request.body ?? {}) as Json;
    const route = `${request.method} ${second === undefined ? '' : ['deployments', 'setup-sessions', 'auth-configs'].includes(second) ? second : ':id'}${third === undefined ? '' : third === 'wait' ? '/wait' : '/:id'}`;

    switch (route) {
      case 'GET ':
        return this.#list(request, response, [...this.providers.values()]);
      case 'POST ': {
        const id = typeof body.id === 'string' ? body.id : newId('pro');
        if (this.providers.has(id)) return sendError(response, 409, 'conflict', `Provider ${id} already exists.`);
        const provider = { object: 'provider', id, name: body.name, source: 'custom', auth_methods: body.auth_methods, mcp_server: body.mcp_server ?? null };
        this.providers.set(id, provider);
        return sendJson(response, 201, provider);
      }
      case 'GET :id':
        return this.#get(response, this.providers, second as string, 'provider');
      case 'DELETE :id':
        return this.#delete(response, this.providers, second as string, 'provider');

      case 'POST deployments': {
        const id = newId('pde');
        const oauthClient = body.oauth_client as Json | undefined;
        const deployment = {
          object: 'provider_deployment',
          id,
          provider_id: body.provider_id,
          name: body.name ?? null,
          oauth_client: oauthClient ? { client_id: oauthClient.client_id, has_client_secret: Boolean(oauthClient.client_secret) } : null,
          callback_url: `${this.baseUrl}/oauth/callback/${id}`,
          metadata: body.metadata ?? {},
          created_at: now(),
          updated_at: now(),
        };
        this.deployments.set(id, deployment);
        return sendJson(response, 201, deployment);
      }
      case 'GET deployments':
        return this.#list(request, response, [...this.deployments.values()], ['provider_id']);
      case 'GET deployments/:id':
        return this.#get(response, this.deployments, third as string, 'provider deployment');
      case 'PATCH deployments/:id': {
        const deployment = this.deployments.get(third as string);
        if (!deployment) return sendError(response, 404, 'not_found', `No provider deployment ${third}.`);
        if ('name' in body) deployment.name = body.name;
        if ('metadata' in body) deployment.metadata = body.metadata;
        if ('oauth_client' in body) {
          const oauthClient = body.oauth_client as Json | null;
          deployment.oauth_client = oauthClient ? { client_id: oauthClient.client_id, has_client_secret: Boolean(oauthClient.client_secret) } : null;
        }
        deployment.updated_at = now();
        return sendJson(response, 200, deployment);
      }
      case 'DELETE deployments/:id':
        return this.#delete(response, this.deployments, third as string, 'provider deployment');

      case 'POST setup-sessions': {
        if (typeof body.provider_id !== 'string') {
          return sendError(response, 400, 'invalid_request', 'Invalid body.', {
            details: [{ path: 'provider_id', message: 'Required.' }],
          });
        }
        const { expires_in_seconds: _expiresIn, ...fields } = body;
        return sendJson(response, 201, this.addSetupSession({ ...fields, metadata: body.metadata ?? {} }));
      }
      case 'GET setup-sessions':
        return this.#list(request, response, [...this.setupSessions.values()], ['status', 'provider_id']);
      case 'GET setup-sessions/wait':
        return this.#wait(request, response);
      case 'GET setup-sessions/:id':
        return this.#get(response, this.setupSessions, third as string, 'setup session');

      case 'GET auth-configs':
        return this.#list(request, response, [...this.authConfigs.values()], ['provider_id', 'provider_deployment_id', 'status']);
      case 'GET auth-configs/:id':
        return this.#get(response, this.authConfigs, third as string, 'provider auth config');
      case 'DELETE auth-configs/:id':
        return this.#delete(response, this.authConfigs, third as string, 'provider auth config');
    }
    sendError(response, 404, 'not_found', `No route ${request.method} ${request.path}.`);
  }

  async #handleSessions(request: RecordedRequest, response: ServerResponse, id: string | undefined, action: string | undefined): Promise<void> {
    const body = (request.body ?? {}) as Json;
    if (id === undefined) {
      if (request.method === 'GET') return this.#list(request, response, [...this.sessions.values()], ['status']);
      if (request.method === 'POST') return this.#createSession(response, body);
    }
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return sendError(response, 404, 'not_found', `No session ${id} in this project.`);
    const route = `${request.method} ${action ?? ''}`;
    switch (route) {
      case 'GET ':
        return sendJson(response, 200, session);
      case 'POST close':
        if (session.status !== 'closed') Object.assign(session, { status: 'closed', closed_at: now() });
        return sendJson(response, 200, session);
      case 'GET tools':
        return sendJson(response, 200, {
          data: this.#toolsOf(session),
          unavailable: this.unavailableProviders.filter((entry) =>
            (session.providers as Json[]).some((provider) => provider.provider_deployment_id === entry.provider_deployment_id),
          ),
        });
      case 'GET tool-calls':
        return this.#list(request, response, [...this.toolCalls.values()].filter((toolCall) => toolCall.session_id === session.id));
      case 'POST tool-calls':
        return this.#callTool(response, session, body);
    }
    sendError(response, 404, 'not_found', `No route ${request.method} ${request.path}.`);
  }

  #createSession(response: ServerResponse, body: Json): void {
    const providers = body.providers;
    if (!Array.isArray(providers) || providers.length === 0) {
      return sendError(response, 400, 'invalid_request', 'Invalid body.', { details: [{ path: 'providers', message: 'At least one provider is required.' }] });
    }
    const sessionProviders: Json[] = [];
    for (const [index, provider] of (providers as Json[]).entries()) {
      if (typeof provider?.provider_deployment_id !== 'string') {
        return sendError(response, 400, 'invalid_request', 'Invalid body.', {
          details: [{ path: `providers.${index}.provider_deployment_id`, message: 'Required.' }],
        });
      }
      const deploymentId = provider.provider_deployment_id;
      const toolOfDeployment = [...this.sessionTools.values()].find((tool) => tool.provider_deployment_id === deploymentId);
      sessionProviders.push({
        provider_id: this.deployments.get(deploymentId)?.provider_id ?? toolOfDeployment?.provider_id ?? 'unknown',
        provider_deployment_id: deploymentId,
        provider_auth_config_id: provider.provider_auth_config_id ?? null,
      });
    }
    const id = newId('ses');
    const session: Json = {
      object: 'session',
      id,
      status: 'active',
      providers: sessionProviders,
      metadata: body.metadata ?? {},
      mcp: { url: `${this.baseUrl}/mcp/sessions/${id}` },
      created_at: now(),
      closed_at: null,
    };
    this.sessions.set(id, session);
    // The secret is shown once, in this answer only.
    sendJson(response, 201, { ...session, mcp: { url: (session.mcp as Json).url, secret: `gms_secret_${id}` } });
  }

  #toolsOf(session: Json): Json[] {
    const deploymentIds = new Set((session.providers as Json[]).map((provider) => provider.provider_deployment_id));
    return [...this.sessionTools.values()].filter((tool) => deploymentIds.has(tool.provider_deployment_id));
  }

  async #callTool(response: ServerResponse, session: Json, body: Json): Promise<void> {
    if (session.status !== 'active') return sendError(response, 409, 'conflict', `Session ${session.id} is closed.`);
    if (typeof body.name !== 'string') {
      return sendError(response, 400, 'invalid_request', 'Invalid body.', { details: [{ path: 'name', message: 'Required.' }] });
    }
    const startedAt = Date.now();
    const tool = this.#toolsOf(session).find((candidate) => candidate.name === body.name);
    let outcome: FakeToolOutcome;
    if (!tool) outcome = { error: { code: 'unknown_tool', message: `No tool ${body.name} in session ${session.id}.` } };
    else outcome = await (this.#toolHandlers.get(tool.name as string) as FakeToolHandler)(body.arguments ?? {}, session);
    const failed = outcome.error !== undefined;
    const toolCall: Json = {
      object: 'tool_call',
      id: newId('tcl'),
      session_id: session.id,
      tool_name: body.name,
      provider_id: tool?.provider_id ?? null,
      original_name: tool?.original_name ?? null,
      status: failed ? 'failed' : 'succeeded',
      is_error: failed || outcome.is_error === true,
      content: outcome.content ?? [],
      structured_content: outcome.structured_content ?? null,
      error: outcome.error ?? null,
      duration_ms: Date.now() - startedAt,
      created_at: now(),
    };
    this.toolCalls.set(toolCall.id as string, toolCall);
    sendJson(response, 200, toolCall);
  }

  #get(response: ServerResponse, table: Map<string, Json>, id: string, what: string): void {
    const item = table.get(id);
    if (item) sendJson(response, 200, item);
    else sendError(response, 404, 'not_found', `No ${what} ${id} in this project.`);
  }

  #delete(response: ServerResponse, table: Map<string, Json>, id: string, what: string): void {
    if (!table.delete(id)) sendError(response, 404, 'not_found', `No ${what} ${id} in this project.`);
    else sendJson(response, 200, { id, deleted: true });
  }

  #list(request: RecordedRequest, response: ServerResponse, items: Json[], filters: string[] = []): void {
    let selected = items.reverse();
    for (const filter of filters) {
      const value = request.query.get(filter);
      if (value !== null) selected = selected.filter((item) => item[filter] === value);
    }
    for (const [key, value] of request.query) {
      const match = /^metadata\[(.+)\]$/.exec(key);
      if (match) selected = selected.filter((item) => (item.metadata as Json)[match[1] as string] === value);
    }
    const limit = Number(request.query.get('limit') ?? 20);
    const offset = Number(request.query.get('cursor')?.replace('cur_', '') ?? 0);
    const data = selected.slice(offset, offset + limit);
    const next = offset + limit < selected.length ? `cur_${offset + limit}` : null;
    sendJson(response, 200, { data, next_cursor: next });
  }

  #wait(request: RecordedRequest, response: ServerResponse): void {
    const ids = (request.query.get('ids') ?? '').split(',').filter(Boolean);
    const timeoutMs = Math.min(Number(request.query.get('timeout_ms') ?? 25_000), 30_000);
    const unknown = ids.find((id) => !this.setupSessions.has(id));
    if (ids.length === 0) return sendError(response, 400, 'invalid_request', '`ids` is required.');
    if (unknown) return sendError(response, 404, 'not_found', `No setup session ${unknown} in this project.`);
    const snapshot = (): Json[] => ids.map((id) => this.setupSessions.get(id)).filter((item): item is Json => item !== undefined);
    if (snapshot().some((item) => item.status !== 'pending')) return sendJson(response, 200, { data: snapshot() });

    const waiter: Waiter = {
      ids,
      answer: () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        if (!response.writableEnded && !response.destroyed) sendJson(response, 200, { data: snapshot() });
      },
    };
    const timer = setTimeout(waiter.answer, timeoutMs);
    this.#waiters.add(waiter);
    response.on('close', () => {
      clearTimeout(timer);
      this.#waiters.delete(waiter);
    });
  }
}

/** Starts a {@link FakeGatehouse} on a random loopback port. */
export function startFakeGatehouse(): Promise<FakeGatehouse> {
  return new FakeGatehouse().start();
}

/** Resolves once `predicate` holds, polling every 5 ms (fails the test after `timeoutMs`). */
export async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
