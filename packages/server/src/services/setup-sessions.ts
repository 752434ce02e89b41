import { and, eq, inArray, lte } from 'drizzle-orm';
import type { AuthMethod, ProviderDefinition } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import { GatehouseError, invalidRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import { authConfigs, providerDeployments, setupSessions, type SetupSessionStatus } from '../store/schema.js';
import { credentialsAad, type AuthConfigRow, type Credentials } from './auth-configs.js';
import { recordAuthConfigEvent } from './auth-config-events.js';
import type { Database } from '../store/database.js';
import { setupSessionToWire } from '../http/serializers.js';
import { emitWebhookEvent, notifyWebhookDue } from './webhook-events.js';
import { findAuthMethod, getProvider } from './providers.js';
import { getProject } from './projects.js';
import { isRedirectAllowed } from './redirect-allow-list.js';
import { ensureRegisteredClient } from '../oauth/register-client.js';

/** A setup session row as stored. */
export type SetupSessionRow = typeof setupSessions.$inferSelect;

/** A setup session with the auth config it produced, as the API shows it. */
export interface SetupSessionView {
  session: SetupSessionRow;
  authConfig: AuthConfigRow | null;
}

/** Default lifetime of a setup session's URL. */
export const DEFAULT_SETUP_SESSION_TTL_SECONDS = 30 * 60;

/** Fields of a new setup session. */
export interface CreateSetupSessionInput {
  providerId: string;
  authMethodId: string;
  deploymentId?: string | undefined;
  redirectUrl?: string | undefined;
  metadata?: Record<string, string> | undefined;
  expiresInSeconds?: number | undefined;
  /** Re-authorization: completing the session replaces this auth config's credentials in place. */
  targetAuthConfigId?: string | undefined;
}

/**
 * Creates a pending setup session. The deployment may be left out when the provider has exactly one
 * in the project; `redirectUrl` must be on the project's allow-list.
 */
export async function createSetupSession(
  context: ServerContext,
  projectId: string,
  input: CreateSetupSessionInput,
): Promise<SetupSessionView> {
  const { definition } = await getProvider(context, projectId, input.providerId).catch(() => {
    throw invalidRequest(`Unknown provider "${input.providerId}".`, [{ path: 'provider_id', message: 'unknown provider' }]);
  });
  const method = findAuthMethod(definition, input.authMethodId);
  const target = input.targetAuthConfigId ? await reauthorizationTarget(context, projectId, definition.id, method.id, input.targetAuthConfigId) : undefined;
  if (target && input.deploymentId && input.deploymentId !== target.deploymentId) {
    throw invalidRequest(`Auth config ${target.id} belongs to deployment ${target.deploymentId}; re-authorize it there.`, [
      { path: 'provider_deployment_id', message: 'must be the auth config\'s deployment' },
    ]);
  }
  const deploymentId = target?.deploymentId ?? (await resolveDeploymentId(context, projectId, definition, input.deploymentId));
  if (method.type === 'oauth2' && method.discovery === 'mcp') await ensureRegisteredClient(context, projectId, deploymentId, definition, method);
  if (method.type === 'oauth2') await assertOAuthClientConfigured(context, projectId, deploymentId, definition);

  if (input.redirectUrl !== undefined) {
    const project = await getProject(context.db, projectId);
    const allowList = project?.allowedRedirectUrls ?? [];
    if (!isRedirectAllowed(input.redirectUrl, allowList)) {
      throw invalidRequest(
        allowList.length === 0
          ? 'redirect_url is not allowed: this project has no allowed redirect URLs (set GATEHOUSE_ALLOWED_REDIRECT_URLS).'
          : `redirect_url is not allowed: it must start with one of ${allowList.join(', ')}.`,
        [{ path: 'redirect_url', message: 'not on the allow-list' }],
      );
    }
  }

  const now = context.clock.now();
  const ttlSeconds = input.expiresInSeconds ?? DEFAULT_SETUP_SESSION_TTL_SECONDS;
  const [session] = await context.db
    .insert(setupSessions)
    .values({
      id: newId('setupSession'),
      projectId,
      providerId: definition.id,
      authMethodId: method.id,
      deploymentId,
      status: 'pending',
      redirectUrl: input.redirectUrl ?? null,
      metadata: input.metadata ?? target?.metadata ?? {},
      targetAuthConfigId: target?.id ?? null,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return { session: session!, authConfig: null };
}

async function reauthorizationTarget(
  context: ServerContext,
  projectId: string,
  providerId: string,
  authMethodId: string,
  authConfigId: string,
): Promise<AuthConfigRow> {
  const [row] = await context.db
    .select()
    .from(authConfigs)
    .where(and(eq(authConfigs.projectId, projectId), eq(authConfigs.id, authConfigId)))
    .limit(1);
  if (!row) {
    throw new GatehouseError('not_found', `No provider auth config ${authConfigId} in this project.`, [
      { path: 'provider_auth_config_id', message: 'unknown auth config' },
    ]);
  }
  if (row.providerId !== providerId || row.authMethodId !== authMethodId) {
    throw invalidRequest(`Auth config ${authConfigId} is for ${row.providerId} / ${row.authMethodId}, not ${providerId} / ${authMethodId}.`, [
      { path: 'provider_auth_config_id', message: 'auth config of another provider or auth method' },
    ]);
  }
  return row;
}

async function resolveDeploymentId(
  context: ServerContext,
  projectId: string,
  definition: ProviderDefinition,
  deploymentId: string | undefined,
): Promise<string> {
  const rows = await context.db
    .select({ id: providerDeployments.id })
    .from(providerDeployments)
    .where(
      and(
        eq(providerDeployments.projectId, projectId),
        eq(providerDeployments.providerId, definition.id),
        deploymentId ? eq(providerDeployments.id, deploymentId) : undefined,
      ),
    )
    .limit(2);
  if (deploymentId) {
    if (rows.length === 0) {
      throw invalidRequest(`No deployment ${deploymentId} of provider "${definition.id}" in this project.`, [
        { path: 'provider_deployment_id', message: 'unknown deployment for this provider' },
      ]);
    }
    return deploymentId;
  }
  if (rows.length === 0) {
    throw invalidRequest(`Provider "${definition.id}" has no deployment in this project; create one first.`, [
      { path: 'provider_deployment_id', message: 'required: no deployment exists' },
    ]);
  }
  if (rows.length > 1) {
    throw invalidRequest(`Provider "${definition.id}" has several deployments; pass provider_deployment_id.`, [
      { path: 'provider_deployment_id', message: 'required when a provider has several deployments' },
    ]);
  }
  return rows[0]!.id;
}

async function assertOAuthClientConfigured(
  context: ServerContext,
  projectId: string,
  deploymentId: string,
  definition: ProviderDefinition,
): Promise<void> {
  const [deployment] = await context.db
    .select({ clientId: providerDeployments.oauthClientId })
    .from(providerDeployments)
    .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, deploymentId)))
    .limit(1);
  if (!deployment?.clientId) {
    throw invalidRequest(
      `Deployment ${deploymentId} of "${definition.id}" has no OAuth client; set oauth_client on the deployment first.`,
      [{ path: 'provider_deployment_id', message: 'deployment has no OAuth client' }],
    );
  }
}

