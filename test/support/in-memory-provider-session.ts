/**
 * A small in-memory `ProviderSession` (the adapter contract itself) for the adapter's unit tests, and
 * builders of session tools and tool calls in SDK form.
 */
import type { ProviderSession, Session, SessionTool, ToolCall } from '@gatehouse/sdk';

/** A session tool of `providerId`, named `<providerId>__<originalName>` as Gatehouse names them. */
export function sessionTool(providerId: string, originalName: string, fields: Partial<SessionTool> = {}): SessionTool {
  return {
    name: `${providerId}__${originalName}`,
    description: `${originalName} on ${providerId}`,
    inputSchema: { type: 'object', properties: {} },
    providerId,
    providerDeploymentId: `pde_${providerId}`,
    originalName,
    annotations: null,
    ...fields,
  };
}

/** A succeeded tool call with `fields` over it. */
export function toolCall(fields: Partial<ToolCall> = {}): ToolCall {
  return {
    object: 'tool_call',
    id: 'tcl_1',
    sessionId: 'ses_test',
    toolName: 'github__create_issue',
    providerId: 'github',
    originalName: 'create_issue',
    status: 'succeeded',
    isError: false,
    content: [{ type: 'text', text: 'ok' }],
    structuredContent: null,
    error: null,
    durationMs: 3,
    createdAt: '2025-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** One call as the in-memory session received it. */
export interface RecordedToolCall {
  name: string;
  args: Record<string, unknown> | undefined;
}

/** A `ProviderSession` whose `callTool` runs `run` and records every call. */
export function inMemoryProviderSession(
  tools: SessionTool[],
  run: (name: string, args: Record<string, unknown> | undefined) => ToolCall | Promise<ToolCall> = (name) => toolCall({ toolName: name }),
  unavailable: ProviderSession['unavailable'] = [],
): ProviderSession & { calls: RecordedToolCall[] } {
  const session: Session = {
    object: 'session',
    id: 'ses_test',
    status: 'active',
    providers: [],
    metadata: {},
    mcp: { url: 'http://127.0.0.1:4310/mcp/sessions/ses_test', secret: 'gms_test' },
    createdAt: '2025-01-01T00:00:00.000Z',
    closedAt: null,
  };
  const calls: RecordedToolCall[] = [];
  return {
    id: session.id,
    session,
    tools,
    unavailable,
    mcpUrl: session.mcp.url,
    calls,
    async callTool(name, args) {
      calls.push({ name, args });
      return run(name, args);
    },
  };
}
