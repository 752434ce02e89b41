import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type SQL } from 'drizzle-orm';
import { codeVerifierAad } from '../oauth/start-authorization.js';
import { credentialsAad } from '../services/auth-configs.js';
import { clientSecretAad, deploymentCredentialsAad } from '../services/deployments.js';
import { webhookSecretAad } from '../services/webhooks.js';
import type { Database } from '../store/database.js';
import type { Keyring } from './keyring.js';

/**
 * Re-encryption of every sealed value under the keyring's current key, while servers keep serving
 * (PostgreSQL) — the step between "put the new key first in GATEHOUSE_ENCRYPTION_KEYS on every
 * process" and "drop the old key".
 *
 * Each batch is one SELECT and one UPDATE, both short: no transaction spans the batch, and a row is
 * written only if its ciphertext is still the one that was read (`WHERE id = … AND ciphertext = old`).
 * A concurrent writer (a token refresh, a deployment update) therefore always wins; if it sealed
 * under an old key (a process not yet restarted), the row is picked up again by the next pass.
 * Auth configs a refresh holds (the advisory lock of services/auth-config-lock.ts) are left alone
 * for that pass too, so a refresh never sees its row change under it. Nothing else of a row changes:
 * not `updated_at`, not `credentials_version` (the plaintext is the same).
 */

/** What the rotation needs of a keyring (structural, so a keyring from another build works too). */
export type RotationKeyring = Pick<Keyring, 'currentKeyId' | 'seal' | 'open'>;

/** Tables with sealed columns, in the order they are rotated. */
export const SEALED_TABLES = ['provider_deployments', 'auth_configs', 'setup_sessions', 'webhook_endpoints'] as const;
export type SealedTable = (typeof SEALED_TABLES)[number];

interface SealedColumn {
  table: SealedTable;
  /** Column prefix: the value is in `<name>_ciphertext`, its key id in `<name>_key_id`. */
  name: string;
  aad(row: { projectId: string; id: string }): string;
  /** Only rows that also take this advisory lock (`pg_try_advisory_xact_lock`) are written. */
  lockKey?(id: SQL): SQL;
}

const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'provider_deployments', name: 'oauth_client_secret', aad: (row) => clientSecretAad(row.projectId, row.id) },
  { table: 'provider_deployments', name: 'credentials', aad: (row) => deploymentCredentialsAad(row.projectId, row.id) },
  {
    table: 'auth_configs',
    name: 'credentials',
    aad: (row) => credentialsAad(row.projectId, row.id),
    // credentials_version is left alone: the credentials do not change, and refreshes compare it
    // (oauth/refresh.ts: "already refreshed" when it moved), as do the gateway's connection keys.
    // The key withAuthConfigLock takes while it refreshes (services/auth-config-lock.ts).
    lockKey: (id) => sql`hashtextextended('auth_config:' || ${id}, 0)`,
  },
  { table: 'setup_sessions', name: 'code_verifier', aad: (row) => codeVerifierAad(row) },
  { table: 'webhook_endpoints', name: 'secret', aad: (row) => webhookSecretAad(row.projectId, row.id) },
];

/** Progress of one table: sealed values handled (rotated or failed) out of those found on old keys. */
export interface RotationProgress {
  table: SealedTable;
  done: number;
  total: number;
}

/** A sealed value that could not be opened: named by its row id, never by its contents. */
export interface RotationFailure {
  table: SealedTable;
  /** The sealed column, e.g. `credentials` (`credentials_ciphertext` / `credentials_key_id`). */
  column: string;
  id: string;
  keyId: string;
  reason: string;
}

/** Counts of one table. A table with two sealed columns counts each sealed value. */
export interface TableRotationResult {
  /** Values found on an old key (more than at the start when a concurrent writer sealed under an old key). */
  total: number;
  rotated: number;
  failed: number;
  /** Writes lost to a concurrent writer (the row was picked up again by a later pass). */
  conflicts: number;
  /** Values still on an old key at the end, not counting failures (see {@link RotationResult.incomplete}). */
  remaining: number;
}