/** A setup session of the project (expired on read if its time has passed), or 404. */
export async function getSetupSession(context: ServerContext, projectId: string, id: string): Promise<SetupSessionView> {
  const [view] = await loadViews(context, projectId, [id]);
  if (!view) throw notFound('provider setup session', id);
  return view;
}

/** The project's setup sessions, newest first. */
export async function listSetupSessions(
  context: ServerContext,
  projectId: string,
  filter: { status?: SetupSessionStatus | undefined; providerId?: string | undefined },
  page: PageRequest,
): Promise<Page<SetupSessionView>> {
  await expireDueSetupSessions(context, projectId);
  const rows = await context.db
    .select()
    .from(setupSessions)
    .where(
      and(
        eq(setupSessions.projectId, projectId),
        filter.status ? eq(setupSessions.status, filter.status) : undefined,
        filter.providerId ? eq(setupSessions.providerId, filter.providerId) : undefined,
        pageCondition(setupSessions, page.cursor),
      ),
    )
    .orderBy(...pageOrder(setupSessions))
    .limit(page.limit + 1);
  const sessionPage = toPage(rows, page.limit, (row) => row);
  const configs = await authConfigsById(context, projectId, sessionPage.data.map((row) => row.authConfigId));
  return {
    data: sessionPage.data.map((session) => ({ session, authConfig: (session.authConfigId && configs.get(session.authConfigId)) || null })),
    nextCursor: sessionPage.nextCursor,
  };
}

/**
 * Sessions by id in the given order, with their auth configs; pending sessions whose time has passed
 * are turned `expired` first. Unknown ids are left out.
 */
export async function loadViews(context: ServerContext, projectId: string, ids: string[]): Promise<SetupSessionView[]> {
  const now = context.clock.now();
  let rows = await context.db
    .select()
    .from(setupSessions)
    .where(and(eq(setupSessions.projectId, projectId), inArray(setupSessions.id, ids)));
  if (rows.some((row) => row.status === 'pending' && row.expiresAt <= now)) {
    await expireDueSetupSessions(context, projectId);
    rows = await context.db
      .select()
      .from(setupSessions)
      .where(and(eq(setupSessions.projectId, projectId), inArray(setupSessions.id, ids)));
  }
  const configs = await authConfigsById(context, projectId, rows.map((row) => row.authConfigId));
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids
    .map((id) => byId.get(id))
    .filter((row): row is SetupSessionRow => row !== undefined)
    .map((session) => ({ session, authConfig: (session.authConfigId && configs.get(session.authConfigId)) || null }));
}

