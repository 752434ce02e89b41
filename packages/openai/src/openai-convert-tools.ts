import type OpenAI from 'openai';
import type { SessionTool } from '@gatehouse/sdk';

/**
 * A tool's JSON Schema as OpenAI takes it for function parameters: untouched, except that `type` is
 * always `'object'` and `properties` is always present. OpenAI refuses an object schema without
 * `properties` ("object schema missing properties"), which MCP servers send for tools without
 * arguments; both repairs keep the schema's meaning.
 */
function toParameters(inputSchema: unknown): Record<string, unknown> {
  const schema: Record<string, unknown> = isRecord(inputSchema) ? inputSchema : {};
  return { ...schema, type: 'object', properties: isRecord(schema.properties) ? schema.properties : {} };
}

function descriptionOf(tool: SessionTool): string | undefined {
  return typeof tool.description === 'string' && tool.description.length > 0 ? tool.description : undefined;
}

/**
 * Converts a Gatehouse session's tools to Chat Completions function tools, for
 * `chat.completions.create({ tools })`.
 *
 * - `function.name` is the session tool name (already within OpenAI's 64 characters of `[a-zA-Z0-9_-]`);
 * - `function.description` is the tool server's, left out when it gave none;
 * - `function.parameters` is the tool's JSON Schema, untouched except that `type: 'object'` and
 *   `properties` are always set (see the README); `strict` is left out (off), because MCP schemas
 *   rarely meet strict mode's rules (every property required, `additionalProperties: false`).
 *
 * Pure: the input is not modified.
 *
 * @param tools - the session's tools (`providerSession.tools`, or `(await gatehouse.sessions.tools.list(id)).tools`)
 * @returns one function tool per session tool, in the same order
 *
 * @example
 * ```ts
 * const tools = toChatCompletionTools((await gatehouse.sessions.tools.list(session.id)).tools);
 * const completion = await openai.chat.completions.create({ model, tools, messages });
 * ```
 */
export function toChatCompletionTools(tools: readonly SessionTool[]): OpenAI.ChatCompletionFunctionTool[] {
  return tools.map((tool) => {
    const definition: OpenAI.FunctionDefinition = { name: tool.name, parameters: toParameters(tool.inputSchema) };
    const description = descriptionOf(tool);
    if (description !== undefined) definition.description = description;
    return { type: 'function', function: definition };
  });
}

/**
 * Converts a Gatehouse session's tools to Responses API function tools, for
 * `responses.create({ tools })`: `{ type: 'function', name, description, parameters, strict: false }`,
 * with the same names, descriptions and schemas as {@link toChatCompletionTools}.
 *
 * Pure: the input is not modified.
 *
 * @param tools - the session's tools
 * @returns one function tool per session tool, in the same order
 *
 * @example
 * ```ts
 * const response = await openai.responses.create({ model, input, tools: toResponsesTools(providerSession.tools) });
 * ```
 */
export function toResponsesTools(tools: readonly SessionTool[]): OpenAI.Responses.FunctionTool[] {
  return tools.map((tool) => {
    const functionTool: OpenAI.Responses.FunctionTool = {
      type: 'function',
      name: tool.name,
      parameters: toParameters(tool.inputSchema),
      strict: false,
    };
    const description = descriptionOf(tool);
    if (description !== undefined) functionTool.description = description;
    return functionTool;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
