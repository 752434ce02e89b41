import { and, eq } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';
import type { OAuth2AuthMethod } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import { authConfigToWire } from '../http/serializers.js';
import { withAuthConfigLock } from '../services/auth-config-lock.js';
import { recordAuthConfigEvent } from '../services/auth-config-events.js';
import { credentialsAad, openCredentials, type AuthConfigRow, type Credentials } from '../services/auth-configs.js';
import { getDeployment, openClientSecret } from '../services/deployments.js';
import { findAuthMethod, getProvider } from '../services/providers.js';
import { emitWebhookEvent, notifyWebhookDue } from '../services/webhook-events.js';
import type { Database } from '../store/database.js';
import { authConfigs } from '../store/schema.js';
import { requestOptions, resolveAuthorizationServer } from './authorization-server.js';
import { providerErrorCode } from './provider-error-code.js';

const DEFAULT_REFRESH_WINDOW_SECONDS = 60;
const TOKEN_REQUEST_TIMEOUT_MS = 15_000;
const MAX_ATTEMPTS = 3;
const MAX_RETRY_DELAY_MS = 10_000;

/**
 * Error codes that mean the grant itself is gone (RFC 6749 §5.2 `invalid_grant`, and the forms
 * providers use for it): the user must authorize again. Anything else is not the user's fault.
 */
const GRANT_GONE = new Set(['invalid_grant', 'invalid_refresh_token', 'token_revoked', 'refresh_token_expired', 'unauthorized_client']);

/** How a refresh ended. `authConfig` is the row as it is now. */
export type RefreshOutcome =
  | { kind: 'refreshed' | 'already_refreshed' | 'not_needed' | 'not_refreshable'; authConfig: AuthConfigRow }
  | { kind: 'reauthorization_required'; authConfig: AuthConfigRow }
  | { kind: 'unavailable'; authConfig: AuthConfigRow; errorCode: string };

/** Whether an access token expires within the refresh window (at most half its lifetime, so short-lived tokens are not refreshed on every call). */
export function needsRefresh(row: AuthConfigRow, method: OAuth2AuthMethod, now: Date): boolean {
  if (!row.accessTokenExpiresAt) return false;
  const expiresAt = row.accessTokenExpiresAt.getTime();
  const lifetime = expiresAt - (row.lastRefreshedAt ?? row.createdAt).getTime();
  const window = Math.min((method.refreshWindowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS) * 1000, Math.max(0, lifetime / 2));
  return expiresAt - now.getTime() <= window;
}

const inFlight = new Map<string, Promise<RefreshOutcome>>();

/**
 * Refreshes an auth config's access token (RFC 6749 §6), single-flight in this process and across
 * processes: callers that saw the same credentials version share one refresh; after taking the
 * lock the row is read again, so a caller that waited uses the token the winner stored. A rotated
 * refresh token is stored (committed) before anyone gets the new access token; a response without
 * one keeps the old. `invalid_grant` turns the auth config `reauthorization_required` after one try;
 * transient failures (5xx, 429, timeouts) are retried with backoff honouring `Retry-After`, and
 * change nothing.
 *
 * @param seenVersion the `credentialsVersion` the caller found stale.
 * @param force refresh even if the token does not look expired (the tool server refused it).
 */
