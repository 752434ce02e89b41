import { and, eq, getTableColumns } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import type { Database } from '../store/database.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import { toolCalls } from '../store/schema.js';

/** A tool call record as stored. */
export type ToolCallRow = typeof toolCalls.$inferSelect;

/** Longest preview of arguments or results kept in a record. */
export const PREVIEW_CHARS = 2048;

/** Cuts a value to a bounded JSON preview. */
export function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}… (${text.length} characters)` : text;
}

type ToolCallInsert = typeof toolCalls.$inferInsert;

/** Every column of a record as null: the base a new record's values are laid over. */
const NULL_ROW = Object.fromEntries(Object.keys(getTableColumns(toolCalls)).map((key) => [key, null]));

/** Most records one insert writes. */
const MAX_BATCH = 200;

/**
 * Records waiting to be written, per database. Every call's record is written before its answer goes
 * out, but records that finish while an insert is in flight are written together by the next one
 * (group commit): one statement for many calls under load, the same single insert when idle.
 */
interface RecordQueue {
  waiting: Array<{ row: ToolCallRow; resolve(row: ToolCallRow): void; reject(error: unknown): void }>;
  writing: boolean;
}

const queues = new WeakMap<Database, RecordQueue>();

/**
 * Stores the record of one finished tool call and resolves once it is written. Its text comes from
 * the caller (tool name, arguments) and from the tool server (errors): U+0000, which PostgreSQL text
 * cannot hold, is replaced so a stray NUL cannot turn a finished call into a database error.
 */
export function recordToolCall(context: ServerContext, row: ToolCallInsert): Promise<ToolCallRow> {
  const now = context.clock.now();
  // Every column is set here (absent ones to null), so the stored row is known without reading it back.
  const storable = Object.fromEntries(
    Object.entries({ ...NULL_ROW, createdAt: now, updatedAt: now, ...row }).map(([key, value]) => [
      key,
      typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD') : value,
    ]),
  ) as ToolCallRow;
  let queue = queues.get(context.db);
  if (!queue) queues.set(context.db, (queue = { waiting: [], writing: false }));
  const written = new Promise<ToolCallRow>((resolve, reject) => queue.waiting.push({ row: storable, resolve, reject }));
  if (!queue.writing) void writeQueued(context.db, queue);
  return written;
}

async function writeQueued(db: Database, queue: RecordQueue): Promise<void> {
  queue.writing = true;
  try {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, MAX_BATCH);
      try {
        await db.insert(toolCalls).values(batch.map((entry) => entry.row));
        for (const entry of batch) entry.resolve(entry.row);
      } catch {
        // One bad row must not fail the others: write them one by one, each with its own outcome.
        for (const entry of batch) {
          await db
            .insert(toolCalls)
            .values(entry.row)
            .then(() => entry.resolve(entry.row), entry.reject);
        }
      }
    }
  } finally {
    queue.writing = false;
  }
}

/** The tool calls of a session, newest first. */
export async function listToolCalls(context: ServerContext, projectId: string, sessionId: string, page: PageRequest): Promise<Page<ToolCallRow>> {
  const rows = await context.db
    .select()
    .from(toolCalls)
    .where(and(eq(toolCalls.projectId, projectId), eq(toolCalls.sessionId, sessionId), pageCondition(toolCalls, page.cursor)))
    .orderBy(...pageOrder(toolCalls))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => row);
}
