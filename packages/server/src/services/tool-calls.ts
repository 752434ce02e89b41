import { and, eq } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
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

/**
 * Stores the record of one finished tool call. Its text comes from the caller (tool name, arguments)
 * and from the tool server (errors): U+0000, which PostgreSQL text cannot hold, is replaced so a
 * stray NUL cannot turn a finished call into a database error.
 */
export async function recordToolCall(context: ServerContext, row: typeof toolCalls.$inferInsert): Promise<ToolCallRow> {
  const storable = Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key, typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD') : value]),
  ) as typeof row;
  const [stored] = await context.db.insert(toolCalls).values(storable).returning();
  return stored!;
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
