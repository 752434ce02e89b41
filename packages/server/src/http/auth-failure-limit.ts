import { createMiddleware } from 'hono/factory';
import type { ServerContext } from '../context.js';
import { clientAddress } from '../security/client-address.js';
import { countEvent, peekCount, rateLimited } from '../security/rate-limit.js';
import type { AppEnv } from './env.js';

/**
 * Limits credential guessing (API keys on `/v1`, session secrets and API keys on `/mcp`): every 401
 * counts against the client address in a one-minute window shared by all processes; once a client
 * has `GATEHOUSE_RATE_LIMIT_AUTH_FAILURES` failures in the window, every request of that client
 * answers 429 with `Retry-After` until the window ends, even one with a valid key. Refusing the valid
 * key too is deliberate: otherwise the 401/429 difference would tell a guesser which guess was right.
 */
export function authFailureLimit(context: ServerContext) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const limit = context.security.rateLimits.authFailuresPerMinute;
    if (limit <= 0) return next();
    const client = clientAddress(c, context.security.trustProxy);
    const key = `auth_failures:${client}`;
    const current = await peekCount(context, key, limit);
    if (current.count >= limit) {
      throw rateLimited(current, `Too many requests with an invalid API key from this client.`);
    }
    await next();
    if (c.res.status === 401) {
      const after = await countEvent(context, key, limit);
      if (after.count === limit) context.logger.warn({ client, failures: after.count }, 'too many invalid credentials: client refused until the window ends');
    }
  });
}
