import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ServerContext } from '../context.js';
import { clientAddress } from '../security/client-address.js';
import { countEvent, RATE_LIMIT_WINDOW_MS, rateLimited, type RateLimitState } from '../security/rate-limit.js';
import { rateLimitCounters } from '../store/schema.js';
import type { AppEnv } from './env.js';

/** How long a credential that worked for a client lets that client skip the counter. */
const VERIFIED_TTL_MS = 30_000;
/** Bounds the in-memory maps; when full they are emptied (costing a counter round trip, never the bound). */
const MAX_REMEMBERED = 10_000;

const REFUSAL = 'Too many requests with an invalid API key from this client.';

/** One credential of one client being checked right now, shared by its concurrent requests. */
interface Attempt {
  /** The slot taken in the shared counter, and the window it was taken in (undefined: unknown). */
  reservation: Promise<{ state: RateLimitState; windowStart: number | undefined }>;
  requests: number;
  /** A request of this attempt was answered 401: the slot stays taken, it is the failure. */
  failed: boolean;
}

/**
 * Limits credential guessing (API keys on `/v1`, session secrets and API keys on `/mcp`) per client
 * address, in a one-minute window shared by all processes: once a client has
 * `GATEHOUSE_RATE_LIMIT_AUTH_FAILURES` failures in the window, every request of that client answers
 * 429 with `Retry-After` until the window ends, even one with a valid key. Refusing the valid key too
 * is deliberate: otherwise the 401/429 difference would tell a guesser which guess was right.
 *
 * How the bound holds under concurrency (many processes, many requests in flight): a credential is
 * counted *before* it is checked. A request whose credential this client has not already used
 * successfully takes a slot in the shared counter (one atomic increment); if that makes the count
 * exceed the limit, it answers 429 without its credential ever being looked at. Otherwise it runs; a
 * 401 keeps the slot (that is the failure), any other answer gives it back. So at most `limit`
 * credentials per client and window are ever checked and answered, however many arrive at once on
 * however many processes: a right guess beyond the limit is as invisible as a wrong one. Concurrent
 * requests of one client with the same credential (an agent's parallel calls) share one slot, so a
 * burst with a valid key is not refused because its own requests are in flight.
 *
 * The hot path stays off the database: a client that used a credential successfully in the last
 * 30 s (remembered here by hash, with the client address) skips the counter, unless this process
 * knows the client is over the limit. Serving that client cannot reveal a right guess, because it
 * already knew the credential; on PostgreSQL a client that another process has just blocked may
 * therefore go on using a credential it had been using, until it is forgotten here. Such a request
 * that turns out 401 (a session secret of a closed session) is counted afterwards.
 */
export function authFailureLimit(context: ServerContext) {
  const verified = new Map<string, number>();
  const blockedUntil = new Map<string, number>();
  const attempts = new Map<string, Attempt>();

  const block = (client: string, state: RateLimitState) => {
    if (blockedUntil.size >= MAX_REMEMBERED) blockedUntil.clear();
    blockedUntil.set(client, context.clock.now().getTime() + state.retryAfterSeconds * 1000);
  };
  const isBlocked = (client: string, now: number) => (blockedUntil.get(client) ?? 0) > now;
  const remember = (pair: string) => {
    if (verified.size >= MAX_REMEMBERED) verified.clear();
    verified.set(pair, context.clock.now().getTime() + VERIFIED_TTL_MS);
  };
  const noteFailure = (client: string, state: RateLimitState) => {
    if (state.count >= state.limit) block(client, state);
    if (state.count === state.limit) {
      context.logger.warn({ client, failures: state.count }, 'too many invalid credentials: client refused until the window ends');
    }
  };

  return createMiddleware<AppEnv>(async (c, next) => {
    const limit = context.security.rateLimits.authFailuresPerMinute;
    if (limit <= 0) return next();
    const client = clientAddress(c, context.security.trustProxy);
    const counterKey = `auth_failures:${client}`;
    const pair = `${client} ${credentialHash(c)}`;

    if ((verified.get(pair) ?? 0) > context.clock.now().getTime() && !isBlocked(client, context.clock.now().getTime())) {
      await next();
      if (c.res.status === 401) {
        verified.delete(pair);
        noteFailure(client, await countEvent(context, counterKey, limit));
      }
      return;
    }

    let attempt = attempts.get(pair);
    if (!attempt) {
      attempt = { reservation: reserve(context, counterKey, limit), requests: 0, failed: false };
      attempts.set(pair, attempt);
    }
    attempt.requests++;
    try {
      const { state } = await attempt.reservation;
      if (state.count > limit) {
        block(client, state);
        throw rateLimited(state, REFUSAL);
      }
      await next();
      if (c.res.status === 401) {
        attempt.failed = true;
        noteFailure(client, state);
      } else if (credentialVerified(c)) {
        remember(pair);
      }
    } finally {
      if (--attempt.requests === 0) {
        attempts.delete(pair);
        if (!attempt.failed) await giveBack(context, counterKey, attempt);
      }
    }
  });
}

/**
 * What identifies "the same credential" for a client: the `Authorization` header, hashed (never kept
 * in plaintext). Outside `/v1` (the session MCP endpoint) the path counts too, since whether a
 * session secret is right depends on the session it names.
 */
function credentialHash(c: Context<AppEnv>): string {
  const header = c.req.header('authorization') ?? '';
  const scope = c.req.path.startsWith('/v1/') ? '' : c.req.path;
  return createHash('sha256').update(`${scope}\n${header}`).digest('base64url');
}

/**
 * Whether the answer shows the credential was accepted: the API-key middleware resolved a project,
 * or the request succeeded. A 413 or a 404 for an unknown route says nothing about the credential,
 * and must not let it skip the counter next time.
 */
function credentialVerified(c: Context<AppEnv>): boolean {
  return c.get('projectId') !== undefined || (c.res.status >= 200 && c.res.status < 300);
}

function windowStartOf(ms: number): number {
  return Math.floor(ms / RATE_LIMIT_WINDOW_MS) * RATE_LIMIT_WINDOW_MS;
}

/** Takes a slot; remembers the window it went to, unless a window boundary passed meanwhile. */
async function reserve(context: ServerContext, key: string, limit: number) {
  const before = windowStartOf(context.clock.now().getTime());
  const state = await countEvent(context, key, limit);
  const after = windowStartOf(context.clock.now().getTime());
  return { state, windowStart: before === after ? before : undefined };
}

/**
 * Gives a slot back (one decrement of the window it was taken in). A failure here only leaves the
 * client one slot short until the window ends, so it is logged, not turned into an error for a
 * request that has been served.
 */
async function giveBack(context: ServerContext, key: string, attempt: Attempt): Promise<void> {
  try {
    const { windowStart } = await attempt.reservation;
    if (windowStart === undefined) return;
    await context.db
      .update(rateLimitCounters)
      .set({ count: sql`greatest(${rateLimitCounters.count} - 1, 0)` })
      .where(and(eq(rateLimitCounters.key, key), eq(rateLimitCounters.windowStart, new Date(windowStart))));
  } catch (error) {
    context.logger.debug({ err: (error as Error).message }, 'could not give back an auth-failure counter slot');
  }
}
