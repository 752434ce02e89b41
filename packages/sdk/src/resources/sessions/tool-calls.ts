import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { ToolCall } from '../../types.js';

/** Body of `gatehouse.sessions.toolCalls.create`. */
export interface ToolCallCreateParams {
  /** The session tool's name, e.g. `github__create_issue` (see `gatehouse.sessions.tools.list`). */
  name: string;
  /** The tool's arguments, as its input schema names them; sent exactly as given, never case-converted. */
  arguments?: Record<string, unknown>;
}

/** Parameters of `gatehouse.sessions.toolCalls.list`. */
export type ToolCallListParams = CursorPageParams;

/**
 * Added to the client's `timeout` for a tool call that sets none: the server bounds every tool call itself
 * (60 s by default) and answers a `tool_timeout` result, which tells the model more than a client-side
 * timeout can, so the client waits a little longer than the server.
 */
export const TOOL_CALL_TIMEOUT_GRACE_MS = 10_000;

function basePath(sessionId: string): string {
  return `/v1/sessions/${pathSegment(sessionId, 'session')}/tool-calls`;
}

/** `gatehouse.sessions.toolCalls`: running a session's tools (`tcl_…`), and the record of past calls. */
export class ToolCalls extends APIResource {
  /**
   * Calls one tool of the session, with the auth config of the tool's provider.
   *
   * A tool that fails (reports an error, times out, needs the user to re-authorize, ...) still resolves:
   * with a `ToolCall` whose `status` is `failed`, `isError` is `true` and `error` says why. Only a wrong
   * request rejects (unknown or closed session, bad body), or a transport failure.
   *
   * Never retried automatically, whatever `maxRetries` or headers say: a tool may not be idempotent,
   * and the server may have run it before an answer was lost. Without `options.timeout`, the call waits
   * the client's `timeout` plus {@link TOOL_CALL_TIMEOUT_GRACE_MS}, so that the server's own tool timeout
   * answers first. Aborting through `options.signal` cancels the call on the server too.
   *
   * @param sessionId - the session (`ses_…`)
   * @param params - the tool's `name` and its `arguments`
   * @param options - per-call options
   *
   * @example
   * ```ts
   * const toolCall = await gatehouse.sessions.toolCalls.create(session.id, {
   *   name: 'github__create_issue',
   *   arguments: { owner: 'acme', repo: 'app', title: 'Crash on start' },
   * });
   * if (toolCall.isError) console.error(toolCall.error?.code, toolCall.content);
   * ```
   */
  create(sessionId: string, params: ToolCallCreateParams, options?: RequestOptions): Promise<ToolCall> {
    const timeout = options?.timeout ?? this._client.timeout + TOOL_CALL_TIMEOUT_GRACE_MS;
    return this._client.request({ method: 'POST', path: basePath(sessionId), body: params, options: { ...options, timeout }, retryable: false });
  }

  /**
   * Lists the session's tool calls, newest first (their content is bounded by the server).
   *
   * @param sessionId - the session (`ses_…`)
   * @param params - `limit`, `cursor`
   * @param options - per-call options
   *
   * @example
   * ```ts
   * for await (const toolCall of gatehouse.sessions.toolCalls.list(session.id)) {
   *   console.log(toolCall.toolName, toolCall.status, toolCall.durationMs);
   * }
   * ```
   */
  list(sessionId: string, params: ToolCallListParams = {}, options?: RequestOptions): PagePromise<ToolCall> {
    return this._client.requestList(basePath(sessionId), params, options);
  }
}
