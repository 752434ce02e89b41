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
  const count = await addToCounter(context, key, window.start, 1);
  return { count, limit, retryAfterSeconds: window.retryAfterSeconds };
}

/** Adds `amount` to the counter of `key` in the window starting at `windowStart`; returns the new count. */
async function addToCounter(context: CounterContext, key: string, windowStart: Date, amount: number): Promise<number> {
  const [row] = await context.db
    .insert(rateLimitCounters)
    .values({ key, windowStart, count: amount })
    .onConflictDoUpdate({
      target: [rateLimitCounters.key, rateLimitCounters.windowStart],
      set: { count: sql`${rateLimitCounters.count} + ${amount}` },
    })
    .returning({ count: rateLimitCounters.count });
  pruneNowAndThen(context);
  return row?.count ?? amount;
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
 * Events of one project limit that this process has reserved in the shared counter but not used yet.
 * Counting each tool call with its own database write would cost a round trip on the hottest path,
 * so a process reserves a slice of the window's budget at once ({@link leaseSize}) and spends it in
 * memory. The shared counter therefore still bounds the total across processes exactly: what one
 * process has leased, no other can use. The price is that a process may end a window with a few
 * unspent events (at most one lease), so a project can be refused up to `processes × lease` events
 * early; with the default limits that is 2 % per process. Small limits lease one event at a time,
 * which is exact.
 */
interface Lease {
  windowStart: number;
  remaining: number;
  /** Whether the shared counter had no budget left at the last reservation. */
  exhausted: boolean;
  /** A reservation in flight, which concurrent callers wait for instead of reserving again. */
  reserving: Promise<void> | undefined;
}

const leases = new WeakMap<Database, Map<string, Lease>>();

/** How many events one reservation takes: about 2 % of the limit, at most 100, at least 1. */
export function leaseSize(limit: number): number {
  return Math.max(1, Math.min(100, Math.floor(limit / 50)));
}

/**
 * Counts one `kind` event of the project and throws a 429 (with `Retry-After`) once the project is
 * over its per-minute limit, counted across every process. A limit of 0 turns the check off.
 */
export async function enforceProjectRateLimit(
  context: Pick<ServerContext, 'db' | 'clock' | 'logger' | 'security'>,
  projectId: string,
  kind: keyof typeof PROJECT_LIMITS,
): Promise<void> {
  const { setting, what, variable } = PROJECT_LIMITS[kind];
  const limit = context.security.rateLimits[setting];
  if (limit <= 0) return;
  const key = `project:${projectId}:${kind}`;
  let byKey = leases.get(context.db);
  if (!byKey) leases.set(context.db, (byKey = new Map()));

  for (;;) {
    const window = windowOf(context);
    let lease = byKey.get(key);
    if (!lease || lease.windowStart !== window.start.getTime()) {
      lease = { windowStart: window.start.getTime(), remaining: 0, exhausted: false, reserving: undefined };
      byKey.set(key, lease);
    }
    if (lease.remaining > 0) {
      lease.remaining--;
      return;
    }
    if (lease.exhausted) {
      throw rateLimited(
        { count: limit + 1, limit, retryAfterSeconds: window.retryAfterSeconds },
        `This project made more than ${limit} ${what} in the last minute (${variable}).`,
      );
    }
    if (!lease.reserving) {
      const current = lease;
      current.reserving = reserve(context, key, window.start, limit)
        .then((granted) => {
          current.remaining += granted;
          if (granted === 0) {
            current.exhausted = true;
            context.logger.warn({ projectId, kind, limit }, 'project rate limit reached');
          }
        })
        .finally(() => (current.reserving = undefined));
    }
    await lease.reserving;
  }
}

/** Takes up to one lease of budget from the shared counter; returns how many events were granted. */
async function reserve(context: CounterContext, key: string, windowStart: Date, limit: number): Promise<number> {
  const size = leaseSize(limit);
  const count = await addToCounter(context, key, windowStart, size);
  // The counter may pass the limit by at most one lease; only what is under the limit is granted.
  return Math.max(0, Math.min(size, limit - (count - size)));
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