export function refreshAuthConfig(
  context: ServerContext,
  projectId: string,
  authConfigId: string,
  seenVersion: number,
  force: boolean,
): Promise<RefreshOutcome> {
  const key = `${authConfigId}@${seenVersion}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = withAuthConfigLock(context, authConfigId, async (db) => {
      const webhookEvents: string[] = [];
      const outcome = await refreshLocked(context, db, projectId, authConfigId, seenVersion, force, webhookEvents);
      return { outcome, webhookEvents };
    })
      .then(async ({ outcome, webhookEvents }) => {
        // After the lock's transaction committed: a dispatcher woken earlier could not see the event yet.
        for (const eventId of webhookEvents) await notifyWebhookDue(context, eventId);
        return outcome;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function refreshLocked(
  context: ServerContext,
  db: Database,
  projectId: string,
  authConfigId: string,
  seenVersion: number,
  force: boolean,
  webhookEvents: string[],
): Promise<RefreshOutcome> {
  const [row] = await db
    .select()
    .from(authConfigs)
    .where(and(eq(authConfigs.projectId, projectId), eq(authConfigs.id, authConfigId)))
    .limit(1);
  if (!row) throw notFound('provider auth config', authConfigId);
  if (row.status !== 'active') return { kind: 'reauthorization_required', authConfig: row };
  if (row.credentialsVersion !== seenVersion) return { kind: 'already_refreshed', authConfig: row };

  const { definition } = await getProvider(context, projectId, row.providerId);
  const method = findAuthMethod(definition, row.authMethodId);
  const credentials = openCredentials(context, row);
  if (method.type !== 'oauth2' || credentials.type !== 'oauth2' || !credentials.refreshToken) {
    return { kind: 'not_refreshable', authConfig: row };
  }
  if (!force && !needsRefresh(row, method, context.clock.now())) return { kind: 'not_needed', authConfig: row };

  const deployment = await getDeployment(context, projectId, row.deploymentId);
  const authorizationServer = await resolveAuthorizationServer(context, method);
  const client: oauth.Client = { client_id: deployment.oauthClientId ?? '' };
  const clientSecret = openClientSecret(context, deployment);
  const clientAuth =
    clientSecret === undefined
      ? oauth.None()
      : method.tokenEndpointAuthMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(clientSecret)
        : oauth.ClientSecretBasic(clientSecret);

  let lastErrorCode = 'token_endpoint_unavailable';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let response: Response;
    try {
      response = await oauth.refreshTokenGrantRequest(
        authorizationServer,
        client,
        clientAuth,
        credentials.refreshToken,
        requestOptions(context, AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS)),
      );
    } catch (error) {
      lastErrorCode = (error as Error).name === 'TimeoutError' ? 'token_endpoint_timeout' : 'token_endpoint_unavailable';
      await pause(backoffMs(attempt, undefined), attempt);
      continue;
    }
    if (response.status === 429 || response.status >= 500) {
      lastErrorCode = response.status === 429 ? 'token_endpoint_rate_limited' : 'token_endpoint_unavailable';
      await response.body?.cancel().catch(() => {});
      await pause(backoffMs(attempt, response.headers.get('retry-after')), attempt);
      continue;
    }
    try {
      const result = await oauth.processRefreshTokenResponse(authorizationServer, client, response);
      return await storeRefreshedCredentials(context, db, row, credentials, result, webhookEvents);
    } catch (error) {
      const code = error instanceof oauth.ResponseBodyError ? providerErrorCode(error.error, 'provider_error') : 'invalid_token_response';
      if (GRANT_GONE.has(code)) return markReauthorizationRequired(context, db, row, code, webhookEvents);
      return recordFailure(context, db, row, code);
    }
  }
  return recordFailure(context, db, row, lastErrorCode);
}

function backoffMs(attempt: number, retryAfter: string | null | undefined): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : new Date(retryAfter).getTime() - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_DELAY_MS);
  }
  return Math.min(200 * 2 ** (attempt - 1) + Math.random() * 100, MAX_RETRY_DELAY_MS);
}

async function pause(ms: number, attempt: number): Promise<void> {
  if (attempt < MAX_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, ms));
}

async function storeRefreshedCredentials(
  context: ServerContext,
  db: Database,
  row: AuthConfigRow,
  previous: Extract<Credentials, { type: 'oauth2' }>,
  result: oauth.TokenEndpointResponse,
  webhookEvents: string[],
): Promise<RefreshOutcome> {
  const now = context.clock.now();
  const expiresAt = typeof result.expires_in === 'number' ? new Date(now.getTime() + result.expires_in * 1000) : undefined;
  const credentials: Credentials = {
    type: 'oauth2',
    accessToken: result.access_token,
    tokenType: result.token_type,
    // RFC 6749 §6: the server MAY issue a new refresh token; without one the old one stays valid.
    refreshToken: result.refresh_token ?? previous.refreshToken,
    expiresAt: expiresAt?.toISOString(),
  };
  const sealed = context.keyring.seal(JSON.stringify(credentials), credentialsAad(row.projectId, row.id));
  const [updated] = await db
    .update(authConfigs)
    .set({
      credentialsCiphertext: sealed.ciphertext,
      credentialsKeyId: sealed.keyId,
      credentialsVersion: row.credentialsVersion + 1,
      accessTokenExpiresAt: expiresAt ?? null,
      lastRefreshedAt: now,
      lastErrorCode: null,
      lastErrorAt: null,
      updatedAt: now,
    })
    .where(and(eq(authConfigs.id, row.id), eq(authConfigs.credentialsVersion, row.credentialsVersion)))
    .returning();
  if (!updated) {
    const [current] = await db.select().from(authConfigs).where(eq(authConfigs.id, row.id)).limit(1);
    return { kind: 'already_refreshed', authConfig: current ?? row };
  }
  await recordAuthConfigEvent(db, { projectId: row.projectId, authConfigId: row.id, type: 'refreshed', at: now });
  const eventId = await emitWebhookEvent(db, { projectId: row.projectId, type: 'auth_config.refreshed', data: authConfigToWire(updated) });
  if (eventId) webhookEvents.push(eventId);
  context.logger.info({ authConfigId: row.id, version: updated.credentialsVersion, rotated: Boolean(result.refresh_token) }, 'auth config refreshed');
  return { kind: 'refreshed', authConfig: updated };
}

async function markReauthorizationRequired(
  context: ServerContext,
  db: Database,
  row: AuthConfigRow,
  errorCode: string,
  webhookEvents: string[],
): Promise<RefreshOutcome> {
  const now = context.clock.now();
  const [updated] = await db
    .update(authConfigs)
    .set({ status: 'reauthorization_required', lastErrorCode: errorCode, lastErrorAt: now, updatedAt: now })
    .where(and(eq(authConfigs.id, row.id), eq(authConfigs.status, 'active')))
    .returning();
  if (updated) {
    await recordAuthConfigEvent(db, {
      projectId: row.projectId,
      authConfigId: row.id,
      type: 'status_changed',
      fromStatus: 'active',
      toStatus: 'reauthorization_required',
      errorCode,
      at: now,
    });
    const eventId = await emitWebhookEvent(db, { projectId: row.projectId, type: 'auth_config.reauthorization_required', data: authConfigToWire(updated) });
    if (eventId) webhookEvents.push(eventId);
    context.logger.warn({ authConfigId: row.id, errorCode }, 'auth config needs re-authorization');
  }
  return { kind: 'reauthorization_required', authConfig: updated ?? row };
}

async function recordFailure(context: ServerContext, db: Database, row: AuthConfigRow, errorCode: string): Promise<RefreshOutcome> {
  const now = context.clock.now();
  const [updated] = await db
    .update(authConfigs)
    .set({ lastErrorCode: errorCode, lastErrorAt: now, updatedAt: now })
    .where(eq(authConfigs.id, row.id))
    .returning();
  await recordAuthConfigEvent(db, { projectId: row.projectId, authConfigId: row.id, type: 'refresh_failed', errorCode, at: now });
  context.logger.warn({ authConfigId: row.id, errorCode }, 'refresh failed; the auth config stays active');
  return { kind: 'unavailable', authConfig: updated ?? row, errorCode };
}
