import type OpenAI from 'openai';
import type { McpContentBlock, ToolCall } from '@gatehouse/sdk';

/**
 * How a tool message says that the call failed. OpenAI has no `is_error` flag on tool messages (Chat
 * Completions) or `function_call_output` items (Responses), so an error is told in the text itself:
 * the output of every failed call, and only of failed calls, starts with this prefix, for the model and
 * for an app that wants to tell them apart (`content.startsWith(TOOL_ERROR_PREFIX)`).
 */
export const TOOL_ERROR_PREFIX = 'Error: ';

/** Base64 strings longer than this are elided when a block is shown to the model as JSON. */
const MAX_INLINE_BASE64_LENGTH = 256;

/**
 * What the model should do about each failure, so that it can tell the user or try another way instead of
 * repeating the same call. Indexed by `toolCall.error.code`. (The same guidance as `@gatehouse/anthropic`;
 * each adapter keeps its own copy so that neither depends on the other.)
 */
const ERROR_GUIDANCE: Record<string, (toolCall: ToolCall) => string> = {
  unknown_tool: (toolCall) => `There is no tool named "${toolCall.toolName}" in this session; use only the tools you were given.`,
  tool_server_unavailable: (toolCall) =>
    `The ${providerName(toolCall)} tool server could not be reached. Try again later, or continue without this tool.`,
  tool_timeout: (toolCall) =>
    `The ${providerName(toolCall)} tool did not answer in time. The action may or may not have happened: check before calling it again.`,
  tool_result_too_large: () => 'The result was too large to return. Ask for less: narrow the query, or use paging or filters.',
  reauthorization_required: (toolCall) =>
    `The user must re-authorize ${providerName(toolCall)}; ask the app to start a new setup session for this auth config.`,
  tool_server_error: (toolCall) =>
    `The ${providerName(toolCall)} tool server failed. Try again later, or continue without this tool.`,
  tool_forbidden: (toolCall) =>
    `${providerName(toolCall)} refused this action for this user (for example a missing permission or scope); do not repeat it, tell the user what was refused.`,
  token_refresh_failed: (toolCall) =>
    `The user's ${providerName(toolCall)} token could not be renewed right now; try again later, or continue without this tool.`,
  cancelled: () => 'The call was cancelled before it finished. The action may or may not have happened: check before calling it again.',
};

