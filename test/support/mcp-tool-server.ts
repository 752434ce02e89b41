/**
 * A real MCP tool server for end-to-end tests: `@modelcontextprotocol/sdk`'s `McpServer` (tools with
 * zod schemas) on its own node:http server at 127.0.0.1 with an ephemeral port, standing in for a
 * provider's tool server (GitHub's, Slack's ...).
 *
 * - Streamable HTTP at `/mcp`: one MCP session (transport + McpServer) per client, so any number of
 *   concurrent clients, per-session MCP cancellation, and responses as per-request SSE streams (the
 *   SDK's default mode).
 * - The legacy HTTP+SSE transport at `/sse` (GET, the event stream) + `/messages` (POST) as well,
 *   when `transport: 'sse'`; `url` then points at `/sse`.
 * - Auth: bearer tokens checked by RFC 7662 introspection at the upstream (./upstream.ts) on every
 *   request, or an API key header, or none. The authenticated subject reaches the tools, so two users
 *   see different notes.
 * - Fault tools: `sleep`, `hang` (both honour MCP cancellation and record it), `die` (the connection
 *   is destroyed without an answer), `huge` (a result of N MB), `fail` (`isError: true`), `image`.
 * - `setDown(true)`: every HTTP request is answered 503 until `setDown(false)`; `forbid(tool, …)`: calls
 *   of that tool are answered 403 (e.g. `insufficient_scope`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as z from 'zod';

export type ToolServerAuth =
  | {
      type: 'bearer-introspection';
      /** The upstream's RFC 7662 endpoint, e.g. `upstream.introspectionEndpoint`. */
      introspectionUrl: string;
      /** A client registered at the upstream (HTTP Basic client authentication). */
      clientId: string;
      clientSecret: string;
    }
  | {
      type: 'api-key';
      /** Request header carrying the key; default `x-api-key`. */
      header?: string;
      validKeys: string[];
    }
  | {
      /**
       * JWT access tokens (RFC 9068 style) signed by the upstream, checked against its JWKS: the
       * issuer, and an `aud` that is this server's `/mcp` URL (RFC 8707: a token for another
       * resource is refused).
       */
      type: 'bearer-jwt';
      issuer: string;
      jwksUri: string;
    }
  | { type: 'none' };

/** RFC 9728 protected resource metadata that the server publishes (MCP authorization spec). */
export interface ProtectedResourceOptions {
  /** `authorization_servers`, e.g. `[upstream.issuer]`. */
  authorizationServers: string[];
  scopesSupported?: string[];
  /** The `resource` it declares (or a function of the server's origin); default the server's own `/mcp` URL. */
  resource?: string | ((origin: string) => string);
  /**
   * Where it is served: `path` (default) at `/.well-known/oauth-protected-resource/mcp` (RFC 9728
   * §3.1), `root` at `/.well-known/oauth-protected-resource`, or only through the
   * `resource_metadata` of the 401 challenge (`challenge`, at `/prm`).
   */
  servedAt?: 'path' | 'root' | 'challenge';
}

export interface ToolContext {
  /** The introspected `sub`, `api-key:<last 4 chars>`, or `anonymous`. */
  subject: string;
  /** Aborted when the client cancels the call (MCP `notifications/cancelled`) or the session ends. */
  signal: AbortSignal;
}

/** A tool added next to the built-in ones (e.g. a provider-specific name such as `create_issue`). */
export interface ExtraTool {
  name: string;
  description?: string;
  /** A zod raw shape, e.g. `{ title: z.string() }`. Default: no arguments. */
  inputSchema?: Record<string, z.ZodType>;
  annotations?: ToolAnnotations;
  handler(args: Record<string, unknown>, context: ToolContext): CallToolResult | Promise<CallToolResult>;
}

