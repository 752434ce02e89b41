import { and, asc, eq, gt, isNotNull, isNull, lte, ne, or } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { authConfigs } from '../store/schema.js';
import { NO_REFRESH_TOKEN, refreshAuthConfig } from './refresh.js';

/** How far ahead the sweep looks at least; each row's own refresh window decides whether it is refreshed. */
const LOOKAHEAD_MS = 15 * 60_000;
/** Extra time on top of the sweep interval: a pass may start late or take a while. */
const MARGIN_MS = 30_000;
const PAGE_SIZE = 50;
/** Refreshes in flight at once per process: the token endpoints, not our database, set the pace. */
const PARALLEL = 4;
/** A pass stops after this many rows; the next pass goes on (rows just tried are backed off). */
const MAX_ROWS_PER_PASS = 2_000;
/** A row whose last refresh failed is not tried by the sweep again before this (or the interval, if longer). */
const FAILURE_BACKOFF_MS = 5 * 60_000;

/** Options of {@link sweepExpiringTokens}. */
export interface SweepOptions {
  /** Time until the next pass: every token that would lapse before it, plus a margin, is refreshed now. */
  intervalMs: number;
}

/**
 * Refreshes access tokens that are about to lapse even when nobody calls a tool, so an idle user's
 * grant stays alive (providers such as Google expire unused refresh tokens, and an expired access
 * token makes the next call slower). Safe in every process at once: refreshes are single-flight.
 *
 * A pass walks every due row (by expiry, in pages), so rows that cannot be refreshed never starve
 * the others: rows without a refresh token are left out (the refresh records `no_refresh_token`),
 * and a row whose refresh failed lately waits out a backoff. The window is at least the interval
 * plus a margin, so a token whose lifetime is at least twice that never lapses between passes
 * (shorter-lived tokens are refreshed at half their lifetime, and on demand).
 */
export async function sweepExpiringTokens(context: ServerContext, options: SweepOptions = { intervalMs: 60_000 }): Promise<number> {
  const now = context.clock.now();
  const minWindowMs = options.intervalMs + MARGIN_MS;
  const horizon = new Date(now.getTime() + Math.max(LOOKAHEAD_MS, minWindowMs));
  const retryBefore = new Date(now.getTime() - Math.max(FAILURE_BACKOFF_MS, options.intervalMs));
  const due = and(
    eq(authConfigs.status, 'active'),
    isNotNull(authConfigs.accessTokenExpiresAt),
    lte(authConfigs.accessTokenExpiresAt, horizon),
    or(isNull(authConfigs.lastErrorCode), and(ne(authConfigs.lastErrorCode, NO_REFRESH_TOKEN), lte(authConfigs.lastErrorAt, retryBefore))),
  );

  const seen = new Set<string>();
  let cursor: { expiresAt: Date; id: string } | undefined;
  let refreshed = 0;
  while (seen.size < MAX_ROWS_PER_PASS) {
    const page = await context.db
      .select({ id: authConfigs.id, projectId: authConfigs.projectId, version: authConfigs.credentialsVersion, expiresAt: authConfigs.accessTokenExpiresAt })
      .from(authConfigs)
      .where(
        and(
          due,
          cursor
            ? or(gt(authConfigs.accessTokenExpiresAt, cursor.expiresAt), and(eq(authConfigs.accessTokenExpiresAt, cursor.expiresAt), gt(authConfigs.id, cursor.id)))
            : undefined,
        ),
      )
      .orderBy(asc(authConfigs.accessTokenExpiresAt), asc(authConfigs.id))
      .limit(PAGE_SIZE);
    if (page.length === 0) break;
    const last = page.at(-1)!;
    cursor = { expiresAt: last.expiresAt!, id: last.id };
    // A row refreshed earlier in this pass may come round again with its new expiry: once is enough.
    const fresh = page.filter((row) => !seen.has(row.id));
    for (const row of fresh) seen.add(row.id);
    refreshed += await inParallel(fresh, PARALLEL, async (row) => {
      try {
        const outcome = await refreshAuthConfig(context, row.projectId, row.id, row.version, false, { minWindowMs });
        return outcome.kind === 'refreshed';
      } catch (error) {
        context.logger.warn({ authConfigId: row.id, err: (error as Error).message }, 'background refresh failed');
        return false;
      }
    });
    if (page.length < PAGE_SIZE) break;
  }
  return refreshed;
}

/** Runs `work` over `items` with at most `limit` at once; returns how many returned true. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<boolean>): Promise<number> {
  let next = 0;
  let count = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      if (await work(item)) count++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return count;
}

/** Runs {@link sweepExpiringTokens} every `intervalMs` (a pass still running makes the next one wait); returns the stop function. */
export function startRefreshSweep(context: ServerContext, intervalMs: number): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepExpiringTokens(context, { intervalMs })
      .catch((error: Error) => context.logger.warn({ err: error.message }, 'refresh sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
