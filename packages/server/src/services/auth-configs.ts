import { and, eq, sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import { authConfigs, type AuthConfigStatus } from '../store/schema.js';
import type { Database } from '../store/database.js';
import { authConfigToWire } from '../http/serializers.js';
import { revokeAtProvider, type RevocationResult } from '../oauth/revoke.js';
import { withAuthConfigLock } from './auth-config-lock.js';
import { emitWebhookEvent, notifyWebhookDue } from './webhook-events.js';

/** An auth config row as stored (credentials only as ciphertext). */
export type AuthConfigRow = typeof authConfigs.$inferSelect;

/** The secret part of an auth config; sealed as JSON, never returned by the API. */
export type Credentials =
  | {
      type: 'oauth2';
      accessToken: string;
      tokenType: string;
      refreshToken?: string | undefined;
      /** ISO time the access token expires, when the provider said. */
      expiresAt?: string | undefined;
    }
  | { type: 'api_key'; apiKey: string };

/** AAD of an auth config's credentials: binds the ciphertext to its project and row. */
export function credentialsAad(projectId: string, authConfigId: string): string {
  return `gatehouse:v1:${projectId}:${authConfigId}:credentials`;
}

/** Filters of the auth config list. */
export interface AuthConfigFilter {
  providerId?: string | undefined;
  deploymentId?: string | undefined;
  status?: AuthConfigStatus | undefined;
  /** Every key/value must match the auth config's metadata. */
  metadata?: Record<string, string> | undefined;
}

/** An auth config of the project, or 404. */
export async function getAuthConfig(context: ServerContext, projectId: string, authConfigId: string): Promise<AuthConfigRow> {
  const [row] = await context.db
    .select()
    .from(authConfigs)
    .where(and(eq(authConfigs.projectId, projectId), eq(authConfigs.id, authConfigId)))
    .limit(1);
  if (!row) throw notFound('provider auth config', authConfigId);
  return row;
}

/** The project's auth configs, newest first. */
export async function listAuthConfigs(
  context: ServerContext,
  projectId: string,
  filter: AuthConfigFilter,
  page: PageRequest,
): Promise<Page<AuthConfigRow>> {
  const rows = await context.db
    .select()
    .from(authConfigs)
    .where(
      and(
        eq(authConfigs.projectId, projectId),
        filter.providerId ? eq(authConfigs.providerId, filter.providerId) : undefined,
        filter.deploymentId ? eq(authConfigs.deploymentId, filter.deploymentId) : undefined,
        filter.status ? eq(authConfigs.status, filter.status) : undefined,
        filter.metadata && Object.keys(filter.metadata).length > 0
          ? sql`${authConfigs.metadata} @> ${JSON.stringify(filter.metadata)}::jsonb`
          : undefined,
        pageCondition(authConfigs, page.cursor),
      ),
    )
    .orderBy(...pageOrder(authConfigs))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => row);
}

/**
 * Deletes an auth config: first revokes its tokens at the provider (RFC 7009) where the provider has
 * a revocation endpoint, then removes the row and its sealed credentials, and reports whether the
 * provider confirmed. The row goes even when the provider does not answer: the app asked for it.
 * Both happen under the auth config's refresh lock, so a refresh in flight (which may rotate the
 * refresh token) finishes first and its new tokens are the ones revoked, and none starts in between.
 */
export async function deleteAuthConfig(context: ServerContext, projectId: string, authConfigId: string): Promise<RevocationResult> {
  await getAuthConfig(context, projectId, authConfigId);
  const revocation = await withAuthConfigLock(context, authConfigId, async (db) => {
    // Read again under the lock: these are the credentials no refresh can replace any more.
    const [row] = await db
      .select()
      .from(authConfigs)
      .where(and(eq(authConfigs.projectId, projectId), eq(authConfigs.id, authConfigId)))
      .limit(1);
    if (!row) throw notFound('provider auth config', authConfigId);
    const result = await revokeAtProvider(context, row);
    await db.transaction(async (tx) => {
      const deleted = await tx
        .delete(authConfigs)
        .where(and(eq(authConfigs.projectId, projectId), eq(authConfigs.id, authConfigId)))
        .returning();
      if (deleted.length === 0) throw notFound('provider auth config', authConfigId);
      await emitWebhookEvent(tx as unknown as Database, {
        projectId,
        type: 'auth_config.deleted',
        data: { ...authConfigToWire(deleted[0]!), revocation: result },
      });
    });
    return result;
  });
  // This process's gateway stops using the credentials at once (others within its cache time).
  context.toolGateway.forget(authConfigId);
  void notifyWebhookDue(context).catch(() => {});
  return revocation;
}

/** Opens the sealed credentials of an auth config (for tool calls and refresh; never for the API). */
export function openCredentials(context: ServerContext, row: AuthConfigRow): Credentials {
  const json = context.keyring.open(
    { keyId: row.credentialsKeyId, ciphertext: row.credentialsCiphertext },
    credentialsAad(row.projectId, row.id),
  );
  return JSON.parse(json) as Credentials;
}
