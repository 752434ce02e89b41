import { Hono } from 'hono';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ServerContext } from '../context.js';
import { GatehouseError } from '../errors.js';
import type { AppEnv } from '../http/env.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../http/validation.js';
import { enforceProjectRateLimit } from '../security/rate-limit.js';
import { projectIdForApiKey } from '../services/api-keys.js';
import { getSession, sessionForMcpSecret, type SessionRow } from '../services/sessions.js';

/** Version reported by the session MCP server. */
const SERVER_INFO = { name: 'gatehouse-session', version: '0.1.0' };

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
 */
export function sessionMcpRoutes(context: ServerContext) {
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

    const server = new Server(SERVER_INFO, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => {
      const { tools } = await context.toolGateway.listTools(session);
      return {
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
      const outcome = await context.toolGateway.callTool(session, request.params.name, request.params.arguments ?? {}, extra.signal);
      if (outcome.result) return outcome.result;
      return {
        isError: true,
        content: [{ type: 'text', text: `${outcome.record.errorCode}: ${outcome.record.errorMessage}` }],
      };
    });
    // Like the REST API, refuse a deeply nested body before any recursive code (the JSON-RPC schema,
    // the tool server client) walks it. Reading it here also applies the body limit to a streamed body.
    let request = c.req.raw;
    if (c.req.method === 'POST') {
      const text = await c.req.text();
      if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
        return jsonRpcError(400, `The body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels.`, {}, -32600);
      }
      request = new Request(c.req.url, { method: 'POST', headers: c.req.raw.headers, body: text, signal: c.req.raw.signal });
    }

    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request);
    } finally {
      // The response is complete (JSON mode); nothing of this request's server is needed any more.
      void server.close();
    }
  });
}
