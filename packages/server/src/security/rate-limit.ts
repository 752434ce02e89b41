/**
 * Fixed-window rate limits kept in the `rate_limit_counters` table, so every process of a deployment
 * on one PostgreSQL counts together: one `INSERT … ON CONFLICT DO UPDATE SET count = count + 1
 * RETURNING count` per counted event, keyed by what is limited and the start of the minute.
 *
 * @module
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { GatehouseError } from '../errors.js';
import type { Database } from '../store/database.js';
import { rateLimitCounters } from '../store/schema.js';

/** Every limit counts per minute. */
export const RATE_LIMIT_WINDOW_MS = 60_000;
/** Counters of windows older than this are deleted (now and then, by whichever process counts). */
const KEEP_WINDOWS_MS = 10 * RATE_LIMIT_WINDOW_MS;
const PRUNE_EVERY_MS = 5 * RATE_LIMIT_WINDOW_MS;
const lastPruned = new WeakMap<Database, number>();

/** Where a counter stands in the current window. */
export interface RateLimitState {
  count: number;
  limit: number;
  /** Whole seconds until the window ends (at least 1): the `Retry-After` of a refusal. */
  retryAfterSeconds: number;
}

type CounterContext = Pick<ServerContext, 'db' | 'clock' | 'logger'>;

function windowOf(context: CounterContext): { start: Date; retryAfterSeconds: number } {
  const now = context.clock.now().getTime();
  const start = Math.floor(now / RATE_LIMIT_WINDOW_MS) * RATE_LIMIT_WINDOW_MS;
  return { start: new Date(start), retryAfterSeconds: Math.max(1, Math.ceil((start + RATE_LIMIT_WINDOW_MS - now) / 1000)) };
}

/** Counts one event for `key` in the current window and returns the new count. */
export async function countEvent(context: CounterContext, key: string, limit: number): Promise<RateLimitState> {
  const window = windowOf(context);
  const [row] = await context.db
    .insert(rateLimitCounters)
    .values({ key, windowStart: window.start, count: 1 })
    .onConflictDoUpdate({
      target: [rateLimitCounters.key, rateLimitCounters.windowStart],
      set: { count: sql`${rateLimitCounters.count} + 1` },
    })
    .returning({ count: rateLimitCounters.count });
  pruneNowAndThen(context);
  return { count: row?.count ?? 1, limit, retryAfterSeconds: window.retryAfterSeconds };
}

/** The count of `key` in the current window, without counting. */
export async function peekCount(context: CounterContext, key: string, limit: number): Promise<RateLimitState> {
  const window = windowOf(context);
  const [row] = await context.db
    .select({ count: rateLimitCounters.count })
    .from(rateLimitCounters)
    .where(and(eq(rateLimitCounters.key, key), eq(rateLimitCounters.windowStart, window.start)))
    .limit(1);
  return { count: row?.count ?? 0, limit, retryAfterSeconds: window.retryAfterSeconds };
}

/** The 429 of a limit, with `Retry-After`. */
export function rateLimited(state: RateLimitState, message: string): GatehouseError {
  return new GatehouseError('rate_limited', `${message} Retry after ${state.retryAfterSeconds} s.`, undefined, {
    'retry-after': String(state.retryAfterSeconds),
  });
}

/** What a project is limited in, with the configuration field that sets it. */
const PROJECT_LIMITS = {
  setup_sessions: { setting: 'setupSessionsPerMinute', what: 'setup sessions', variable: 'GATEHOUSE_RATE_LIMIT_SETUP_SESSIONS' },
  tool_calls: { setting: 'toolCallsPerMinute', what: 'tool calls', variable: 'GATEHOUSE_RATE_LIMIT_TOOL_CALLS' },
} as const;

/**
 * Counts one `kind` event of the project and throws a 429 (with `Retry-After`) once the project is
 * over its per-minute limit. A limit of 0 turns the check (and the counting) off.
 */
export async function enforceProjectRateLimit(
  context: Pick<ServerContext, 'db' | 'clock' | 'logger' | 'security'>,
  projectId: string,
  kind: keyof typeof PROJECT_LIMITS,
): Promise<void> {
  const { setting, what, variable } = PROJECT_LIMITS[kind];
  const limit = context.security.rateLimits[setting];
  if (limit <= 0) return;
  const state = await countEvent(context, `project:${projectId}:${kind}`, limit);
  if (state.count > limit) {
    if (state.count === limit + 1) context.logger.warn({ projectId, kind, limit }, 'project rate limit reached');
    throw rateLimited(state, `This project made more than ${limit} ${what} in the last minute (${variable}).`);
  }
}

function pruneNowAndThen(context: CounterContext): void {
  const now = context.clock.now().getTime();
  if (now - (lastPruned.get(context.db) ?? 0) < PRUNE_EVERY_MS) return;
  lastPruned.set(context.db, now);
  void context.db
    .delete(rateLimitCounters)
    .where(lt(rateLimitCounters.windowStart, new Date(now - KEEP_WINDOWS_MS)))
    .catch((error: Error) => context.logger.debug({ err: error.message }, 'rate limit counter cleanup failed'));
}
