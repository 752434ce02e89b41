import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { invalidRequest } from '../errors.js';

/** `limit` and `cursor` of a list request. */
export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** One page of a list, newest first. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

interface CursorPosition {
  createdAt: Date;
  id: string;
}

function decodeCursor(cursor: string): CursorPosition {
  try {
    const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
    const createdAt = new Date(Number(time));
    if (!id || Number.isNaN(createdAt.getTime())) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw invalidRequest('The cursor is not valid; pass the next_cursor of a previous page.', [
      { path: 'cursor', message: 'invalid cursor' },
    ]);
  }
}

function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.createdAt.getTime()}|${position.id}`, 'utf8').toString('base64url');
}

/**
 * Keyset pagination over (created_at, id) descending: the condition for rows after `cursor` and the
 * ordering. Stable while rows are inserted.
 */
export function pageCondition(columns: { createdAt: PgColumn; id: PgColumn }, cursor: string | undefined): SQL | undefined {
  if (!cursor) return undefined;
  const position = decodeCursor(cursor);
  return or(lt(columns.createdAt, position.createdAt), and(eq(columns.createdAt, position.createdAt), lt(columns.id, position.id)));
}

/** ORDER BY for {@link pageCondition}. */
export function pageOrder(columns: { createdAt: PgColumn; id: PgColumn }): SQL[] {
  return [desc(columns.createdAt), desc(columns.id)];
}

/** Turns `limit + 1` fetched rows into a page with its next cursor. */
export function toPage<Row extends CursorPosition, T>(rows: Row[], limit: number, map: (row: Row) => T): Page<T> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { data: pageRows.map(map), nextCursor: hasMore && last ? encodeCursor(last) : null };
}