export interface RotationResult {
  keyId: string;
  tables: Record<SealedTable, TableRotationResult>;
  failures: RotationFailure[];
  /**
   * True when values were still on an old key after `maxPasses`: a process still runs with the old
   * keyring first (it keeps sealing under the old key), or refreshes held the same rows throughout.
   * Restart every process with the new key first and run the rotation again.
   */
  incomplete: boolean;
  durationMs: number;
}

export interface RotationOptions {
  /** Rows per SELECT/UPDATE round; default 200. */
  batchSize?: number;
  /** Called after every batch (and once per table at the start). */
  onProgress?: (progress: RotationProgress) => void;
  /** Full passes over a table before giving up on rows that keep being re-sealed under old keys; default 10. */
  maxPasses?: number;
  /** Pause before a pass that retries rows lost to concurrent writers, doubled each pass up to 2 s; default 100 ms. */
  retryDelayMs?: number;
}

const MAX_BATCH_SIZE = 5_000;

interface CandidateRow {
  id: string;
  project_id: string;
  ciphertext: string;
  key_id: string;
}

/**
 * Re-encrypts every sealed value not yet under `keyring.currentKeyId`, table by table, in batches,
 * until no value remains on an old key (values that cannot be opened are counted as failed and left
 * as they are). Safe to run while servers serve on the same PostgreSQL, and to run again.
 */
