import type Anthropic from '@anthropic-ai/sdk';
import type { McpContentBlock, ToolCall } from '@gatehouse/sdk';

/** The blocks this module puts in a tool result: text and base64 images, which every Anthropic API version accepts. */
export type AnthropicToolResultContentBlock = Anthropic.TextBlockParam | Anthropic.ImageBlockParam;

/** The image types of Anthropic's base64 image source (spelled out: older SDK versions name that type differently). */
export type AnthropicImageMediaType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';

/** The image types Anthropic accepts in a base64 image block. */
export const ANTHROPIC_IMAGE_MEDIA_TYPES: readonly AnthropicImageMediaType[] = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

/**
 * Anthropic refuses a request with an image over 5 MB; such an image becomes a text note instead, so the
 * next `messages.create` does not fail. Measured on the base64 text, which is the stricter reading.
 */
export const MAX_IMAGE_BASE64_LENGTH = 5 * 1024 * 1024;

/** Base64 strings longer than this are elided when a block is shown to the model as JSON. */
const MAX_INLINE_BASE64_LENGTH = 256;

/**
 * What the model should do about each failure, so that it can tell the user or try another way instead of
 * repeating the same call. Indexed by `toolCall.error.code`.
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

/**
 * Normalizes a MIME type (`IMAGE/JPG; q=1` -> `image/jpeg`) and says whether Anthropic accepts it as an image.
 *
 * @param mimeType - the MCP block's `mimeType`
 * @returns the Anthropic media type, or `undefined` when Anthropic does not accept it
 */
export function toAnthropicImageMediaType(mimeType: unknown): AnthropicImageMediaType | undefined {
  if (typeof mimeType !== 'string') return undefined;
  const normalized = mimeType.split(';')[0]?.trim().toLowerCase().replace(/^image\/jpg$/, 'image/jpeg');
  return ANTHROPIC_IMAGE_MEDIA_TYPES.find((mediaType) => mediaType === normalized);
}

function imageBlock(data: unknown, mimeType: unknown, what: string): AnthropicToolResultContentBlock {
  const mediaType = toAnthropicImageMediaType(mimeType);
  const label = typeof mimeType === 'string' && mimeType ? mimeType : 'unknown type';
  if (!mediaType) {
    return textBlock(`[${what} of type ${label} omitted: only JPEG, PNG, GIF and WebP images can be shown.]`);
  }
  // Some servers send a data URL where MCP wants bare base64.
  const base64 = typeof data === 'string' ? data.replace(/^data:[^,]*;base64,/, '') : '';
  if (base64.length === 0) return textBlock(`[${what} of type ${label} omitted: it has no data.]`);
  if (base64.length > MAX_IMAGE_BASE64_LENGTH) return textBlock(`[${what} of type ${label} omitted: it is larger than 5 MB.]`);
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data: base64 } };
}

function textBlock(text: string): Anthropic.TextBlockParam {
  return { type: 'text', text };
}

