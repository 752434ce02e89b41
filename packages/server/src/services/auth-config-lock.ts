import { sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import type { Database } from '../store/database.js';

const inProcessQueues = new Map<string, Promise<unknown>>();

/**
 * The longest `work` may leave its PostgreSQL transaction idle (waiting on the network), and the
 * longest a caller waits for the lock. The refresh keeps its network time under its budget
 * (`refreshBudgetMs` in oauth/refresh.ts: token request timeout x 3 attempts, 45 s by default);
 * revocation on delete under two 10 s requests. The margin covers the database round trips around them.
 */
export function authConfigLockTimeoutMs(context: Pick<ServerContext, 'tokenRequestTimeoutMs'>): number {
  return Math.max(60_000, context.tokenRequestTimeoutMs * 3 + 15_000);
}

/**
 * Runs `work` while no other caller, in this process or any other, works on the same auth config.
 *
 * PostgreSQL: a transaction-scoped advisory lock, held by `work`'s transaction, so a process killed
 * mid-refresh releases it with its connection. `work` holds one pooled connection and an open
 * transaction across its network calls, so both are bounded by {@link authConfigLockTimeoutMs}:
 * `lock_timeout` ends a wait for a holder that is stuck, and `idle_in_transaction_session_timeout`
 * makes PostgreSQL end the session (releasing the lock) of a process that stalls without dying.
 * Both are `SET LOCAL`: they end with the transaction and never leak to the pooled connection.
 *
 * Embedded store: one process only, so a promise queue is enough, and the single PGlite connection
 * is not held through network calls.
 */
export async function withAuthConfigLock<T>(context: ServerContext, authConfigId: string, work: (db: Database) => Promise<T>): Promise<T> {
  if (context.storeKind === 'postgres') {
    return context.db.transaction(async (tx) => {
      // SET takes no bind parameters; the value is an integer computed from validated configuration.
      const timeoutMs = Math.round(authConfigLockTimeoutMs(context));
      await tx.execute(sql.raw(`SET LOCAL lock_timeout = ${timeoutMs}`));
      await tx.execute(sql.raw(`SET LOCAL idle_in_transaction_session_timeout = ${timeoutMs}`));
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`auth_config:${authConfigId}`}, 0))`);
      return work(tx as unknown as Database);
    });
  }
  const previous = inProcessQueues.get(authConfigId) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => work(context.db));
  const tail = run.catch(() => {});
  inProcessQueues.set(authConfigId, tail);
  void tail.then(() => {
    if (inProcessQueues.get(authConfigId) === tail) inProcessQueues.delete(authConfigId);
  });
  return run;
}
