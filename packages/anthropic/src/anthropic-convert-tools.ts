import type Anthropic from '@anthropic-ai/sdk';
import type { SessionTool } from '@gatehouse/sdk';

/**
 * Converts a Gatehouse session's tools to Anthropic tool definitions, for `messages.create({ tools })`.
 *
 * - `name` is the session tool name (already within Anthropic's 64 characters of `[a-zA-Z0-9_-]`);
 * - `description` is the tool server's, left out when it gave none;
 * - `input_schema` is the tool's JSON Schema, untouched except that `type` is always `'object'`, as
 *   Anthropic requires (MCP requires it too, so this only repairs a non-conforming server).
 *
 * Pure: the input is not modified.
 *
 * @param tools - the session's tools (`providerSession.tools`, or `(await gatehouse.sessions.tools.list(id)).tools`)
 * @returns one Anthropic tool per session tool, in the same order
 *
 * @example
 * ```ts
 * const tools = toAnthropicTools((await gatehouse.sessions.tools.list(session.id)).tools);
 * const response = await anthropic.messages.create({ model, max_tokens: 1024, tools, messages });
 * ```
 */
export function toAnthropicTools(tools: readonly SessionTool[]): Anthropic.Tool[] {
  return tools.map((tool) => {
    const schema: Record<string, unknown> = isRecord(tool.inputSchema) ? tool.inputSchema : {};
    const anthropicTool: Anthropic.Tool = {
      name: tool.name,
      input_schema: { ...schema, type: 'object' },
    };
    if (typeof tool.description === 'string' && tool.description.length > 0) anthropicTool.description = tool.description;
    return anthropicTool;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
