import type Anthropic from '@anthropic-ai/sdk';
import type { ProviderSession, ProviderSessionAdapter, RequestOptions, UnavailableSessionProvider } from '@gatehouse/sdk';
import { errorResultBlock, toToolResultBlock } from './anthropic-convert-results.js';
import { toAnthropicTools } from './anthropic-convert-tools.js';

/**
 * What `callTools` accepts: the model's `tool_use` blocks, or a whole `message.content` array (anything
 * that is not a `tool_use` block is skipped).
 */
export type AnthropicToolUseInput =
  | ReadonlyArray<Anthropic.ToolUseBlock | Anthropic.ToolUseBlockParam>
  | ReadonlyArray<Anthropic.ContentBlock>
  | ReadonlyArray<Anthropic.ContentBlockParam>;

/** The user message that answers the model's tool calls: push it onto `messages` as it is. */
export interface AnthropicToolResultMessage {
  role: 'user';
  content: Anthropic.ToolResultBlockParam[];
}

/** What the `withProviderSession` callback receives from {@link gatehouseAnthropic}. */
export interface AnthropicProviderSession {
  /** The session's tools as Anthropic tool definitions, for `messages.create({ tools })`. */
  tools: Anthropic.Tool[];
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
  /**
   * Runs the model's tool calls through Gatehouse, in parallel, and resolves with the `user` message of
   * their `tool_result` blocks, in the order of the `tool_use` blocks.
   *
   * Never rejects for a tool problem: an unknown tool name (not in `tools`) becomes an `is_error` result
   * without a network call; a failed call (the tool's error, a timeout, `reauthorization_required`, ...)
   * becomes an `is_error` result saying what happened and what to do; a request that throws (network,
   * `5xx`, closed session) becomes an `is_error` result with a short message. Calls are never retried.
   *
   * @param toolUses - the `tool_use` blocks, or a whole `response.content`
   * @param options - per-call options for each tool call (`signal`, `timeout`)
   *
   * @example
   * ```ts
   * messages.push({ role: 'assistant', content: response.content });
   * messages.push(await session.callTools(response.content));
   * ```
   */
  callTools(toolUses: AnthropicToolUseInput, options?: RequestOptions): Promise<AnthropicToolResultMessage>;
  /** The underlying Gatehouse session: its id, raw tools, MCP URL and `callTool`. */
  providerSession: ProviderSession;
}

/** The longest error message put in a result; the model needs the gist, not a stack of causes. */
const MAX_ERROR_MESSAGE_LENGTH = 300;

interface ToolUse {
  id: string;
  name: string;
  input: unknown;
}

function isToolUse(block: unknown): block is ToolUse {
  if (typeof block !== 'object' || block === null) return false;
  const candidate = block as Partial<ToolUse> & { type?: unknown };
  return candidate.type === 'tool_use' && typeof candidate.id === 'string' && typeof candidate.name === 'string';
}

function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const oneLine = message.replace(/\s+/g, ' ').trim() || 'unknown error';
  return oneLine.length > MAX_ERROR_MESSAGE_LENGTH ? `${oneLine.slice(0, MAX_ERROR_MESSAGE_LENGTH)}…` : oneLine;
}

async function runToolUse(
  providerSession: ProviderSession,
  knownTools: ReadonlySet<string>,
  toolUse: ToolUse,
  options: RequestOptions | undefined,
): Promise<Anthropic.ToolResultBlockParam> {
  if (!knownTools.has(toolUse.name)) {
    return errorResultBlock(toolUse.id, `Tool "${toolUse.name}" is not available in this session; use only the tools you were given.`);
  }
  const input = toolUse.input ?? {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    return errorResultBlock(toolUse.id, `The input of tool "${toolUse.name}" must be a JSON object.`);
  }
  try {
    const toolCall = await providerSession.callTool(toolUse.name, input as Record<string, unknown>, options);
    return toToolResultBlock(toolUse.id, toolCall);
  } catch (error) {
    return errorResultBlock(
      toolUse.id,
      `Gatehouse could not run tool "${toolUse.name}": ${shortMessage(error)} The action may or may not have happened.`,
    );
  }
}

/**
 * The Anthropic adapter for `gatehouse.withProviderSession`: the session's tools become Anthropic tool
 * definitions, and `callTools(response.content)` runs the model's tool calls and returns the
 * `tool_result` message to push onto `messages`.
 *
 * @example
 * ```ts
 * import Anthropic from '@anthropic-ai/sdk';
 * import { Gatehouse } from '@gatehouse/sdk';
 * import { gatehouseAnthropic } from '@gatehouse/anthropic';
 *
 * const gatehouse = new Gatehouse({ apiKey: process.env.GATEHOUSE_API_KEY, baseUrl: 'http://127.0.0.1:4310' });
 * const anthropic = new Anthropic();
 *
 * await gatehouse.withProviderSession(gatehouseAnthropic, {
 *   providers: [
 *     { providerDeploymentId: 'pde_github', providerAuthConfigId: githubAuthConfigId },
 *     { providerDeploymentId: 'pde_exa' },
 *   ],
 * }, async session => {
 *   const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What are my open GitHub issues about?' }];
 *   for (let turn = 0; turn < 10; turn++) {
 *     const response = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 4096, tools: session.tools, messages });
 *     messages.push({ role: 'assistant', content: response.content });
 *     if (response.stop_reason !== 'tool_use') break;
 *     messages.push(await session.callTools(response.content));
 *   }
 * });
 * ```
 */
export const gatehouseAnthropic: ProviderSessionAdapter<AnthropicProviderSession> = {
  createSession(providerSession: ProviderSession): AnthropicProviderSession {
    const tools = toAnthropicTools(providerSession.tools);
    const knownTools: ReadonlySet<string> = new Set(tools.map((tool) => tool.name));
    return {
      tools,
      unavailable: providerSession.unavailable ?? [],
      providerSession,
      async callTools(toolUses, options) {
        const blocks: readonly unknown[] = Array.isArray(toolUses) ? toolUses : [];
        const content = await Promise.all(
          blocks.filter(isToolUse).map((toolUse) => runToolUse(providerSession, knownTools, toolUse, options)),
        );
        return { role: 'user', content };
      },
    };
  },
};
