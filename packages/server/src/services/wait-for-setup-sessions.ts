import type { ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import { MAYBE_MISSED } from '../store/notifier.js';
import { loadViews, type SetupSessionView } from './setup-sessions.js';

/** Longest a wait request is held open; the SDK asks again after it. */
export const MAX_WAIT_MS = 30_000;

/**
 * Holds until one of `ids` is no longer pending, `timeoutMs` passes, or `signal` aborts, then returns
 * the sessions' current state. Woken by the change notification of whichever process completed the
 * session (no polling); a timer also fires at the earliest expiry so an expired session ends the wait.
 */
export async function waitForSetupSessions(
  context: ServerContext,
  projectId: string,
  ids: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<SetupSessionView[]> {
  const wanted = new Set(ids);
  let wake: (() => void) | undefined;
  let changedSinceLoad = false;
  // Subscribe before the first read, so a change between the read and the wait is not lost.
  const unsubscribe = context.notifier.subscribe('setup_session_changed', (id) => {
    if (!wanted.has(id) && id !== MAYBE_MISSED) return;
    changedSinceLoad = true;
    wake?.();
  });
  const deadline = Date.now() + Math.min(timeoutMs, MAX_WAIT_MS);
  try {
    for (;;) {
      changedSinceLoad = false;
      const views = await loadViews(context, projectId, ids);
      const missing = ids.find((id) => !views.some((view) => view.session.id === id));
      if (missing) throw notFound('provider setup session', missing);
      const remaining = deadline - Date.now();
      if (views.some((view) => view.session.status !== 'pending') || remaining <= 0 || signal?.aborted) return views;
      if (changedSinceLoad) continue;
      const untilExpiry = Math.min(...views.map((view) => view.session.expiresAt.getTime())) - context.clock.now().getTime();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, Math.min(remaining, untilExpiry + 5)));
        signal?.addEventListener('abort', done, { once: true });
        wake = done;
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
      });
    }
  } finally {
    unsubscribe();
  }
}
