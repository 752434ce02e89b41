import type OpenAI from 'openai';
import type { ProviderSession, ProviderSessionAdapter, RequestOptions, UnavailableSessionProvider } from '@gatehouse/sdk';
import { errorFunctionCallOutput, errorToolMessage, toFunctionCallOutput, toToolMessage } from './openai-convert-results.js';
import { toChatCompletionTools, toResponsesTools } from './openai-convert-tools.js';
import { runCall } from './openai-run-call.js';

/**
 * What `callTools` accepts: the `tool_calls` of an assistant message (`completion.choices[0].message.tool_calls`),
 * which may be missing.
 */
export type OpenAIToolCallsInput = ReadonlyArray<OpenAI.ChatCompletionMessageToolCall> | null | undefined;

/**
 * What `callResponsesTools` accepts: a response's `output` (anything that is not a `function_call` item
 * is skipped), or `function_call` items.
 */
export type OpenAIResponsesFunctionCallsInput =
  | ReadonlyArray<OpenAI.Responses.ResponseOutputItem>
  | ReadonlyArray<OpenAI.Responses.ResponseInputItem>
  | ReadonlyArray<OpenAI.Responses.ResponseFunctionToolCall>;

/** What the `withProviderSession` callback receives from {@link gatehouseOpenAI}. */
export interface OpenAIProviderSession {
  /** The session's tools as Chat Completions function tools, for `chat.completions.create({ tools })`. */
  tools: OpenAI.ChatCompletionFunctionTool[];
  /**
   * Runs the `tool_calls` of an assistant message through Gatehouse, in parallel, and resolves with one
   * `tool` message per call, in the order of the calls: push them onto `messages` after the assistant
   * message.
   *
   * Never rejects for a tool problem. OpenAI has no error flag on tool messages, so a problem becomes a
   * tool message whose `content` starts with `Error: ` (`TOOL_ERROR_PREFIX`): an unknown tool name (not
   * in `tools`) or a custom tool call, and `arguments` that are not a JSON object, without a network
   * call; a failed call (the tool's error, a timeout, `reauthorization_required`, ...) saying what
   * happened and what to do; a request that throws (network, `5xx`, closed session) with a short
   * message. Every call is answered, as OpenAI requires. Calls are never retried.
   *
   * @param toolCalls - `message.tool_calls` (missing: no messages)
   * @param options - per-call options for each tool call (`signal`, `timeout`)
   *
   * @example
   * ```ts
   * const message = completion.choices[0]!.message;
   * messages.push(message);
   * messages.push(...(await session.callTools(message.tool_calls)));
   * ```
   */
  callTools(toolCalls: OpenAIToolCallsInput, options?: RequestOptions): Promise<OpenAI.ChatCompletionToolMessageParam[]>;
  /** The same tools as Responses API function tools (`strict: false`), for `responses.create({ tools })`. */
  responsesTools: OpenAI.Responses.FunctionTool[];
  /**
   * The Responses API form of {@link OpenAIProviderSession.callTools}: runs the `function_call` items of
   * `response.output` and resolves with one `function_call_output` item per call, in order, errors told
   * the same way. Put them in the next request's `input`.
   *
   * @param output - `response.output`, or `function_call` items
   * @param options - per-call options for each tool call (`signal`, `timeout`)
   *
   * @example
   * ```ts
   * input.push(...response.output, ...(await session.callResponsesTools(response.output)));
   * ```
   */
  callResponsesTools(
    output: OpenAIResponsesFunctionCallsInput,
    options?: RequestOptions,
  ): Promise<OpenAI.Responses.ResponseInputItem.FunctionCallOutput[]>;
  /**
   * The session's providers whose tools could not be listed when it opened (tool server down, the user
   * must authorize again, ...), each with `providerId`, `providerDeploymentId` and `error: { code, message }`.
   * Their tools are missing from `tools`; empty when every provider answered. Tell the user (or the model)
   * rather than letting those tools vanish silently.
   *
   * @example
   * ```ts
   * for (const provider of session.unavailable) console.warn(`${provider.providerId}: ${provider.error.message}`);
   * ```
   */
  unavailable: UnavailableSessionProvider[];
  /** The underlying Gatehouse session: its id, raw tools, MCP URL and `callTool`. */
  providerSession: ProviderSession;
}

