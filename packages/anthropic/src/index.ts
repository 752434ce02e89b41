/**
 * `@gatehouse/anthropic`: runs Gatehouse sessions with Anthropic's Messages API.
 *
 * @example
 * ```ts
 * import { Gatehouse } from '@gatehouse/sdk';
 * import { gatehouseAnthropic } from '@gatehouse/anthropic';
 *
 * await gatehouse.withProviderSession(gatehouseAnthropic, { providers: [{ providerDeploymentId: 'pde_exa' }] }, async session => {
 *   // session.tools: Anthropic tool definitions; session.callTools(toolUseBlocks): the tool_result message
 * });
 * ```
 *
 * @packageDocumentation
 */
export {
  gatehouseAnthropic,
  type AnthropicProviderSession,
  type AnthropicToolResultMessage,
  type AnthropicToolUseInput,
} from './anthropic-adapter.js';
export { toAnthropicTools } from './anthropic-convert-tools.js';
export {
  toToolResultBlock,
  toToolResultContent,
  toolCallErrorText,
  errorResultBlock,
  toAnthropicImageMediaType,
  ANTHROPIC_IMAGE_MEDIA_TYPES,
  MAX_IMAGE_BASE64_LENGTH,
  type AnthropicToolResultContentBlock,
  type AnthropicImageMediaType,
} from './anthropic-convert-results.js';
