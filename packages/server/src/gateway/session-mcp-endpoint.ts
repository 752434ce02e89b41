import { Hono } from 'hono';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { randomBytes } from 'node:crypto';
import {
  CallToolRequestSchema,
  CancelledNotificationSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerContext } from '../context.js';
import { GatehouseError } from '../errors.js';
import type { AppEnv } from '../http/env.js';
import { unavailableProviderToWire } from '../http/serializers.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../http/validation.js';
import { enforceProjectRateLimit } from '../security/rate-limit.js';
import { projectIdForApiKey } from '../services/api-keys.js';
import { getSession, sessionForMcpSecret, type SessionRow } from '../services/sessions.js';

/** Version reported by the session MCP server. */
const SERVER_INFO = { name: 'gatehouse-session', version: '0.1.0' };

/**
 * The `_meta` key of a `tools/list` result that names the session's providers whose tools could not be
 * listed (`[{ provider_id, provider_deployment_id, error: { code, message } }]`), as REST's `unavailable`.
 */
export const UNAVAILABLE_PROVIDERS_META_KEY = 'gatehouse/unavailable_providers';

const MCP_SESSION_HEADER = 'mcp-session-id';

function jsonRpcError(status: number, message: string, headers: Record<string, string> = {}, code = -32001) {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * `/mcp/sessions/:sessionId`: the session's merged tools as one MCP server over Streamable HTTP,
 * so Claude Desktop, Cursor or any MCP client can use it. Stateless: each request builds its server
 * from the session in the database, so any process can answer it. Opened by the session's MCP secret
 * or the project's API key.
 *
 * Cancellation: a client's `notifications/cancelled` comes in its own request, to a server that did not
 * see the call, and behind a load balancer maybe to another process. So calls in flight are kept per
 * client (the `Mcp-Session-Id` this endpoint hands out on `initialize`, which keeps two clients' JSON-RPC
 * ids apart, though it holds no state) and JSON-RPC id, and a cancel is published to every process
 * (`tool_call_cancelled`); the one running the call aborts it, which cancels it at the tool server. A
 * client that drops the HTTP request of a call cancels it too.
 */
export function sessionMcpRoutes(context: ServerContext) {
  const callsInFlight = new Map<string, AbortController>();
  const callKey = (clientKey: string, requestId: RequestId) => `${clientKey}|${JSON.stringify(requestId)}`;
  // Lives as long as the server: the notifier is closed with it.
  context.notifier.subscribe('tool_call_cancelled', (key) => callsInFlight.get(key)?.abort());
  const authenticate = async (sessionId: string, authorization: string | undefined): Promise<SessionRow | undefined> => {
    const token = /^Bearer\s+(\S{1,512})$/i.exec(authorization ?? '')?.[1];
    if (!token) return undefined;
    if (token.startsWith('gms_')) return sessionForMcpSecret(context, sessionId, token);
    const projectId = await projectIdForApiKey(context.db, token);
    return projectId ? getSession(context, projectId, sessionId).catch(() => undefined) : undefined;
  };

  return new Hono<AppEnv>().all('/mcp/sessions/:sessionId', async (c) => {
    const session = await authenticate(c.req.param('sessionId'), c.req.header('authorization'));
    if (!session) {
      return jsonRpcError(401, 'Send the session\'s MCP secret (or the project API key) as "Authorization: Bearer …".', {
        'www-authenticate': 'Bearer realm="gatehouse"',
      });
    }
    if (session.status !== 'active') return jsonRpcError(404, `Session ${session.id} is closed.`);

    // Printable, so it can travel as a NOTIFY payload; bounded, since the header is the client's.
    const clientKey = `${session.id}|${(c.req.header(MCP_SESSION_HEADER) ?? '').slice(0, 128)}`;
    const requestSignal = c.req.raw.signal;
    const server = new Server(SERVER_INFO, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => {
      const { tools, unavailable } = await context.toolGateway.listTools(session);
      return {
        // A provider that could not be reached is named, so its tools do not vanish without a word.
        ...(unavailable.length > 0 ? { _meta: { [UNAVAILABLE_PROVIDERS_META_KEY]: unavailable.map(unavailableProviderToWire) } } : {}),
        tools: tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          inputSchema: tool.inputSchema,
          ...(tool.annotations ? { annotations: tool.annotations } : {}),
        })),
      };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
      // The project's tool-call budget (GATEHOUSE_RATE_LIMIT_TOOL_CALLS) counts MCP calls like REST ones.
      try {
        await enforceProjectRateLimit(context, session.projectId, 'tool_calls');
      } catch (error) {
        if (!(error instanceof GatehouseError)) throw error;
        return { isError: true, content: [{ type: 'text', text: `${error.code}: ${error.message}` }] };
      }
      const key = callKey(clientKey, extra.requestId);
      const cancel = new AbortController();
      callsInFlight.set(key, cancel);
      let outcome;
      try {
        const signal = AbortSignal.any([extra.signal, cancel.signal, requestSignal]);
        outcome = await context.toolGateway.callTool(session, request.params.name, request.params.arguments ?? {}, signal);
      } finally {
        if (callsInFlight.get(key) === cancel) callsInFlight.delete(key);
      }
      if (outcome.result) return outcome.result;
      return {
        isError: true,
        content: [{ type: 'text', text: `${outcome.record.errorCode}: ${outcome.record.errorMessage}` }],
      };
    });
    // Replaces the SDK's own handler, which only knows the calls of this request's server.
    server.setNotificationHandler(CancelledNotificationSchema, async (notification) => {
      const { requestId } = notification.params;
      if (requestId === undefined) return;
      const key = callKey(clientKey, requestId);
      const local = callsInFlight.get(key);
      // Published only when the call is not here: then it runs in another process, or already ended.
      if (local) local.abort();
      else await context.notifier.publish('tool_call_cancelled', key.slice(0, 1000)).catch(() => {});
    });
    // Like the REST API, refuse a deeply nested body before any recursive code (the JSON-RPC schema,
    // the tool server client) walks it. Reading it here also applies the body limit to a streamed body.
    let request = c.req.raw;
    let initializing = false;
    if (c.req.method === 'POST') {
      const text = await c.req.text();
      initializing = /"method"\s*:\s*"initialize"/.test(text);
      if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
        return jsonRpcError(400, `The body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels.`, {}, -32600);
      }
      request = new Request(c.req.url, { method: 'POST', headers: c.req.raw.headers, body: text, signal: c.req.raw.signal });
    }

    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      const response = await transport.handleRequest(request);
      // An id for the client (no state behind it): it keys the client's calls for cancellation.
      if (initializing && response.ok && !response.headers.has(MCP_SESSION_HEADER)) {
        const headers = new Headers(response.headers);
        headers.set(MCP_SESSION_HEADER, `gmc_${randomBytes(16).toString('hex')}`);
        return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
      }
      return response;
    } finally {
      // The response is complete (JSON mode); nothing of this request's server is needed any more.
      void server.close();
    }
  });
}