interface ChatToolCall {
  id: string;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown };
  custom?: { name?: unknown };
}

interface FunctionCallItem {
  type: 'function_call';
  call_id: string;
  name: string;
  arguments?: unknown;
}

function isChatToolCall(value: unknown): value is ChatToolCall {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

function isFunctionCallItem(value: unknown): value is FunctionCallItem {
  if (typeof value !== 'object' || value === null) return false;
  const item = value as Partial<FunctionCallItem> & { type?: unknown };
  return item.type === 'function_call' && typeof item.call_id === 'string' && typeof item.name === 'string';
}

/**
 * The OpenAI adapter for `gatehouse.withProviderSession`: the session's tools become function tools (for
 * Chat Completions as `tools`, for the Responses API as `responsesTools`), and `callTools(message.tool_calls)`
 * runs the model's tool calls and returns the `tool` messages to push onto `messages`.
 *
 * @example
 * ```ts
 * import OpenAI from 'openai';
 * import { Gatehouse } from '@gatehouse/sdk';
 * import { gatehouseOpenAI } from '@gatehouse/openai';
 *
 * const gatehouse = new Gatehouse({ apiKey: process.env.GATEHOUSE_API_KEY, baseUrl: 'http://127.0.0.1:4310' });
 * const openai = new OpenAI();
 *
 * await gatehouse.withProviderSession(gatehouseOpenAI, {
 *   providers: [
 *     { providerDeploymentId: 'pde_github', providerAuthConfigId: githubAuthConfigId },
 *     { providerDeploymentId: 'pde_exa' },
 *   ],
 * }, async session => {
 *   const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What are my open GitHub issues about?' }];
 *   for (let turn = 0; turn < 10; turn++) {
 *     const completion = await openai.chat.completions.create({ model: 'gpt-4.1', tools: session.tools, messages });
 *     const message = completion.choices[0]!.message;
 *     messages.push(message);
 *     if (!message.tool_calls?.length) break;
 *     messages.push(...(await session.callTools(message.tool_calls)));
 *   }
 * });
 * ```
 */
export const gatehouseOpenAI: ProviderSessionAdapter<OpenAIProviderSession> = {
  createSession(providerSession: ProviderSession): OpenAIProviderSession {
    const tools = toChatCompletionTools(providerSession.tools);
    const knownTools: ReadonlySet<string> = new Set(tools.map((tool) => tool.function.name));

    async function answerChatToolCall(call: ChatToolCall, options: RequestOptions | undefined): Promise<OpenAI.ChatCompletionToolMessageParam> {
      if (call.type !== undefined && call.type !== 'function') {
        const name = typeof call.custom?.name === 'string' ? call.custom.name : String(call.type);
        return errorToolMessage(call.id, `Tool "${name}" is not a function tool of this session; use only the tools you were given.`);
      }
      const name = typeof call.function?.name === 'string' ? call.function.name : '';
      const outcome = await runCall(providerSession, knownTools, name, call.function?.arguments, options);
      return outcome.ok ? toToolMessage(call.id, outcome.toolCall) : errorToolMessage(call.id, outcome.message);
    }

    return {
      tools,
      responsesTools: toResponsesTools(providerSession.tools),
      unavailable: providerSession.unavailable ?? [],
      providerSession,
      async callTools(toolCalls, options) {
        const calls: readonly unknown[] = Array.isArray(toolCalls) ? toolCalls : [];
        return Promise.all(calls.filter(isChatToolCall).map((call) => answerChatToolCall(call, options)));
      },
      async callResponsesTools(output, options) {
        const items: readonly unknown[] = Array.isArray(output) ? output : [];
        return Promise.all(
          items.filter(isFunctionCallItem).map(async (item) => {
            const outcome = await runCall(providerSession, knownTools, item.name, item.arguments, options);
            return outcome.ok ? toFunctionCallOutput(item.call_id, outcome.toolCall) : errorFunctionCallOutput(item.call_id, outcome.message);
          }),
        );
      },
    };
  },
};
