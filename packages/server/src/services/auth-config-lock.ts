import { sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import type { Database } from '../store/database.js';

const inProcessQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `work` while no other caller, in this process or any other, works on the same auth config.
 * PostgreSQL: a transaction-scoped advisory lock, held by `work`'s transaction (so a process killed
 * mid-refresh releases it with its connection). Embedded store: one process only, so a promise
 * queue is enough, and the single PGlite connection is not held through network calls.
 */
export async function withAuthConfigLock<T>(context: ServerContext, authConfigId: string, work: (db: Database) => Promise<T>): Promise<T> {
  if (context.storeKind === 'postgres') {
    return context.db.transaction(async (tx) => {
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
