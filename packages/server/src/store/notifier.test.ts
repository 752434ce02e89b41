import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL } from '../../../../test/support/gatehouse.js';
import { MAYBE_MISSED, PostgresNotifier } from './notifier.js';

const nextPayload = (notifier: PostgresNotifier, predicate: (payload: string) => boolean) =>
  new Promise<string>((resolve) => {
    const unsubscribe = notifier.subscribe('setup_session_changed', (payload) => {
      if (!predicate(payload)) return;
      unsubscribe();
      resolve(payload);
    });
  });

describe.skipIf(!TEST_DATABASE_URL)('PostgresNotifier', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let notifier: PostgresNotifier;
  let other: PostgresNotifier;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    notifier = new PostgresNotifier(database.url, pool, pino({ level: 'silent' }));
    other = new PostgresNotifier(database.url, pool, pino({ level: 'silent' }));
    await Promise.all([notifier.start(), other.start()]);
  });

  afterAll(async () => {
    await notifier?.close();
    await other?.close();
    await pool?.end();
    await database?.drop();
  });

  it('delivers a change to another process, and to its own subscribers without the round trip', async () => {
    const seenByOther = nextPayload(other, (payload) => payload === 'pas_1');
    const seenHere = nextPayload(notifier, (payload) => payload === 'pas_1');
    await notifier.publish('setup_session_changed', 'pas_1');
    expect(await seenHere).toBe('pas_1');
    expect(await seenByOther).toBe('pas_1');

    // Without any LISTEN connection (never started, as while it is down), its own subscribers still hear it.
    const deaf = new PostgresNotifier(database.url, pool, pino({ level: 'silent' }));
    const seenByDeaf = nextPayload(deaf, (payload) => payload === 'pas_3');
    await deaf.publish('setup_session_changed', 'pas_3');
    expect(await seenByDeaf).toBe('pas_3');
    await deaf.close();
  });

  it('tells its subscribers they may have missed changes once a lost LISTEN connection is back', async () => {
    const maybeMissed = nextPayload(other, (payload) => payload === MAYBE_MISSED);
    // What a database restart does to the listening connection: PostgreSQL ends it.
    await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    );
    expect(await maybeMissed).toBe(MAYBE_MISSED);
    // And it listens again: a later change from elsewhere arrives.
    const later = nextPayload(other, (payload) => payload === 'pas_2');
    await notifier.publish('setup_session_changed', 'pas_2');
    expect(await later).toBe('pas_2');
  });
});
