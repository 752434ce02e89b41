/**
 * `@gatehouse/openai`: runs Gatehouse sessions with OpenAI's Chat Completions and Responses APIs.
 *
 * @example
 * ```ts
 * import { Gatehouse } from '@gatehouse/sdk';
 * import { gatehouseOpenAI } from '@gatehouse/openai';
 *
 * await gatehouse.withProviderSession(gatehouseOpenAI, { providers: [{ providerDeploymentId: 'pde_exa' }] }, async session => {
 *   // session.tools: function tools; session.callTools(message.tool_calls): the tool messages
 * });
 * ```
 *
 * @packageDocumentation
 */
export {
  gatehouseOpenAI,
  type OpenAIProviderSession,
  type OpenAIToolCallsInput,
  type OpenAIResponsesFunctionCallsInput,
} from './openai-adapter.js';
export { toChatCompletionTools, toResponsesTools } from './openai-convert-tools.js';
export {
  TOOL_ERROR_PREFIX,
  toToolOutputText,
  toolCallErrorText,
  toolCallOutputText,
  toToolMessage,
  errorToolMessage,
  toFunctionCallOutput,
  errorFunctionCallOutput,
} from './openai-convert-results.js';
export { parseToolArguments, type ParsedToolArguments } from './openai-arguments.js';
