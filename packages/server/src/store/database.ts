import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migratePostgres } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { InProcessNotifier, PostgresNotifier, type Notifier } from './notifier.js';
import * as schema from './schema.js';

/** A drizzle database over either driver; both speak the same PostgreSQL dialect. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The storage the server runs on: database, change notifications, and how to close them. */
export interface Store {
  kind: 'embedded' | 'postgres';
  db: Database;
  notifier: Notifier;
  close(): Promise<void>;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));
// Any constant works; every Gatehouse process uses the same one to serialize migrations.
const MIGRATION_LOCK_KEY = 747_310_001;

/**
 * Opens the embedded PGlite store in `dataDir` (created if missing). The folder is locked first:
 * PGlite corrupts a data folder opened by two processes, so a second process is refused.
 */
export async function openEmbeddedStore(dataDir: string, logger: Logger): Promise<Store> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock: DataDirLock = acquireDataDirLock(dataDir);
  try {
    const pgdata = `${dataDir}/pgdata`;
    // A laptop-sized buffer pool; PGlite's default of 128 MB is most of an idle server's memory.
    const options = { postgresqlconf: ['shared_buffers = 16MB'] };
    // initdb leaves ~500 MB of WebAssembly memory behind in the process that ran it: run it in a
    // short-lived child so the server itself starts small.
    if (!existsSync(pgdata)) await initializeInChildProcess(pgdata, options);
    const client = await PGlite.create(pgdata, options);
    const db = drizzlePglite(client, { schema }) as unknown as Database;
    await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    logger.debug({ dataDir }, 'embedded store ready');
    const notifier = new InProcessNotifier();
    return {
      kind: 'embedded',
      db,
      notifier,
      async close() {
        await notifier.close();
        await client.close();
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Opens PostgreSQL at `connectionString` and runs the migrations under an advisory lock, so several
 * processes starting at once on one database are safe.
 */
export async function openPostgresStore(connectionString: string, logger: Logger): Promise<Store> {
  const pool = new pg.Pool({ connectionString, max: 20 });
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle PostgreSQL connection failed'));
  const db = drizzlePostgres(pool, { schema }) as unknown as Database;
  const lockClient = await pool.connect();
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await migratePostgres(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    lockClient.release();
  }
  const notifier = new PostgresNotifier(connectionString, pool, logger);
  await notifier.start();
  logger.debug('PostgreSQL store ready');
  return {
    kind: 'postgres',
    db,
    notifier,
    async close() {
      await notifier.close();
      await pool.end();
    },
  };
}

async function initializeInChildProcess(pgdata: string, options: object): Promise<void> {
  const script = `const { PGlite } = await import(${JSON.stringify(import.meta.resolve('@electric-sql/pglite'))});
    await (await PGlite.create(process.argv[1], JSON.parse(process.argv[2]))).close();`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, pgdata, JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initializing the embedded database failed: ${stderr.slice(0, 500)}`))));
  });
}

/** Checks the database answers (used by the health endpoint). */
export async function pingDatabase(db: Database): Promise<void> {
  await db.execute(sql`select 1`);
}