async function authConfigsById(context: ServerContext, projectId: string, ids: Array<string | null>): Promise<Map<string, AuthConfigRow>> {
  const wanted = ids.filter((id): id is string => Boolean(id));
  if (wanted.length === 0) return new Map();
  const rows = await context.db
    .select()
    .from(authConfigs)
    .where(and(eq(authConfigs.projectId, projectId), inArray(authConfigs.id, wanted)));
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * Turns every pending session whose time has passed `expired` (in one project, or all when
 * `projectId` is undefined) and wakes their waiters. Returns how many it expired.
 */
export async function expireDueSetupSessions(context: ServerContext, projectId?: string): Promise<number> {
  const now = context.clock.now();
  const { expired, webhookEventIds } = await context.db.transaction(async (tx) => {
    const rows = await tx
      .update(setupSessions)
      .set({
        status: 'expired',
        updatedAt: now,
        oauthStateHash: null,
        browserBindingHash: null,
        codeVerifierCiphertext: null,
        codeVerifierKeyId: null,
      })
      .where(
        and(
          projectId ? eq(setupSessions.projectId, projectId) : undefined,
          eq(setupSessions.status, 'pending'),
          lte(setupSessions.expiresAt, now),
        ),
      )
      .returning();
    const eventIds: Array<string | undefined> = [];
    for (const row of rows) {
      const data = setupSessionToWire({ session: row, authConfig: null }, context.publicUrl);
      eventIds.push(await emitWebhookEvent(tx as unknown as Database, { projectId: row.projectId, type: 'setup_session.expired', data, occurredAt: now }));
    }
    return { expired: rows, webhookEventIds: eventIds.filter(Boolean) };
  });
  await Promise.all(expired.map((row) => context.notifier.publish('setup_session_changed', row.id)));
  if (webhookEventIds.length > 0) await notifyWebhookDue(context);
  return expired.length;
}

/** What a finished authorization stores. */
export interface CompletedAuthorization {
  credentials: Credentials;
  scopes: string[];
  accessTokenExpiresAt?: Date | undefined;
}

/**
 * Stores the credentials as a new auth config and marks the session `completed`, in one transaction:
 * either both happen or neither. Refuses (409) if the session is no longer pending, so a replayed or
 * concurrent completion cannot create a second auth config.
 */
export async function completeSetupSession(
  context: ServerContext,
  session: SetupSessionRow,
  authorization: CompletedAuthorization,
): Promise<SetupSessionView> {
  const now = context.clock.now();
  const authConfigId = session.targetAuthConfigId ?? newId('authConfig');
  const sealed = context.keyring.seal(JSON.stringify(authorization.credentials), credentialsAad(session.projectId, authConfigId));
  // The `setup_session.completed` webhook event is written in the transaction that completes the session.
  const webhook: { eventId?: string | undefined } = {};
  const withWebhookEvent = async (tx: Database, completed: SetupSessionView): Promise<SetupSessionView> => {
    const data = setupSessionToWire(completed, context.publicUrl);
    webhook.eventId = await emitWebhookEvent(tx, { projectId: session.projectId, type: 'setup_session.completed', data, occurredAt: now });
    return completed;
  };
  const view = await context.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(setupSessions)
      .set({
        status: 'completed',
        completedAt: now,
        updatedAt: now,
        authConfigId,
        oauthStateHash: null,
        browserBindingHash: null,
        codeVerifierCiphertext: null,
        codeVerifierKeyId: null,
      })
      .where(and(eq(setupSessions.id, session.id), eq(setupSessions.status, 'pending')))
      .returning();
    if (!updated) throw new GatehouseError('conflict', 'This setup session is no longer pending.');
    if (session.targetAuthConfigId) {
      const authConfig = await replaceCredentials(tx as unknown as Database, session, authorization, sealed, now);
      return withWebhookEvent(tx as unknown as Database, { session: updated, authConfig });
    }
    const [authConfig] = await tx
      .insert(authConfigs)
      .values({
        id: authConfigId,
        projectId: session.projectId,
        providerId: session.providerId,
        deploymentId: session.deploymentId,
        authMethodId: session.authMethodId,
        status: 'active',
        scopes: authorization.scopes,
        metadata: session.metadata,
        credentialsCiphertext: sealed.ciphertext,
        credentialsKeyId: sealed.keyId,
        accessTokenExpiresAt: authorization.accessTokenExpiresAt ?? null,
        setupSessionId: session.id,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    await recordAuthConfigEvent(tx as unknown as Database, { projectId: session.projectId, authConfigId, type: 'created', toStatus: 'active', at: now });
    return withWebhookEvent(tx as unknown as Database, { session: updated, authConfig: authConfig! });
  });
  // A re-authorization replaced credentials the gateway may hold: use the new ones from the next call.
  context.toolGateway.forget(authConfigId);
  await context.notifier.publish('setup_session_changed', session.id);
  if (webhook.eventId) await notifyWebhookDue(context, webhook.eventId);
  context.logger.info({ setupSessionId: session.id, authConfigId, providerId: session.providerId }, 'setup session completed');
  return view;
}

/**
 * Re-authorization in place: the new credentials replace the old ones under the same auth config id
 * (so the id the app stored keeps working), the status returns to `active`, and the version moves on
 * so pooled connections with the old token are not reused.
 */
async function replaceCredentials(
  db: Database,
  session: SetupSessionRow,
  authorization: CompletedAuthorization,
  sealed: { keyId: string; ciphertext: string },
  now: Date,
): Promise<AuthConfigRow> {
  const [current] = await db.select().from(authConfigs).where(eq(authConfigs.id, session.targetAuthConfigId!)).for('update').limit(1);
  if (!current) throw new GatehouseError('conflict', `Auth config ${session.targetAuthConfigId} was deleted while the user re-authorized.`);
  const [authConfig] = await db
    .update(authConfigs)
    .set({
      status: 'active',
      scopes: authorization.scopes,
      credentialsCiphertext: sealed.ciphertext,
      credentialsKeyId: sealed.keyId,
      credentialsVersion: current.credentialsVersion + 1,
      accessTokenExpiresAt: authorization.accessTokenExpiresAt ?? null,
      lastRefreshedAt: null,
      lastErrorCode: null,
      lastErrorAt: null,
      setupSessionId: session.id,
      updatedAt: now,
    })
    .where(eq(authConfigs.id, current.id))
    .returning();
  await recordAuthConfigEvent(db, {
    projectId: session.projectId,
    authConfigId: current.id,
    type: 'reauthorized',
    fromStatus: current.status,
    toStatus: 'active',
    at: now,
  });
  return authConfig!;
}

/** Ends a pending session as `failed` with a reason the app and the end user can read. */
export async function failSetupSession(
  context: ServerContext,
  session: SetupSessionRow,
  error: { code: string; message: string },
): Promise<SetupSessionRow | undefined> {
  const now = context.clock.now();
  const { updated, webhookEventId } = await context.db.transaction(async (tx) => {
    const [row] = await tx
      .update(setupSessions)
      .set({
        status: 'failed',
        updatedAt: now,
        errorCode: error.code.slice(0, 100),
        errorMessage: error.message.slice(0, 500),
        oauthStateHash: null,
        browserBindingHash: null,
        codeVerifierCiphertext: null,
        codeVerifierKeyId: null,
      })
      .where(and(eq(setupSessions.id, session.id), eq(setupSessions.status, 'pending')))
      .returning();
    if (!row) return { updated: undefined, webhookEventId: undefined };
    const data = setupSessionToWire({ session: row, authConfig: null }, context.publicUrl);
    const eventId = await emitWebhookEvent(tx as unknown as Database, { projectId: row.projectId, type: 'setup_session.failed', data, occurredAt: now });
    return { updated: row, webhookEventId: eventId };
  });
  if (updated) {
    await context.notifier.publish('setup_session_changed', session.id);
    if (webhookEventId) await notifyWebhookDue(context, webhookEventId);
    context.logger.info({ setupSessionId: session.id, errorCode: updated.errorCode }, 'setup session failed');
  }
  return updated;
}

/** A setup session by id alone: for the hosted pages, where the id in the URL is the capability. */
export async function getSetupSessionForPage(context: ServerContext, id: string): Promise<SetupSessionRow | undefined> {
  const [row] = await context.db.select().from(setupSessions).where(eq(setupSessions.id, id)).limit(1);
  if (row && row.status === 'pending' && row.expiresAt <= context.clock.now()) {
    await expireDueSetupSessions(context, row.projectId);
    return getSetupSessionForPage(context, id);
  }
  return row;
}

/** The provider definition and auth method a session was created for. */
export async function resolveSessionMethod(
  context: ServerContext,
  session: SetupSessionRow,
): Promise<{ definition: ProviderDefinition; method: AuthMethod }> {
  const { definition } = await getProvider(context, session.projectId, session.providerId);
  return { definition, method: findAuthMethod(definition, session.authMethodId) };
}