export interface ToolServerOptions {
  /** The MCP server name (serverInfo.name); default `test-tool-server`. */
  name?: string;
  /** Default `{ type: 'none' }`. */
  auth?: ToolServerAuth;
  /**
   * `'streamable-http'` (default): `url` is `…/mcp`. `'sse'`: the legacy transport is served too
   * (`/sse` + `/messages`) and `url` is `…/sse`; `/mcp` keeps working.
   */
  transport?: 'streamable-http' | 'sse';
  extraTools?: ExtraTool[];
  /** Publish protected resource metadata (and name it in the 401 challenge). Default: none. */
  protectedResource?: ProtectedResourceOptions;
}

export interface ToolCallRecord {
  tool: string;
  subject: string;
  /** Date.now() when the call reached the tool. */
  at: number;
  /** The call's arguments as received. */
  args: Record<string, unknown>;
}

export interface ToolServer {
  /** `http://127.0.0.1:<port>/mcp`, or `…/sse` with `transport: 'sse'`. */
  url: string;
  /** Always the Streamable HTTP endpoint `…/mcp`. */
  mcpUrl: string;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  name: string;
  /** Every tool call that reached the server (including `die`), oldest first. */
  calls(): ToolCallRecord[];
  /** Names of the tools whose calls were cancelled by the client (or ended by a closed session). */
  cancellations(): string[];
  /** How many requests were answered 401. */
  authFailures(): number;
  /** How many times the protected resource metadata was fetched. */
  metadataRequests(): number;
  /** MCP connections opened so far: Streamable HTTP sessions initialized + legacy SSE streams. */
  connections(): number;
  /** MCP connections open now (a Streamable HTTP session ends with DELETE, an SSE one with its stream). */
  activeConnections(): number;
  /** TCP connections accepted so far. */
  tcpConnections(): number;
  /** The notes stored for a subject. */
  notes(subject: string): string[];
  /** While down, every HTTP request is answered 503 (open streams are left alone). */
  setDown(down: boolean): void;
  /**
   * Answers calls of `tool` with 403 and `WWW-Authenticate: Bearer error="<error>"` (e.g. `insufficient_scope`)
   * and `reason` in the body, until called again with `null`.
   */
  forbid(tool: string, refusal: { error: string; reason: string } | null): void;
  /** How many requests were answered 403 by {@link ToolServer.forbid}. */
  forbiddenAnswers(): number;
  /** Resolves once `count` calls of `tool` have reached the server; rejects after `timeoutMs` (default 10 s). */
  waitForCalls(tool: string, count?: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` calls of `tool` were cancelled; rejects after `timeoutMs` (default 10 s). */
  waitForCancellations(tool: string, count?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A 1×1 transparent PNG. */
export const TEST_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_HUGE_MEGABYTES = 256;
const INTROSPECTION_TIMEOUT_MS = 5_000;

interface HttpError {
  status: number;
  headers?: Record<string, string>;
  message: string;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null }, headers);
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

interface JsonRpcRequestLike {
  method?: unknown;
  id?: unknown;
  params?: { name?: unknown; arguments?: unknown };
}

function messagesOf(body: unknown): JsonRpcRequestLike[] {
  const list = Array.isArray(body) ? body : [body];
  return list.filter((m): m is JsonRpcRequestLike => typeof m === 'object' && m !== null);
}

function isInitialize(body: unknown): boolean {
  return messagesOf(body).some((m) => m.method === 'initialize');
}

/** The `die` calls in a body, unless asked to die after the response headers went out. */
function immediateDieCall(body: unknown): JsonRpcRequestLike | undefined {
  return messagesOf(body).find((m) => {
    if (m.method !== 'tools/call' || m.params?.name !== 'die') return false;
    const args = m.params.arguments as { afterHeaders?: unknown } | undefined;
    return args?.afterHeaders !== true;
  });
}

function argsOf(m: JsonRpcRequestLike): Record<string, unknown> {
  const args = m.params?.arguments;
  return typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {};
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

/** The error `abort` rejects with. */
class Aborted extends Error {}

function abortable(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signals.some((s) => s.aborted)) {
      reject(new Aborted());
      return;
    }
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    const onAbort = () => {
      cleanup();
      reject(new Aborted());
    };
    function cleanup() {
      if (timer) clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
    }
    function done() {
      cleanup();
      resolve();
    }
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  });
}

export async function startToolServer(options: ToolServerOptions = {}): Promise<ToolServer> {
  const name = options.name ?? 'test-tool-server';
  const auth: ToolServerAuth = options.auth ?? { type: 'none' };
  const serveSse = options.transport === 'sse';

  const callRecords: ToolCallRecord[] = [];
  const cancelled: string[] = [];
  const notesBySubject = new Map<string, string[]>();
  let authFailureCount = 0;
  let connectionCount = 0;
  let tcpCount = 0;
  let down = false;
  const forbidden = new Map<string, { error: string; reason: string }>();
  let forbiddenCount = 0;
  const closing = new AbortController();

  const streamable = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  const legacy = new Map<string, { transport: SSEServerTransport; server: McpServer }>();
  /** In-flight Streamable HTTP POSTs, by session id + JSON-RPC id (for `die` afterHeaders). */
  const inflight = new Map<string, ServerResponse>();
  const inflightKey = (sessionId: string | undefined, id: unknown) => `${sessionId ?? ''}\u0000${JSON.stringify(id)}`;

  // --- waiting on events -------------------------------------------------------------------------
  const waiters = new Set<() => void>();
  function notify(): void {
    for (const check of [...waiters]) check();
  }
  function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });
  }

  function recordCall(tool: string, subject: string, args: Record<string, unknown>): void {
    callRecords.push({ tool, subject, at: Date.now(), args });
    notify();
  }

  function subjectOf(extra: Extra): string {
    const subject = extra.authInfo?.extra?.subject;
    return typeof subject === 'string' ? subject : 'anonymous';
  }

  /**
   * Records the cancellation of a call (not when our own close() ended it) and ends the call's
   * response stream so the client's POST does not stay open waiting for an answer that never comes.
   */
  function onCancelled(tool: string, extra: Extra): void {
    if (closing.signal.aborted) return;
    cancelled.push(tool);
    notify();
    const session = extra.sessionId === undefined ? undefined : streamable.get(extra.sessionId);
    session?.transport.closeSSEStream(extra.requestId);
  }

  // --- the MCP server (one per MCP connection) -----------------------------------------------------
  function createMcpServer(): McpServer {
    const server = new McpServer({ name, version: '1.0.0' }, { capabilities: { tools: {} } });

    server.registerTool(
      'whoami',
      {
        description: 'Names the authenticated subject of this call.',
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      (extra) => {
        const subject = subjectOf(extra);
        recordCall('whoami', subject, {});
        return text(subject);
      },
    );

    server.registerTool(
      'echo',
      {
        description: 'Returns the given text.',
        inputSchema: { text: z.string().describe('The text to return') },
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      (args, extra) => {
        recordCall('echo', subjectOf(extra), args);
        return text(args.text);
      },
    );

    server.registerTool(
      'list_notes',
      {
        description: "Lists the caller's notes as a JSON array of strings.",
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      (extra) => {
        const subject = subjectOf(extra);
        recordCall('list_notes', subject, {});
        return text(JSON.stringify(notesBySubject.get(subject) ?? []));
      },
    );

    server.registerTool(
      'add_note',
      {
        description: "Adds a note to the caller's notes.",
        inputSchema: { text: z.string().describe('The note') },
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      },
      (args, extra) => {
        const subject = subjectOf(extra);
        recordCall('add_note', subject, args);
        const list = notesBySubject.get(subject) ?? [];
        list.push(args.text);
        notesBySubject.set(subject, list);
        return text(`added note ${list.length} for ${subject}`);
      },
    );

    server.registerTool(
      'sleep',
      {
        description: 'Answers after `ms` milliseconds, or stops early when the call is cancelled.',
        inputSchema: { ms: z.number().int().min(0).max(600_000).describe('Milliseconds to wait') },
        annotations: { readOnlyHint: true },
      },
      async (args, extra) => {
        recordCall('sleep', subjectOf(extra), args);
        try {
          await abortable(args.ms, [extra.signal, closing.signal]);
        } catch (error) {
          if (!(error instanceof Aborted)) throw error;
          if (extra.signal.aborted) onCancelled('sleep', extra);
          return text('cancelled');
        }
        return text(`slept ${args.ms} ms`);
      },
    );

    server.registerTool(
      'hang',
      {
        description: 'Never answers, unless the call is cancelled.',
        annotations: { readOnlyHint: true },
      },
      async (extra) => {
        recordCall('hang', subjectOf(extra), {});
        await abortable(Infinity, [extra.signal, closing.signal]).catch(() => undefined);
        if (extra.signal.aborted) onCancelled('hang', extra);
        return text('cancelled');
      },
    );

    server.registerTool(
      'die',
      {
        description:
          'Destroys the HTTP connection carrying the call without answering. With `afterHeaders`, ' +
          'only after the response (an SSE stream) has started.',
        inputSchema: { afterHeaders: z.boolean().optional() },
        annotations: { readOnlyHint: true },
      },
      async (args, extra) => {
        // Normally handled in the HTTP layer before the call reaches here (see handleMcpPost).
        recordCall('die', subjectOf(extra), args);
        const res = inflight.get(inflightKey(extra.sessionId, extra.requestId));
        if (res) {
          dieAfterHeaders(res);
        } else if (extra.sessionId !== undefined) {
          // Legacy SSE: the answer would go on the event stream; cut that.
          legacy.get(extra.sessionId)?.transport.close().catch(() => undefined);
        }
        // Never answers (the connection is gone); ends with the session or close().
        await abortable(Infinity, [extra.signal, closing.signal]).catch(() => undefined);
        return text('unreachable');
      },
    );

    server.registerTool(
      'huge',
      {
        description: 'Returns a text result of `megabytes` MiB (in bytes of UTF-8) of `char` (default `x`).',
        inputSchema: { megabytes: z.number().positive().max(MAX_HUGE_MEGABYTES), char: z.string().min(1).optional() },
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      (args, extra) => {
        recordCall('huge', subjectOf(extra), args);
        const char = args.char ?? 'x';
        return text(char.repeat(Math.round((args.megabytes * 1024 * 1024) / Buffer.byteLength(char))));
      },
    );

    server.registerTool(
      'fail',
      {
        description: 'Reports a tool error (`isError: true`).',
        inputSchema: { message: z.string().optional() },
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      (args, extra) => {
        recordCall('fail', subjectOf(extra), args);
        return { isError: true, content: [{ type: 'text', text: args.message ?? 'the tool failed on purpose' }] };
      },
    );

    server.registerTool(
      'image',
      {
        description: 'Returns a 1×1 PNG image.',
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      (extra) => {
        recordCall('image', subjectOf(extra), {});
        return { content: [{ type: 'image', data: TEST_PNG_BASE64, mimeType: 'image/png' }] };
      },
    );

    for (const tool of options.extraTools ?? []) {
      server.registerTool(
        tool.name,
        {
          ...(tool.description !== undefined ? { description: tool.description } : {}),
          ...(tool.annotations !== undefined ? { annotations: tool.annotations } : {}),
          inputSchema: z.object(tool.inputSchema ?? {}),
        },
        async (args: Record<string, unknown>, extra: Extra) => {
          const subject = subjectOf(extra);
          recordCall(tool.name, subject, args);
          return tool.handler(args, { subject, signal: extra.signal });
        },
      );
    }

    return server;
  }

  // --- authentication ------------------------------------------------------------------------------
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  let metadataRequestCount = 0;
  const servedAt = options.protectedResource?.servedAt ?? 'path';
  const prmPath =
    servedAt === 'challenge' ? '/prm' : servedAt === 'root' ? '/.well-known/oauth-protected-resource' : '/.well-known/oauth-protected-resource/mcp';

  /** RFC 6750 §3 challenge; with metadata, RFC 9728 §5.1's `resource_metadata` too. */
  function bearerChallenge(error?: string): string {
    const parts = [
      ...(error ? [`error="${error}"`] : []),
      ...(options.protectedResource ? [`resource_metadata="${origin}${prmPath}"`] : []),
    ];
    return parts.length > 0 ? `Bearer ${parts.join(', ')}` : 'Bearer';
  }

  function unauthorized(message: string, wwwAuthenticate?: string): HttpError {
    return { status: 401, message, ...(wwwAuthenticate ? { headers: { 'www-authenticate': wwwAuthenticate } } : {}) };
  }

  async function authenticate(req: IncomingMessage): Promise<AuthInfo | HttpError> {
    if (auth.type === 'none') {
      return { token: '', clientId: 'anonymous', scopes: [], extra: { subject: 'anonymous' } };
    }
    if (auth.type === 'api-key') {
      const value = req.headers[(auth.header ?? 'x-api-key').toLowerCase()];
      const key = Array.isArray(value) ? value[0] : value;
      if (!key || !auth.validKeys.includes(key)) return unauthorized('invalid or missing API key');
      return { token: key, clientId: 'api-key', scopes: [], extra: { subject: `api-key:${key.slice(-4)}` } };
    }

    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) return unauthorized('missing bearer token', bearerChallenge());
    const token = match[1];
    if (auth.type === 'bearer-jwt') {
      try {
        jwks ??= createRemoteJWKSet(new URL(auth.jwksUri));
        const { payload } = await jwtVerify(token, jwks, { issuer: auth.issuer, audience: `${origin}/mcp` });
        if (typeof payload.sub !== 'string') return unauthorized('the access token has no subject', bearerChallenge('invalid_token'));
        return {
          token,
          clientId: typeof payload.client_id === 'string' ? payload.client_id : '',
          scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
          ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp } : {}),
          extra: { subject: payload.sub },
        };
      } catch {
        return unauthorized('the access token is not valid for this server', bearerChallenge('invalid_token'));
      }
    }
    let introspection: { active?: unknown; sub?: unknown; client_id?: unknown; scope?: unknown; exp?: unknown };
    try {
      const basic = Buffer.from(
        `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`,
        'utf8',
      ).toString('base64');
      const response = await fetch(auth.introspectionUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return { status: 503, message: `token introspection failed with HTTP ${response.status}` };
      }
      introspection = (await response.json()) as typeof introspection;
    } catch (error) {
      return { status: 503, message: `token introspection failed: ${(error as Error).message}` };
    }
    if (introspection.active !== true || typeof introspection.sub !== 'string') {
      return unauthorized('the access token is not active', 'Bearer error="invalid_token"');
    }
    return {
      token,
      clientId: typeof introspection.client_id === 'string' ? introspection.client_id : '',
      scopes: typeof introspection.scope === 'string' ? introspection.scope.split(' ').filter(Boolean) : [],
      ...(typeof introspection.exp === 'number' ? { expiresAt: introspection.exp } : {}),
      extra: { subject: introspection.sub },
    };
  }

  // --- HTTP ------------------------------------------------------------------------------------------

  /** Reads and parses a JSON POST body; answers the error itself and returns undefined on failure. */
  async function readJson(req: IncomingMessage, res: ServerResponse): Promise<{ body: unknown } | undefined> {
    const raw = await readBody(req);
    if (raw === 'too-large') {
      jsonRpcError(res, 413, -32600, `request body over ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
      return undefined;
    }
    try {
      return { body: JSON.parse(raw.toString('utf8')) as unknown };
    } catch {
      jsonRpcError(res, 400, -32700, 'Parse error');
      return undefined;
    }
  }

  /** Answers 403 to a call of a tool under {@link ToolServer.forbid}; true when it did. */
  function refuseForbidden(body: unknown, res: ServerResponse): boolean {
    const call = messagesOf(body).find((m) => m.method === 'tools/call' && typeof m.params?.name === 'string' && forbidden.has(m.params.name));
    const refusal = call ? forbidden.get(call.params!.name as string) : undefined;
    if (!refusal) return false;
    forbiddenCount++;
    sendJson(res, 403, { error: refusal.error, message: refusal.reason }, { 'www-authenticate': `Bearer error="${refusal.error}"` });
    return true;
  }

  /** `die` without afterHeaders: record the call, then drop the connection without a byte of answer. */
  function dieNow(req: IncomingMessage, call: JsonRpcRequestLike, authInfo: AuthInfo): void {
    recordCall('die', String(authInfo.extra?.subject ?? 'anonymous'), argsOf(call));
    req.socket.destroy();
  }

  /**
   * Lets the response start (status line and SSE headers reach the client), then destroys the
   * connection: the client sees a response stream that breaks before any answer.
   */
  function dieAfterHeaders(res: ServerResponse): void {
    const cut = () =>
      setImmediate(() => {
        if (res.destroyed) return;
        res.write(': dying\n\n', () => res.socket?.destroy());
      });
    if (res.headersSent) {
      cut();
      return;
    }
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      res.writeHead = writeHead;
      const result: unknown = Reflect.apply(writeHead, this, args);
      cut();
      return result;
    } as typeof res.writeHead;
  }

  async function handleMcp(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, authInfo: AuthInfo): Promise<void> {
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;

    if (req.method === 'POST') {
      const parsed = await readJson(req, res);
      if (!parsed) return;
      if (refuseForbidden(parsed.body, res)) return;
      const dying = immediateDieCall(parsed.body);
      if (dying) {
        dieNow(req, dying, authInfo);
        return;
      }

      let session = sessionId === undefined ? undefined : streamable.get(sessionId);
      if (!session) {
        if (sessionId !== undefined) {
          jsonRpcError(res, 404, -32001, 'Session not found');
          return;
        }
        if (!isInitialize(parsed.body)) {
          jsonRpcError(res, 400, -32000, 'Bad Request: no valid session ID provided');
          return;
        }
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            streamable.set(id, entry);
            connectionCount++;
          },
          onsessionclosed: (id) => {
            streamable.delete(id);
          },
        });
        const entry = { transport, server: createMcpServer() };
        transport.onclose = () => {
          if (transport.sessionId !== undefined) streamable.delete(transport.sessionId);
        };
        await entry.server.connect(transport);
        session = entry;
      }

      const keys: string[] = [];
      for (const m of messagesOf(parsed.body)) {
        if (m.method === undefined || m.id === undefined) continue;
        const key = inflightKey(session.transport.sessionId, m.id);
        inflight.set(key, res);
        keys.push(key);
      }
      if (keys.length > 0) {
        res.once('close', () => {
          for (const key of keys) if (inflight.get(key) === res) inflight.delete(key);
        });
      }

      req.auth = authInfo;
      await session.transport.handleRequest(req, res, parsed.body);
      if (session.transport.sessionId === undefined) {
        // The initialize was refused: nothing will ever use this transport.
        await session.server.close().catch(() => undefined);
      }
      return;
    }

    if (req.method === 'GET' || req.method === 'DELETE') {
      const session = sessionId === undefined ? undefined : streamable.get(sessionId);
      if (!session) {
        if (sessionId === undefined) jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
        else jsonRpcError(res, 404, -32001, 'Session not found');
        return;
      }
      req.auth = authInfo;
      await session.transport.handleRequest(req, res);
      return;
    }

    jsonRpcError(res, 405, -32000, 'Method not allowed', { allow: 'GET, POST, DELETE' });
  }

  async function handleSseStream(res: ServerResponse): Promise<void> {
    const transport = new SSEServerTransport('/messages', res);
    const server = createMcpServer();
    legacy.set(transport.sessionId, { transport, server });
    connectionCount++;
    transport.onclose = () => {
      legacy.delete(transport.sessionId);
    };
    res.once('close', () => {
      legacy.delete(transport.sessionId);
      server.close().catch(() => undefined);
    });
    await server.connect(transport); // starts the stream (sends the `endpoint` event)
  }

  async function handleSseMessage(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, url: URL, authInfo: AuthInfo): Promise<void> {
    const sessionId = url.searchParams.get('sessionId') ?? '';
    const session = legacy.get(sessionId);
    if (!session) {
      jsonRpcError(res, 404, -32001, 'Session not found');
      return;
    }
    const parsed = await readJson(req, res);
    if (!parsed) return;
    const dying = immediateDieCall(parsed.body);
    if (dying) {
      dieNow(req, dying, authInfo);
      return;
    }
    req.auth = authInfo;
    await session.transport.handlePostMessage(req, res, parsed.body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (down || closing.signal.aborted) {
      sendJson(res, 503, { error: 'temporarily_unavailable', message: `${name} is down` }, { 'retry-after': '1' });
      req.resume();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (options.protectedResource && req.method === 'GET' && url.pathname === prmPath) {
      metadataRequestCount++;
      sendJson(res, 200, {
        resource:
          typeof options.protectedResource.resource === 'function'
            ? options.protectedResource.resource(origin)
            : (options.protectedResource.resource ?? `${origin}/mcp`),
        authorization_servers: options.protectedResource.authorizationServers,
        ...(options.protectedResource.scopesSupported ? { scopes_supported: options.protectedResource.scopesSupported } : {}),
        bearer_methods_supported: ['header'],
      });
      req.resume();
      return;
    }
    const route =
      url.pathname === '/mcp' ? 'mcp'
      : serveSse && url.pathname === '/sse' && req.method === 'GET' ? 'sse'
      : serveSse && url.pathname === '/messages' && req.method === 'POST' ? 'messages'
      : undefined;
    if (!route) {
      sendJson(res, 404, { error: 'not_found' });
      req.resume();
      return;
    }

    const authInfo = await authenticate(req);
    if ('status' in authInfo) {
      if (authInfo.status === 401) authFailureCount++;
      sendJson(res, authInfo.status, { error: authInfo.status === 401 ? 'unauthorized' : 'unavailable', message: authInfo.message }, authInfo.headers);
      req.resume();
      return;
    }

    if (route === 'mcp') await handleMcp(req, res, authInfo);
    else if (route === 'sse') await handleSseStream(res);
    else await handleSseMessage(req, res, url, authInfo);
  }

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        jsonRpcError(res, 500, -32603, `Internal error: ${(error as Error).message}`);
      } else {
        res.destroy();
      }
    });
  });
  httpServer.on('connection', () => {
    tcpCount++;
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  let closed: Promise<void> | undefined;

  return {
    url: serveSse ? `${origin}/sse` : `${origin}/mcp`,
    mcpUrl: `${origin}/mcp`,
    origin,
    name,
    calls: () => callRecords.map((c) => ({ ...c, args: { ...c.args } })),
    cancellations: () => [...cancelled],
    authFailures: () => authFailureCount,
    metadataRequests: () => metadataRequestCount,
    connections: () => connectionCount,
    activeConnections: () => streamable.size + legacy.size,
    tcpConnections: () => tcpCount,
    notes: (subject) => [...(notesBySubject.get(subject) ?? [])],
    forbid: (tool, refusal) => {
      if (refusal) forbidden.set(tool, refusal);
      else forbidden.delete(tool);
    },
    forbiddenAnswers: () => forbiddenCount,
    setDown: (value) => {
      down = value;
    },
    waitForCalls: (tool, count = 1, timeoutMs = 10_000) =>
      waitUntil(() => callRecords.filter((c) => c.tool === tool).length >= count, timeoutMs, `${count} call(s) of ${tool}`),
    waitForCancellations: (tool, count = 1, timeoutMs = 10_000) =>
      waitUntil(() => cancelled.filter((t) => t === tool).length >= count, timeoutMs, `${count} cancellation(s) of ${tool}`),
    close: () => {
      closed ??= (async () => {
        closing.abort();
        const sessions = [...streamable.values(), ...legacy.values()];
        streamable.clear();
        legacy.clear();
        await Promise.allSettled(sessions.map((s) => s.server.close()));
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
