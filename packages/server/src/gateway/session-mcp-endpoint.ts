import { Hono } from 'hono';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ServerContext } from '../context.js';
import type { AppEnv } from '../http/env.js';
import { projectIdForApiKey } from '../services/api-keys.js';
import { getSession, sessionForMcpSecret, type SessionRow } from '../services/sessions.js';

/** Version reported by the session MCP server. */
const SERVER_INFO = { name: 'gatehouse-session', version: '0.1.0' };

function jsonRpcError(status: number, message: string, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }), {
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
      const outcome = await context.toolGateway.callTool(session, request.params.name, request.params.arguments ?? {}, extra.signal);
      if (outcome.result) return outcome.result;
      return {
        isError: true,
        content: [{ type: 'text', text: `${outcome.record.errorCode}: ${outcome.record.errorMessage}` }],
      };
    });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      // The response is complete (JSON mode); nothing of this request's server is needed any more.
      void server.close();
    }
  });
}
