import { and, asc, eq, isNotNull, lte } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { authConfigs } from '../store/schema.js';
import { refreshAuthConfig } from './refresh.js';

/** How far ahead the sweep looks; each row's own refresh window decides whether it is refreshed. */
const LOOKAHEAD_MS = 15 * 60_000;
const BATCH = 50;

/**
 * Refreshes access tokens that are about to lapse even when nobody calls a tool, so an idle user's
 * grant stays alive (providers such as Google expire unused refresh tokens, and an expired access
 * token makes the next call slower). Safe in every process at once: refreshes are single-flight.
 */
export async function sweepExpiringTokens(context: ServerContext): Promise<number> {
  const horizon = new Date(context.clock.now().getTime() + LOOKAHEAD_MS);
  const due = await context.db
    .select({ id: authConfigs.id, projectId: authConfigs.projectId, version: authConfigs.credentialsVersion })
    .from(authConfigs)
    .where(and(eq(authConfigs.status, 'active'), isNotNull(authConfigs.accessTokenExpiresAt), lte(authConfigs.accessTokenExpiresAt, horizon)))
    .orderBy(asc(authConfigs.accessTokenExpiresAt))
    .limit(BATCH);
  let refreshed = 0;
  for (const row of due) {
    try {
      const outcome = await refreshAuthConfig(context, row.projectId, row.id, row.version, false);
      if (outcome.kind === 'refreshed') refreshed++;
    } catch (error) {
      context.logger.warn({ authConfigId: row.id, err: (error as Error).message }, 'background refresh failed');
    }
  }
  return refreshed;
}

/** Runs {@link sweepExpiringTokens} every `intervalMs`; returns the stop function. */
export function startRefreshSweep(context: ServerContext, intervalMs: number): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepExpiringTokens(context)
      .catch((error: Error) => context.logger.warn({ err: error.message }, 'refresh sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
