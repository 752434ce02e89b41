import type { Gatehouse } from './client.js';
import {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  GatehouseError,
  NotFoundError,
  SetupSessionExpiredError,
  SetupSessionFailedError,
  WaitTimeoutError,
  type SetupSessionError,
} from './core/errors.js';
import { backoffDelay, isRetryableStatus, MAX_RETRY_AFTER_MS, retryAfterMs, sleep } from './core/http.js';
import type { ProviderSetupSession } from './types.js';

/** Options of `gatehouse.waitForSetupSession`. */
export interface WaitForSetupSessionOptions {
  /**
   * Give up after this many milliseconds with `WaitTimeoutError`. Default: no limit, the wait ends when
   * a session completes, or when every session has failed or expired (the server expires them).
   */
  timeoutMs?: number | undefined;
  /** Stops the wait; it then rejects with `APIUserAbortError`. */
  signal?: AbortSignal | null | undefined;
  /** How long the server may hold each long-poll (default 25 000; the server caps it at 30 000). */
  pollTimeoutMs?: number | undefined;
}

/** How long the server may hold one long-poll by default. */
export const DEFAULT_POLL_TIMEOUT_MS = 25_000;
/** Added to the poll time for the HTTP timeout of each long-poll, so a slow answer is not cut off. */
const POLL_REQUEST_GRACE_MS = 10_000;
/** A server that answers "all pending" sooner than this is not asked again sooner than this. */
const MIN_POLL_SPACING_MS = 1_000;
const MAX_TIMER_MS = 2_147_483_647;

function isTransient(error: unknown): boolean {
  if (error instanceof APIConnectionError) return true;
  return error instanceof APIError && typeof error.status === 'number' && isRetryableStatus(error.status);
}

function transientDelay(error: unknown, failures: number): number {
  const requested = error instanceof APIError && error.headers ? retryAfterMs(error.headers) : undefined;
  return requested !== undefined ? Math.min(requested, MAX_RETRY_AFTER_MS) : backoffDelay(failures);
}

/**
 * Which of `ids` the server no longer knows (each with the `NotFoundError` it answered), found by
 * reading them one by one; any other failure of those reads is thrown.
 */
async function missingSessions(client: Gatehouse, ids: readonly string[], signal: AbortSignal): Promise<Array<{ id: string; error: NotFoundError }>> {
  const results = await Promise.all(
    ids.map((id) =>
      client.providers.setupSessions.get(id, { signal }).then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof NotFoundError) return { id, error };
          throw error;
        },
      ),
    ),
  );
  return results.filter((result): result is { id: string; error: NotFoundError } => result !== undefined);
}

/**
 * Waits until one of `setupSessions` is `completed` and resolves with that session (whose `authConfig`
 * is set). See `Gatehouse.waitForSetupSession` for the full behaviour; this is the same function taking
 * the client as its first argument.
 *
 * How it ends. A session ends without completing when it `failed`, `expired`, or no longer exists
 * (unknown or deleted id: the server answers `404`); each kind has its typed error,
 * `SetupSessionFailedError`, `SetupSessionExpiredError`, `NotFoundError`.
 * - One session: resolves when it completes; rejects at once with its typed error when it ends
 *   without completing.
 * - Several sessions: resolves with the first to complete. One that ends without completing is
 *   dropped and the wait goes on for the others; as soon as none of them can still complete, it
 *   rejects with the typed error of the last one to end. The same rule holds for every way of
 *   ending, a `404` included.
 * - `401`, `403`, `400`: rejects at once with that `APIError` (the request itself is wrong);
 * - connection errors, timeouts, `408`, `429` and `5xx`: retried with backoff (honouring `Retry-After`)
 *   until the wait ends; they are not counted against `maxRetries`;
 * - `timeoutMs` passed: `WaitTimeoutError`; `signal` aborted: `APIUserAbortError`.
 *
 * @param client - the Gatehouse client
 * @param setupSessions - setup sessions or their ids
 * @param options - see {@link WaitForSetupSessionOptions}
 *
 * @example
 * ```ts
 * import { Gatehouse, waitForSetupSession } from '@gatehouse/sdk';
 *
 * const gatehouse = new Gatehouse();
 * const completed = await waitForSetupSession(gatehouse, ['pas_...'], { timeoutMs: 5 * 60_000 });
 * console.log(completed.authConfig?.id);
 * ```
 */
