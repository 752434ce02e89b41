import { and, eq } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { newId } from '../ids.js';
import type { Database } from '../store/database.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import { authConfigEvents } from '../store/schema.js';

/** What happened to an auth config. */
export type AuthConfigEventType = 'created' | 'refreshed' | 'refresh_failed' | 'status_changed' | 'reauthorized' | 'revoked';

/** An auth config event row. */
export type AuthConfigEventRow = typeof authConfigEvents.$inferSelect;

/** Appends one entry to an auth config's history (inside the caller's transaction when given one). */
export async function recordAuthConfigEvent(
  db: Database,
  event: { projectId: string; authConfigId: string; type: AuthConfigEventType; fromStatus?: string; toStatus?: string; errorCode?: string; at: Date },
): Promise<void> {
  await db.insert(authConfigEvents).values({
    id: newId('authConfigEvent'),
    projectId: event.projectId,
    authConfigId: event.authConfigId,
    type: event.type,
    fromStatus: event.fromStatus ?? null,
    toStatus: event.toStatus ?? null,
    errorCode: event.errorCode ?? null,
    createdAt: event.at,
  });
}

/** An auth config's history, newest first. */
export async function listAuthConfigEvents(
  context: ServerContext,
  projectId: string,
  authConfigId: string,
  page: PageRequest,
): Promise<Page<AuthConfigEventRow>> {
  const rows = await context.db
    .select()
    .from(authConfigEvents)
    .where(and(eq(authConfigEvents.projectId, projectId), eq(authConfigEvents.authConfigId, authConfigId), pageCondition(authConfigEvents, page.cursor)))
    .orderBy(...pageOrder(authConfigEvents))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => row);
}
