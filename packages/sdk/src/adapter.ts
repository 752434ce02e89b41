/**
 * The contract between `gatehouse.withProviderSession` and a model-vendor adapter (`@gatehouse/anthropic`,
 * an OpenAI adapter, your own). The SDK opens the session and lists its tools; the adapter turns them
 * into the vendor's shapes; the SDK closes the session afterwards.
 *
 * An adapter package depends on `@gatehouse/sdk` for these types only, takes the vendor SDK as a peer
 * dependency, and keeps its conversions pure (one function per conversion, tested against the vendor's
 * real types).
 *
 * @packageDocumentation
 */
import type { RequestOptions } from './core/http.js';
import type { UnavailableSessionProvider } from './resources/sessions/tools.js';
import type { Session, SessionTool, ToolCall } from './types.js';

/**
 * What every adapter receives: an open session, its tools, and a way to call them. Valid until the
 * `withProviderSession` callback settles; the session is closed then.
 */
export interface ProviderSession {
  /** The session id (`ses_…`). */
  id: string;
  /** The session as `sessions.create` answered it (so `session.mcp.secret` is set). */
  session: Session;
  /**
   * Every tool of the session, across its providers, listed once when the session was opened. Names are
   * unique within the session and fit every vendor's limits (≤ 64 characters of `[a-zA-Z0-9_-]`);
   * `inputSchema` is the tool's JSON Schema exactly as its MCP server declared it.
   */
  tools: SessionTool[];
  /**
   * The session's providers whose tools could not be listed when the session was opened (tool server
   * down, user must authorize again, ...), with the reason; their tools are missing from `tools`. Empty
   * when every provider answered. An adapter should pass this on (e.g. as `session.unavailable`), so the
   * app can tell the user or the model instead of losing those tools silently.
   */
  unavailable: UnavailableSessionProvider[];
  /**
   * The session's tools as one MCP server (Streamable HTTP), for vendors that connect to MCP servers
   * themselves; authenticate with `session.mcp.secret` as a bearer token.
   */
  mcpUrl: string;
  /**
   * Calls one tool by its session name (`POST /v1/sessions/:id/tool-calls`).
   *
   * Resolves with the {@link ToolCall} even when the tool failed: check `toolCall.isError` and hand the
   * result to the model as an error result. Rejects only when the request itself fails (network, `5xx`,
   * a closed session): an adapter should turn that into an error result too, never let it end the agent
   * loop. Never retried automatically (a tool may not be idempotent).
   *
   * @param name - the session tool name, e.g. `github__create_issue`
   * @param args - the tool's arguments (default `{}`), sent exactly as given
   * @param options - per-call options (`signal`, `timeout`, `headers`)
   */
  callTool(name: string, args?: Record<string, unknown>, options?: RequestOptions): Promise<ToolCall>;
}

/**
 * A model-vendor adapter: turns a {@link ProviderSession} into what the app's callback works with
 * (`TSession`), typically the tools in the vendor's format plus a function that runs the model's tool
 * calls and returns the vendor's tool-result message.
 *
 * Rules for implementers:
 * - `createSession` is called once per session, after the tools are listed; it may be async.
 * - Keep conversions pure and vendor-typed; do not call the model vendor's API.
 * - A tool problem (unknown name, failed call, thrown error) must come back as the vendor's error
 *   result (`is_error: true` for Anthropic), never as an exception that ends the agent loop.
 * - Do not close the session: `withProviderSession` does, when the callback settles.
 *
 * @typeParam TSession - what the app's callback receives
 *
 * @example
 * ```ts
 * import type { ProviderSession, ProviderSessionAdapter } from '@gatehouse/sdk';
 *
 * // A minimal adapter for a vendor whose tools are { name, parameters } and whose results are strings.
 * interface MySession {
 *   tools: Array<{ name: string; description?: string; parameters: Record<string, unknown> }>;
 *   run(name: string, args: Record<string, unknown>): Promise<string>;
 *   providerSession: ProviderSession;
 * }
 *
 * export const myAdapter: ProviderSessionAdapter<MySession> = {
 *   createSession(providerSession) {
 *     return {
 *       tools: providerSession.tools.map((tool) => ({
 *         name: tool.name,
 *         description: tool.description ?? undefined,
 *         parameters: tool.inputSchema,
 *       })),
 *       async run(name, args) {
 *         try {
 *           const toolCall = await providerSession.callTool(name, args);
 *           const text = toolCall.content.map((block) => (block.type === 'text' ? block.text : JSON.stringify(block))).join('\n');
 *           return toolCall.isError ? `Error: ${text || toolCall.error?.message}` : text;
 *         } catch (error) {
 *           return `Error: ${error instanceof Error ? error.message : String(error)}`;
 *         }
 *       },
 *       providerSession,
 *     };
 *   },
 * };
 * ```
 */
export interface ProviderSessionAdapter<TSession> {
  /**
   * Builds the adapter's session object from an open provider session.
   *
   * @param providerSession - the open session, its tools and `callTool`
   */
  createSession(providerSession: ProviderSession): TSession | Promise<TSession>;
}