export async function waitForSetupSession(
  client: Gatehouse,
  setupSessions: ReadonlyArray<ProviderSetupSession | string>,
  options: WaitForSetupSessionOptions = {},
): Promise<ProviderSetupSession> {
  if (!Array.isArray(setupSessions)) {
    throw new GatehouseError('waitForSetupSession expects an array of setup sessions or setup session ids.');
  }
  const ids = [...new Set(setupSessions.map((setupSession) => (typeof setupSession === 'string' ? setupSession : setupSession?.id)))];
  if (ids.length === 0 || ids.some((id) => typeof id !== 'string' || id.length === 0)) {
    throw new GatehouseError('waitForSetupSession needs at least one setup session (or a non-empty setup session id).');
  }
  const pollTimeoutMs = options.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;
  if (!(pollTimeoutMs > 0)) throw new GatehouseError(`\`pollTimeoutMs\` must be positive, got ${String(pollTimeoutMs)}.`);
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
    throw new GatehouseError(`\`timeoutMs\` must be a non-negative number, got ${String(timeoutMs)}.`);
  }

  const pending = ids as string[];
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  // One signal ends everything in flight: the caller's abort or the overall timeout.
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) controller.abort();
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => {
            timedOut = true;
            controller.abort();
          },
          Math.min(timeoutMs, MAX_TIMER_MS),
        );
  const stopped = (): GatehouseError =>
    timedOut ? new WaitTimeoutError([...pending], timeoutMs ?? 0) : new APIUserAbortError({ message: 'The wait was aborted.' });
  const pause = (ms: number): Promise<void> =>
    sleep(ms, controller.signal).catch(() => {
      throw stopped();
    });

  try {
    let lastEnded: SetupSessionError | NotFoundError | undefined;
    let transientFailures = 0;
    while (pending.length > 0) {
      if (controller.signal.aborted) throw stopped();
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        timedOut = true;
        throw stopped();
      }
      const pollTimeout = Math.ceil(Math.min(pollTimeoutMs, remaining));
      const startedAt = Date.now();

      let sessions: ProviderSetupSession[];
      try {
        const answer = await client.providers.setupSessions.wait(
          { ids: [...pending], timeoutMs: pollTimeout },
          { signal: controller.signal, timeout: pollTimeout + POLL_REQUEST_GRACE_MS, maxRetries: 0 },
        );
        sessions = Array.isArray(answer?.data) ? answer.data : [];
      } catch (error) {
        if (controller.signal.aborted) throw stopped();
        if (error instanceof NotFoundError) {
          // The server refuses the whole wait when any id is gone; with one id that is the answer,
          // with several, find which ones are gone, drop them like any other ended session, and
          // wait on for the rest.
          if (pending.length === 1) throw error;
          const gone = await missingSessions(client, pending, controller.signal).catch((lookupError: unknown) => {
            if (controller.signal.aborted) throw stopped();
            throw lookupError;
          });
          if (gone.length === 0) throw error;
          for (const { id, error: notFound } of gone) {
            pending.splice(pending.indexOf(id), 1);
            lastEnded = notFound;
          }
          continue;
        }
        if (!isTransient(error)) throw error;
        await pause(transientDelay(error, transientFailures));
        transientFailures += 1;
        continue;
      }
      transientFailures = 0;

      const watched = sessions.filter((setupSession) => pending.includes(setupSession.id));
      const completed = watched.find((setupSession) => setupSession.status === 'completed');
      if (completed) return completed;

      let ended = false;
      for (const setupSession of watched) {
        if (setupSession.status !== 'failed' && setupSession.status !== 'expired') continue;
        pending.splice(pending.indexOf(setupSession.id), 1);
        lastEnded =
          setupSession.status === 'failed'
            ? new SetupSessionFailedError(setupSession)
            : new SetupSessionExpiredError(setupSession);
        ended = true;
      }

      // The server holds each poll until something changes or the poll time passes; one that answers
      // "all pending" at once (a proxy, a bug) must not turn this loop into a busy loop.
      const elapsed = Date.now() - startedAt;
      const spacing = Math.min(pollTimeout, MIN_POLL_SPACING_MS);
      if (!ended && elapsed < spacing) await pause(spacing - elapsed);
    }
    // pending started non-empty, so it only empties by sessions ending, which sets lastEnded.
    throw lastEnded as SetupSessionError | NotFoundError;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