/** JSON of a block, with long base64 strings elided: the model cannot use them and they cost tokens. */
function jsonBlock(block: unknown): Anthropic.TextBlockParam {
  const json = JSON.stringify(block, (key, value: unknown) =>
    (key === 'data' || key === 'blob') && typeof value === 'string' && value.length > MAX_INLINE_BASE64_LENGTH
      ? `[${value.length} base64 characters omitted]`
      : value,
  );
  return textBlock(json ?? String(block));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Converts MCP content blocks to the content of an Anthropic `tool_result` block:
 * - `text` -> text (empty texts are dropped: Anthropic refuses empty text blocks);
 * - `image` -> a base64 image for JPEG, PNG, GIF and WebP (up to 5 MB), else a short text note;
 * - `resource` with `text` -> that text; with an image `blob` -> an image; otherwise its JSON;
 * - `audio` -> a short text note; anything else (`resource_link`, newer MCP types) -> its JSON as text,
 *   long base64 strings elided.
 *
 * Pure; the order of the blocks is kept.
 *
 * @param content - `toolCall.content`
 */
export function toToolResultContent(content: readonly McpContentBlock[]): AnthropicToolResultContentBlock[] {
  const blocks: AnthropicToolResultContentBlock[] = [];
  for (const block of Array.isArray(content) ? (content as readonly unknown[]) : []) {
    if (!isRecord(block)) continue;
    switch (block.type) {
      case 'text':
        if (typeof block.text === 'string' && block.text.length > 0) blocks.push(textBlock(block.text));
        break;
      case 'image':
        blocks.push(imageBlock(block.data, block.mimeType, 'An image'));
        break;
      case 'audio':
        blocks.push(textBlock(`[Audio of type ${typeof block.mimeType === 'string' ? block.mimeType : 'unknown type'} omitted: audio cannot be shown.]`));
        break;
      case 'resource': {
        const resource = isRecord(block.resource) ? block.resource : {};
        if (typeof resource.text === 'string') {
          if (resource.text.length > 0) blocks.push(textBlock(resource.text));
        } else if (typeof resource.blob === 'string' && toAnthropicImageMediaType(resource.mimeType)) {
          blocks.push(imageBlock(resource.blob, resource.mimeType, `The image ${String(resource.uri ?? '')}`.trimEnd()));
        } else {
          blocks.push(jsonBlock(block));
        }
        break;
      }
      default:
        blocks.push(jsonBlock(block));
    }
  }
  return blocks;
}

/**
 * The text the model gets for a failed call that carries no content of its own: the error code and
 * message, and what to do about it (e.g. for `reauthorization_required`: "The user must re-authorize
 * github; ask the app to start a new setup session for this auth config.").
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
 * Converts a Gatehouse tool call into the Anthropic `tool_result` block that answers the model's
 * `tool_use` block `toolUseId`. `is_error` is `toolCall.isError`. A failed call without content gets a
 * text naming the error code and message and what to do ({@link toolCallErrorText}); a successful call
 * without content gets its `structuredContent` as JSON, or a short note, so that the block is never empty.
 *
 * Pure.
 *
 * @param toolUseId - the `id` of the model's `tool_use` block
 * @param toolCall - the call's outcome (`providerSession.callTool(...)`)
 *
 * @example
 * ```ts
 * const toolCall = await providerSession.callTool(toolUse.name, toolUse.input as Record<string, unknown>);
 * messages.push({ role: 'user', content: [toToolResultBlock(toolUse.id, toolCall)] });
 * ```
 */
export function toToolResultBlock(toolUseId: string, toolCall: ToolCall): Anthropic.ToolResultBlockParam {
  const isError = toolCall.isError === true || toolCall.status === 'failed';
  let content = toToolResultContent(toolCall.content);
  if (content.length === 0) {
    if (isError) content = [textBlock(toolCallErrorText(toolCall))];
    else if (isRecord(toolCall.structuredContent)) content = [jsonBlock(toolCall.structuredContent)];
    else content = [textBlock('The tool returned no content.')];
  }
  return { type: 'tool_result', tool_use_id: toolUseId, content, is_error: isError };
}

/**
 * A `tool_result` block marked as an error, with `message` as its text: for a call that could not be
 * made at all (unknown tool, network failure). Anthropic requires error results to carry content, so
 * an empty message is replaced by a generic one.
 *
 * @param toolUseId - the `id` of the model's `tool_use` block
 * @param message - what went wrong, for the model
 *
 * @example
 * ```ts
 * errorResultBlock(toolUse.id, 'Tool "github__nope" is not available in this session.');
 * ```
 */
export function errorResultBlock(toolUseId: string, message: string): Anthropic.ToolResultBlockParam {
  return {
    type: 'tool_result',
    tool_use_id: toolUseId,
    content: [textBlock(message || 'The tool call failed.')],
    is_error: true,
  };
}