export async function rotateEncryption(db: Database, keyring: RotationKeyring, options: RotationOptions = {}): Promise<RotationResult> {
  const batchSize = options.batchSize ?? 200;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}`);
  }
  const maxPasses = options.maxPasses ?? 10;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const started = performance.now();
  const currentKeyId = keyring.currentKeyId;
  const failures: RotationFailure[] = [];
  const tables = Object.fromEntries(
    SEALED_TABLES.map((table) => [table, { total: 0, rotated: 0, failed: 0, conflicts: 0, remaining: 0 }]),
  ) as Record<SealedTable, TableRotationResult>;
  let incomplete = false;

  for (const table of SEALED_TABLES) {
    const columns = SEALED_COLUMNS.filter((column) => column.table === table);
    const counts = tables[table];
    const failedIds = new Map<SealedColumn, string[]>(columns.map((column) => [column, []]));
    const report = () => options.onProgress?.({ table, done: counts.rotated + counts.failed, total: counts.total });

    for (let pass = 0; ; pass++) {
      let pending = 0;
      for (const column of columns) pending += await countPending(db, column, currentKeyId, failedIds.get(column)!);
      if (pass === 0) {
        counts.total = pending;
        report();
      } else {
        // Values re-sealed under an old key since the last pass are new work.
        counts.total = counts.rotated + counts.failed + pending;
      }
      if (pending === 0) break;
      if (pass === maxPasses) {
        counts.remaining = pending;
        incomplete = true;
        break;
      }
      // Rows left over were written by someone else meanwhile, or held by a refresh: give them time.
      if (pass > 0) await sleep(Math.min(retryDelayMs * 2 ** (pass - 1), 2_000));
      for (const column of columns) {
        let cursor = '';
        for (;;) {
          const rows = await selectBatch(db, column, currentKeyId, failedIds.get(column)!, cursor, batchSize);
          if (rows.length === 0) break;
          cursor = rows[rows.length - 1]!.id;
          const resealed: Array<{ id: string; oldCiphertext: string; newCiphertext: string }> = [];
          for (const row of rows) {
            try {
              const aad = column.aad({ projectId: row.project_id, id: row.id });
              const sealed = keyring.seal(keyring.open({ keyId: row.key_id, ciphertext: row.ciphertext }, aad), aad);
              resealed.push({ id: row.id, oldCiphertext: row.ciphertext, newCiphertext: sealed.ciphertext });
            } catch (error) {
              failedIds.get(column)!.push(row.id);
              counts.failed++;
              failures.push({ table, column: column.name, id: row.id, keyId: row.key_id, reason: failureReason(error) });
            }
          }
          const written = resealed.length === 0 ? 0 : await writeBatch(db, column, currentKeyId, resealed);
          counts.rotated += written;
          counts.conflicts += resealed.length - written;
          report();
          if (rows.length < batchSize) break;
        }
      }
    }
  }
  return { keyId: currentKeyId, tables, failures, incomplete, durationMs: Math.round(performance.now() - started) };
}

/** Sealed values per key id, per table (a table with two sealed columns counts each value). */
export type EncryptionKeyUsage = Record<SealedTable, Record<string, number>>;

/** How many sealed values each key id protects, per table: what `gatehouse keys encryption-status` prints. */
export async function encryptionKeyUsage(db: Database): Promise<EncryptionKeyUsage> {
  const usage = Object.fromEntries(SEALED_TABLES.map((table) => [table, {}])) as EncryptionKeyUsage;
  for (const column of SEALED_COLUMNS) {
    const keyId = sql.identifier(`${column.name}_key_id`);
    const rows = await query<{ key_id: string; count: number }>(
      db,
      sql`SELECT ${keyId} AS key_id, count(*)::int AS count FROM ${sql.identifier(column.table)}
          WHERE ${sql.identifier(`${column.name}_ciphertext`)} IS NOT NULL GROUP BY ${keyId} ORDER BY ${keyId}`,
    );
    const counts = usage[column.table];
    for (const row of rows) counts[row.key_id] = (counts[row.key_id] ?? 0) + row.count;
  }
  return usage;
}

// ---------------------------------------------------------------------------------------------

function pendingCondition(column: SealedColumn, currentKeyId: string, failedIds: string[]): SQL {
  const ciphertext = sql.identifier(`${column.name}_ciphertext`);
  const keyId = sql.identifier(`${column.name}_key_id`);
  const notFailed =
    failedIds.length === 0
      ? sql``
      : sql` AND id NOT IN (${sql.join(
          failedIds.map((id) => sql`${id}`),
          sql`, `,
        )})`;
  return sql`${ciphertext} IS NOT NULL AND ${keyId} IS DISTINCT FROM ${currentKeyId}${notFailed}`;
}

async function countPending(db: Database, column: SealedColumn, currentKeyId: string, failedIds: string[]): Promise<number> {
  const [row] = await query<{ count: number }>(
    db,
    sql`SELECT count(*)::int AS count FROM ${sql.identifier(column.table)} WHERE ${pendingCondition(column, currentKeyId, failedIds)}`,
  );
  return row?.count ?? 0;
}

async function selectBatch(
  db: Database,
  column: SealedColumn,
  currentKeyId: string,
  failedIds: string[],
  afterId: string,
  limit: number,
): Promise<CandidateRow[]> {
  return query<CandidateRow>(
    db,
    sql`SELECT id, project_id, ${sql.identifier(`${column.name}_ciphertext`)} AS ciphertext, ${sql.identifier(`${column.name}_key_id`)} AS key_id
        FROM ${sql.identifier(column.table)}
        WHERE ${pendingCondition(column, currentKeyId, failedIds)} AND id > ${afterId}
        ORDER BY id LIMIT ${limit}`,
  );
}

/** Writes re-sealed values where the ciphertext is still the one read; returns how many were written. */
async function writeBatch(
  db: Database,
  column: SealedColumn,
  currentKeyId: string,
  rows: Array<{ id: string; oldCiphertext: string; newCiphertext: string }>,
): Promise<number> {
  const ciphertext = sql.identifier(`${column.name}_ciphertext`);
  const keyId = sql.identifier(`${column.name}_key_id`);
  const values = sql.join(
    rows.map((row) => sql`(${row.id}, ${row.oldCiphertext}, ${row.newCiphertext})`),
    sql`, `,
  );
  const lock = column.lockKey ? sql` AND pg_try_advisory_xact_lock(${column.lockKey(sql`t.id`)})` : sql``;
  const written = await query<{ id: string }>(
    db,
    sql`UPDATE ${sql.identifier(column.table)} AS t
        SET ${ciphertext} = v.new_ciphertext, ${keyId} = ${currentKeyId}
        FROM (VALUES ${values}) AS v(id, old_ciphertext, new_ciphertext)
        WHERE t.id = v.id AND t.${ciphertext} = v.old_ciphertext${lock}
        RETURNING t.id`,
  );
  return written.length;
}

async function query<T>(db: Database, statement: SQL): Promise<T[]> {
  // node-postgres and PGlite both answer with `{ rows }`.
  const result = (await db.execute(statement)) as unknown as { rows: T[] };
  return result.rows;
}

function failureReason(error: unknown): string {
  // DecryptionError messages name the key id or the failed check, never key material or plaintext.
  return error instanceof Error && error.name === 'DecryptionError' ? error.message : 'could not be re-encrypted';
}

// ---------------------------------------------------------------------------------------------
// The CLI commands (main.ts opens the store and hands it over).

/** `gatehouse keys rotate-encryption`: progress lines, a summary, and 1 if any value failed. */
export async function rotateEncryptionCommand(
  db: Database,
  keyring: RotationKeyring,
  options: { batchSize?: string | undefined; print?: (line: string) => void },
): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const batchSize = options.batchSize === undefined ? undefined : Number(options.batchSize);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE)) {
    console.error(`gatehouse: --batch-size: "${options.batchSize}" is not a whole number from 1 to ${MAX_BATCH_SIZE}`);
    return 2;
  }
  print(`Re-encrypting every sealed value under key "${keyring.currentKeyId}" (the first in GATEHOUSE_ENCRYPTION_KEYS).`);
  let last = '';
  const result = await rotateEncryption(db, keyring, {
    batchSize,
    onProgress: ({ table, done, total }) => {
      const line = `${table}: ${done}/${total}`;
      if (line !== last) print(line);
      last = line;
    },
  });
  const values = SEALED_TABLES.reduce((sum, table) => sum + result.tables[table].rotated + result.tables[table].failed, 0);
  print('');
  for (const table of SEALED_TABLES) {
    const { rotated, failed, conflicts, remaining } = result.tables[table];
    const notes = [conflicts ? `${conflicts} written by a server first, picked up again` : '', remaining ? `${remaining} still on an old key` : '']
      .filter(Boolean)
      .join('; ');
    print(`  ${table}: ${rotated} re-encrypted, ${failed} failed${notes ? ` (${notes})` : ''}`);
  }
  const seconds = result.durationMs / 1000;
  print(`${values} values in ${seconds.toFixed(2)} s${seconds > 0 && values > 0 ? ` (${Math.round(values / seconds)}/s)` : ''}.`);
  if (result.failures.length > 0) {
    print('');
    print(`${result.failures.length} value(s) could not be decrypted and were left as they are:`);
    for (const failure of result.failures) {
      print(`  ${failure.table} ${failure.id} (${failure.column}, key "${failure.keyId}"): ${failure.reason}`);
    }
    print('Keep their key in GATEHOUSE_ENCRYPTION_KEYS, or delete those rows (their users authorize again), before dropping a key.');
  }
  if (result.incomplete) {
    print('');
    print('Some values were still on an old key after several passes: a process probably still runs with the old key');
    print('first in GATEHOUSE_ENCRYPTION_KEYS. Restart every process with the new key first, then run this command again.');
  }
  if (result.failures.length === 0 && !result.incomplete) {
    print(`Every sealed value is under key "${result.keyId}": the other keys can be removed from GATEHOUSE_ENCRYPTION_KEYS.`);
    return 0;
  }
  return 1;
}

/** `gatehouse keys encryption-status`: sealed values per key id, per table. */
export async function encryptionStatusCommand(db: Database, keyring: RotationKeyring, print: (line: string) => void = (line) => console.log(line)): Promise<number> {
  const usage = await encryptionKeyUsage(db);
  print(`Current key (seals new values): ${keyring.currentKeyId}`);
  let old = 0;
  for (const table of SEALED_TABLES) {
    const entries = Object.entries(usage[table]);
    const counts = entries.length === 0 ? 'none' : entries.map(([keyId, count]) => `${keyId}: ${count}`).join(', ');
    print(`  ${table}: ${counts}`);
    old += entries.filter(([keyId]) => keyId !== keyring.currentKeyId).reduce((sum, [, count]) => sum + count, 0);
  }
  print(old === 0 ? 'Every sealed value is under the current key.' : `${old} value(s) under older keys: run \`gatehouse keys rotate-encryption\`.`);
  return 0;
}
