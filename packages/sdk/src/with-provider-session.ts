import type { ProviderSession, ProviderSessionAdapter } from './adapter.js';
import type { Gatehouse } from './client.js';
import { ConflictError } from './core/errors.js';
import type { RequestOptions } from './core/http.js';
import type { SessionCreateParams } from './resources/sessions/sessions.js';

/**
 * Opens a session, hands it to `adapter`, runs `callback` with the adapter's session, and closes the
 * session when the callback settles. See `Gatehouse.withProviderSession`; this is the same function
 * taking the client as its first argument.
 *
 * - Creates the session (`init` is the body of `sessions.create`) and lists its tools; if either fails,
 *   it rejects with that error (closing the session if it was created) and `callback` is not called.
 * - Resolves with what `callback` returns (awaited).
 * - Always closes the session afterwards, also when `callback` (or the adapter) throws. If both the
 *   callback and the close fail, the callback's error is the one thrown, unchanged. If only the close
 *   fails, its error is thrown (the session may still be open). A `409` on close (the session was already
 *   closed, e.g. by the callback) counts as closed. Nothing is logged.
 * - `options` apply to the create and list calls, and to the close without their `signal`, so that an
 *   aborted run still closes its session.
 *
 * @param client - the Gatehouse client
 * @param adapter - a model-vendor adapter, e.g. `gatehouseAnthropic`
 * @param init - the providers (and metadata) of the session
 * @param callback - the agent loop; receives the adapter's session
 * @param options - per-call options for the session's own requests
 *
 * @example
 * ```ts
 * import { Gatehouse, withProviderSession } from '@gatehouse/sdk';
 * import { gatehouseAnthropic } from '@gatehouse/anthropic';
 *
 * const gatehouse = new Gatehouse();
 * const toolCount = await withProviderSession(gatehouse, gatehouseAnthropic, {
 *   providers: [{ providerDeploymentId: 'pde_exa' }],
 * }, async (session) => session.tools.length);
 * ```
 */
export async function withProviderSession<TSession, TResult>(
  client: Gatehouse,
  adapter: ProviderSessionAdapter<TSession>,
  init: SessionCreateParams,
  callback: (session: TSession) => TResult | PromiseLike<TResult>,
  options?: RequestOptions,
): Promise<TResult> {
  const session = await client.sessions.create(init, options);
  // The close runs without the caller's signal, so that an aborted run still closes its session.
  const close = (): Promise<unknown> => client.sessions.close(session.id, { ...options, signal: undefined });

  let result: TResult;
  try {
    const { tools, unavailable } = await client.sessions.tools.list(session.id, options);
    const providerSession: ProviderSession = {
      id: session.id,
      session,
      tools,
      unavailable,
      mcpUrl: session.mcp?.url ?? '',
      callTool: (name, args, callOptions) =>
        client.sessions.toolCalls.create(session.id, { name, arguments: args ?? {} }, callOptions),
    };
    const adapterSession = await adapter.createSession(providerSession);
    result = await callback(adapterSession);
  } catch (error) {
    // The callback's error says what went wrong; a close failure on top of it must not replace it.
    await close().catch(() => undefined);
    throw error;
  }
  try {
    await close();
  } catch (closeError) {
    // 409: the session is no longer active (the callback closed it already), which is what was wanted.
    if (!(closeError instanceof ConflictError)) throw closeError;
  }
  return result;
}