function providerName(toolCall: ToolCall): string {
  return toolCall.providerId || 'provider';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON of a block, with long base64 strings elided: the model cannot use them and they cost tokens. */
function toJsonText(block: unknown): string {
  const json = JSON.stringify(block, (key, value: unknown) =>
    (key === 'data' || key === 'blob') && typeof value === 'string' && value.length > MAX_INLINE_BASE64_LENGTH
      ? `[${value.length} base64 characters omitted]`
      : value,
  );
  return json ?? String(block);
}

function mimeTypeOf(value: unknown): string {
  return typeof value === 'string' && value.length > 0 ? value : 'unknown type';
}

/**
 * Converts MCP content blocks to the text of an OpenAI tool output. Tool messages carry text only, so:
 * - `text` -> its text (empty texts are dropped);
 * - `resource` with `text` -> that text;
 * - `image` and `audio` -> a short note naming the type (the model learns that there was one);
 * - anything else (`resource_link`, blob resources, newer MCP types) -> its JSON, long base64 elided.
 *
 * The parts are joined by newlines, in order. Pure.
 *
 * @param content - `toolCall.content`
 * @returns the text, `''` when no block gave any
 */
export function toToolOutputText(content: readonly McpContentBlock[]): string {
  const parts: string[] = [];
  for (const block of Array.isArray(content) ? (content as readonly unknown[]) : []) {
    if (!isRecord(block)) continue;
    switch (block.type) {
      case 'text':
        if (typeof block.text === 'string' && block.text.length > 0) parts.push(block.text);
        break;
      case 'image':
        parts.push(`[An image of type ${mimeTypeOf(block.mimeType)} omitted: tool outputs carry text only.]`);
        break;
      case 'audio':
        parts.push(`[Audio of type ${mimeTypeOf(block.mimeType)} omitted: tool outputs carry text only.]`);
        break;
      case 'resource': {
        const resource = isRecord(block.resource) ? block.resource : {};
        if (typeof resource.text === 'string') {
          if (resource.text.length > 0) parts.push(resource.text);
        } else {
          parts.push(toJsonText(block));
        }
        break;
      }
      default:
        parts.push(toJsonText(block));
    }
  }
  return parts.join('\n');
}

/**
 * The text the model gets for a failed call that carries no content of its own: the error code and
 * message, and what to do about it (e.g. for `reauthorization_required`: "The user must re-authorize
 * github; ask the app to start a new setup session for this auth config."). Without the prefix.
 *
 * @param toolCall - a call with `error` set (or `isError` without content)
 */
export function toolCallErrorText(toolCall: ToolCall): string {
  const error = toolCall.error;
  if (!error) return `The tool ${toolCall.toolName} reported an error without details.`;
  const guidance = ERROR_GUIDANCE[error.code]?.(toolCall);
  const message = error.message ? ` ${error.message.trim()}` : '';
  const separator = message && !/[.!?]$/.test(message) ? '.' : '';
  return `Tool call failed (${error.code}):${message}${separator}${guidance ? ` ${guidance}` : ''}`;
}

/**
 * The whole output text of a tool call, as both APIs take it. A successful call gives its content
 * ({@link toToolOutputText}), or its `structuredContent` as JSON, or a short note, so that it is never
 * empty. A failed call (`isError`, or status `failed`) gives {@link TOOL_ERROR_PREFIX} and then its own
 * content, or, when it has none, the error code, message and what to do ({@link toolCallErrorText}).
 *
 * Pure.
 *
 * @param toolCall - the call's outcome (`providerSession.callTool(...)`)
 */
export function toolCallOutputText(toolCall: ToolCall): string {
  const isError = toolCall.isError === true || toolCall.status === 'failed';
  const text = toToolOutputText(toolCall.content);
  if (isError) return `${TOOL_ERROR_PREFIX}${text || toolCallErrorText(toolCall)}`;
  if (text) return text;
  if (isRecord(toolCall.structuredContent)) return toJsonText(toolCall.structuredContent);
  return 'The tool returned no content.';
}

/** The text of a call that could not be made at all, never empty. */
function errorText(message: string): string {
  return `${TOOL_ERROR_PREFIX}${message || 'The tool call failed.'}`;
}

/**
 * Converts a Gatehouse tool call into the Chat Completions tool message that answers the model's tool
 * call `toolCallId` (push it onto `messages`). Its `content` is {@link toolCallOutputText}: a failure
 * starts with {@link TOOL_ERROR_PREFIX}.
 *
 * Pure.
 *
 * @param toolCallId - the `id` of the assistant message's tool call
 * @param toolCall - the call's outcome
 *
 * @example
 * ```ts
 * const toolCall = await providerSession.callTool(call.function.name, JSON.parse(call.function.arguments));
 * messages.push(toToolMessage(call.id, toolCall));
 * ```
 */
export function toToolMessage(toolCallId: string, toolCall: ToolCall): OpenAI.ChatCompletionToolMessageParam {
  return { role: 'tool', tool_call_id: toolCallId, content: toolCallOutputText(toolCall) };
}

/**
 * A Chat Completions tool message saying that the call failed, with `message` after
 * {@link TOOL_ERROR_PREFIX}: for a call that could not be made at all (unknown tool, arguments that are
 * not JSON, network failure). Every tool call of an assistant message needs an answer, or the next
 * request is refused, so failures are answered too.
 *
 * @param toolCallId - the `id` of the assistant message's tool call
 * @param message - what went wrong, for the model
 */
export function errorToolMessage(toolCallId: string, message: string): OpenAI.ChatCompletionToolMessageParam {
  return { role: 'tool', tool_call_id: toolCallId, content: errorText(message) };
}

/**
 * Converts a Gatehouse tool call into the Responses API `function_call_output` item that answers the
 * model's `function_call` item `callId` (put it in the next request's `input`). Its `output` is
 * {@link toolCallOutputText}.
 *
 * Pure.
 *
 * @param callId - the `call_id` of the `function_call` item
 * @param toolCall - the call's outcome
 */
export function toFunctionCallOutput(callId: string, toolCall: ToolCall): OpenAI.Responses.ResponseInputItem.FunctionCallOutput {
  return { type: 'function_call_output', call_id: callId, output: toolCallOutputText(toolCall) };
}

/**
 * A Responses API `function_call_output` item saying that the call failed (see {@link errorToolMessage}).
 *
 * @param callId - the `call_id` of the `function_call` item
 * @param message - what went wrong, for the model
 */
export function errorFunctionCallOutput(callId: string, message: string): OpenAI.Responses.ResponseInputItem.FunctionCallOutput {
  return { type: 'function_call_output', call_id: callId, output: errorText(message) };
}
