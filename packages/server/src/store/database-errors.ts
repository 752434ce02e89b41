/**
 * Telling "the database is not there right now" apart from every other failure, so that an outage
 * (a restart, a failover, a network partition) answers 503 with `Retry-After` and a message that says
 * what is happening, instead of a generic 500.
 *
 * @module
 */

/** Socket errors of a connection that could not be made or was lost. */
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs of the same: class 08 (connection exception) and the 57P0x shutdown codes
 * (admin shutdown, crash shutdown, cannot connect now: a server starting or stopping).
 */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[1-3])$/;

/** node-postgres's own words for a connection that ended or never came. */
const CONNECTION_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Connection ended/i;

/**
 * Whether `error` (or what it wraps: drizzle puts the driver's error in `cause`) says the database
 * cannot be reached, as opposed to a query that the database refused.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.test(code))) return true;
    if (CONNECTION_MESSAGES.test(current.message)) return true;
  }
  return false;
}

/** Seconds a client is asked to wait before trying again during an outage. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
