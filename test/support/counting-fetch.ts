/**
 * A `fetch` for the SDK (`new Gatehouse({ fetch })`) that counts the requests it sends per path, so
 * a test can prove how a result arrived (one held long-poll woken by the callback, not a poll loop)
 * without measuring time.
 */

/** The SDK's fetch, counting requests by URL path. */
export interface CountingFetch {
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  /** Requests sent so far to exactly this path (query ignored), e.g. `/v1/providers/setup-sessions/wait`. */
  count(path: string): number;
}

/** Wraps the global `fetch`; every request is passed through unchanged. */
export function countingFetch(): CountingFetch {
  const counts = new Map<string, number>();
  return {
    fetch(input, init) {
      const path = new URL(input).pathname;
      counts.set(path, (counts.get(path) ?? 0) + 1);
      return fetch(input, init);
    },
    count: (path) => counts.get(path) ?? 0,
  };
}

/** The path `waitForSetupSession` long-polls. */
export const WAIT_PATH = '/v1/providers/setup-sessions/wait';
