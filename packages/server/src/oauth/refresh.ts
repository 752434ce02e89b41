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
import { ToolCallError } from '../gateway/tool-call-error.js';
import { requestOptions, resolveAuthorizationServer } from './authorization-server.js';
import { parseRefreshResponse, type RefreshResponse } from './refresh-response.js';

const DEFAULT_REFRESH_WINDOW_SECONDS = 60;
const MAX_ATTEMPTS = 3;

/**
 * The most time one refresh spends on the token endpoint, retries and their delays included: it is
 * also the longest a refresh holds its auth config's lock (and, on PostgreSQL, a pooled connection
 * in an open transaction; see {@link withAuthConfigLock}). Each attempt's timeout and each retry
 * delay come out of it, so it is never more than the request timeout times the attempts (45 s with
 * the default GATEHOUSE_TOKEN_REQUEST_TIMEOUT_MS of 15 s).
 */
export function refreshBudgetMs(context: Pick<ServerContext, 'tokenRequestTimeoutMs'>): number {
  return context.tokenRequestTimeoutMs * MAX_ATTEMPTS;
}

/**
 * Error codes that mean the grant itself is gone: the user must authorize again. RFC 6749 §5.2
 * `invalid_grant`, and the forms providers use for it (GitHub `bad_refresh_token`; Slack
 * `invalid_refresh_token`, `token_revoked`, `token_expired`, `account_inactive`).
 */
const GRANT_GONE = new Set([
  'invalid_grant',
  'bad_refresh_token',
  'invalid_refresh_token',
  'refresh_token_expired',
  'refresh_token_revoked',
  'token_revoked',
  'token_expired',
  'account_inactive',
]);

/**
 * Error codes that blame the deployment's OAuth client, not the user's grant (RFC 6749 §5.2
 * `invalid_client`, `unauthorized_client`, `unsupported_grant_type`; Slack `invalid_client_id`,
 * `bad_client_secret`; GitHub `incorrect_client_credentials`). Re-authorizing would not help (the
 * same client would mint the new grant), so the auth config stays active and the error is recorded.
 */
const CLIENT_MISCONFIGURED = new Set([
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_client_id',
  'bad_client_secret',
  'incorrect_client_credentials',
]);

/** Recorded when an expiring access token has no refresh token, so the background sweep skips the row. */
export const NO_REFRESH_TOKEN = 'no_refresh_token';

/** How a refresh ended. `authConfig` is the row as it is now. */
export type RefreshOutcome =
  | { kind: 'refreshed' | 'already_refreshed' | 'not_needed' | 'not_refreshable'; authConfig: AuthConfigRow }
  | { kind: 'reauthorization_required'; authConfig: AuthConfigRow }
  | {
      kind: 'unavailable';
      authConfig: AuthConfigRow;
      errorCode: string;
      /** Set when the provider asked for a wait longer than the refresh budget: ask again after this. */
      retryAfterSeconds?: number | undefined;
      /** Set when an operator, not the user, must act (the deployment's OAuth client was refused). */
      clientMisconfigured?: boolean | undefined;
    };

/** Options of {@link refreshAuthConfig}. */
export interface RefreshOptions {
  /** Refresh even if the token does not look expired (the tool server refused it). */
  force: boolean;
  /** Refresh when the token expires within this much, even if the method's window is shorter (the sweep: its interval plus a margin). */
  minWindowMs?: number | undefined;
}

/**
 * Whether an access token expires within the refresh window: the method's (or `minWindowMs`, if
 * longer), but at most half the token's lifetime, so short-lived tokens are not refreshed on every call.
 */
export function needsRefresh(row: AuthConfigRow, method: OAuth2AuthMethod, now: Date, minWindowMs = 0): boolean {
  if (!row.accessTokenExpiresAt) return false;
  const expiresAt = row.accessTokenExpiresAt.getTime();
  const lifetime = expiresAt - (row.lastRefreshedAt ?? row.createdAt).getTime();
  const wanted = Math.max((method.refreshWindowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS) * 1000, minWindowMs);
  const window = Math.min(wanted, Math.max(0, lifetime / 2));
  return expiresAt - now.getTime() <= window;
}

const inFlight = new Map<string, Promise<RefreshOutcome>>();

/**
 * Refreshes an auth config's access token (RFC 6749 §6), single-flight in this process and across
 * processes: callers that saw the same credentials version share one refresh; after taking the
 * lock the row is read again, so a caller that waited uses the token the winner stored. A rotated
 * refresh token is stored (committed) before anyone gets the new access token; a response without
 * one keeps the old. A gone grant (`invalid_grant` and its provider forms) turns the auth config
 * `reauthorization_required` after one try, unless the credentials changed meanwhile (a
 * re-authorization wins over a late failure of the old grant). Transient failures (5xx, 429,
 * timeouts) are retried with backoff within {@link refreshBudgetMs}, honouring `Retry-After` when
 * it fits, and change nothing but `last_error`.
 *
 * @param seenVersion the `credentialsVersion` the caller found stale.
 * @param force refresh even if the token does not look expired (the tool server refused it).
 * @throws ToolCallError (`token_refresh_failed`) when the refresh failed, the current access token
 *   is unusable (expired, or `force`), and the caller must be told something more useful than "try
 *   again shortly": the deployment's OAuth client was refused, or the provider asked for a long wait.
 */
export function refreshAuthConfig(
  context: ServerContext,
  projectId: string,
  authConfigId: string,
  seenVersion: number,
  force: boolean,
  options: Omit<RefreshOptions, 'force'> = {},
): Promise<RefreshOutcome> {
  const key = `${authConfigId}@${seenVersion}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = withAuthConfigLock(context, authConfigId, async (db) => {
      const webhookEvents: string[] = [];
      const outcome = await refreshLocked(context, db, projectId, authConfigId, seenVersion, { ...options, force }, webhookEvents);
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
  return pending.then((outcome) => {
    const explanation = outcome.kind === 'unavailable' && (force || isExpired(outcome.authConfig, context.clock.now())) ? explain(outcome) : undefined;
    if (explanation) throw new ToolCallError('token_refresh_failed', explanation);
    return outcome;
  });
}

function isExpired(row: AuthConfigRow, now: Date): boolean {
  return row.accessTokenExpiresAt !== null && row.accessTokenExpiresAt.getTime() <= now.getTime();
}

/** A message for the app (and its model) that says who must act; never a provider body. */
function explain(outcome: Extract<RefreshOutcome, { kind: 'unavailable' }>): string | undefined {
  const { providerId, deploymentId } = outcome.authConfig;
  if (outcome.clientMisconfigured) {
    return (
      `${providerId} refused the OAuth client of deployment ${deploymentId} when refreshing the user's token (${outcome.errorCode}). ` +
      `Fix the deployment's oauth_client (client id and secret, and that the ${providerId} app may use refresh tokens); ` +
      'the user does not need to authorize again.'
    );
  }
  if (outcome.retryAfterSeconds !== undefined) {
    return `${providerId} is limiting token refreshes (${outcome.errorCode}); try again after ${outcome.retryAfterSeconds} s.`;
  }
  return undefined;
}

async function refreshLocked(
  context: ServerContext,
  db: Database,
  projectId: string,
  authConfigId: string,
  seenVersion: number,
  options: RefreshOptions,
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
    return { kind: 'not_refreshable', authConfig: await markNotRefreshable(context, db, row) };
  }
  if (!options.force && !needsRefresh(row, method, context.clock.now(), options.minWindowMs)) return { kind: 'not_needed', authConfig: row };

  const deployment = await getDeployment(context, projectId, row.deploymentId);
  const resolved = await resolveAuthorizationServer(context, method, definition.mcpServer);
  const authorizationServer = resolved.metadata;
  const client: oauth.Client = { client_id: deployment.oauthClientId ?? '' };
  const clientSecret = openClientSecret(context, deployment);
  const clientAuth =
    clientSecret === undefined
      ? oauth.None()
      : method.tokenEndpointAuthMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(clientSecret)
        : oauth.ClientSecretBasic(clientSecret);

  // Real time, not context.clock: this bounds network waits (and the lock held across them).
  const deadline = performance.now() + refreshBudgetMs(context);
  let lastErrorCode = 'token_endpoint_unavailable';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    let response: Response;
    try {
      response = await oauth.refreshTokenGrantRequest(
        authorizationServer,
        client,
        clientAuth,
        credentials.refreshToken,
        {
          ...requestOptions(context, authorizationServer.token_endpoint, AbortSignal.timeout(Math.min(context.tokenRequestTimeoutMs, remaining))),
          // RFC 8707 §2.2: a refreshed token is for the same MCP server.
          ...(resolved.resource ? { additionalParameters: { resource: resolved.resource } } : {}),
        },
      );
    } catch (error) {
      lastErrorCode = (error as Error).name === 'TimeoutError' ? 'token_endpoint_timeout' : 'token_endpoint_unavailable';
      if (!(await pauseWithin(deadline, backoffMs(attempt), attempt))) break;
      continue;
    }
    if (response.status === 429 || response.status >= 500) {
      lastErrorCode = response.status === 429 ? 'token_endpoint_rate_limited' : 'token_endpoint_unavailable';
      await response.body?.cancel().catch(() => {});
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
      if (retryAfterMs !== undefined && retryAfterMs > deadline - performance.now()) {
        // The provider wants a longer wait than this request may take: give up now, say when to come back.
        return recordFailure(context, db, row, lastErrorCode, { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) });
      }
      if (!(await pauseWithin(deadline, retryAfterMs ?? backoffMs(attempt), attempt))) break;
      continue;
    }
    const parsed = await parseRefreshResponse(authorizationServer, client, method, response);
    if (parsed.kind === 'tokens') return storeRefreshedCredentials(context, db, row, credentials, parsed, webhookEvents);
    const code = parsed.kind === 'refused' ? parsed.code : 'invalid_token_response';
    if (GRANT_GONE.has(code)) return markReauthorizationRequired(context, db, row, code, webhookEvents);
    return recordFailure(context, db, row, code, { clientMisconfigured: CLIENT_MISCONFIGURED.has(code) });
  }
  return recordFailure(context, db, row, lastErrorCode, {});
}

/** `Retry-After` (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an HTTP-date; undefined if absent or unreadable. */
function parseRetryAfterMs(retryAfter: string | null): number | undefined {
  if (!retryAfter) return undefined;
  const seconds = /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : undefined;
  const ms = seconds !== undefined ? seconds * 1000 : new Date(retryAfter).getTime() - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

function backoffMs(attempt: number): number {
  return 200 * 2 ** (attempt - 1) + Math.random() * 100;
}

/** Waits before the next attempt; false (without waiting) when there is no next attempt or the wait would overrun the budget. */
async function pauseWithin(deadline: number, ms: number, attempt: number): Promise<boolean> {
  if (attempt >= MAX_ATTEMPTS || performance.now() + ms >= deadline) return false;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return true;
}

async function storeRefreshedCredentials(
  context: ServerContext,
  db: Database,
  row: AuthConfigRow,
  previous: Extract<Credentials, { type: 'oauth2' }>,
  result: Extract<RefreshResponse, { kind: 'tokens' }>,
  webhookEvents: string[],
): Promise<RefreshOutcome> {
  const now = context.clock.now();
  const expiresAt = result.expiresInSeconds !== undefined ? new Date(now.getTime() + result.expiresInSeconds * 1000) : undefined;
  const credentials: Credentials = {
    type: 'oauth2',
    accessToken: result.accessToken,
    tokenType: result.tokenType,
    // RFC 6749 §6: the server MAY issue a new refresh token; without one the old one stays valid.
    refreshToken: result.refreshToken ?? previous.refreshToken,
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
  if (!updated) return changedMeanwhile(db, row);
  await recordAuthConfigEvent(db, { projectId: row.projectId, authConfigId: row.id, type: 'refreshed', at: now });
  const eventId = await emitWebhookEvent(db, { projectId: row.projectId, type: 'auth_config.refreshed', data: authConfigToWire(updated) });
  if (eventId) webhookEvents.push(eventId);
  context.logger.info({ authConfigId: row.id, version: updated.credentialsVersion, rotated: Boolean(result.refreshToken) }, 'auth config refreshed');
  return { kind: 'refreshed', authConfig: updated };
}

/**
 * The credentials this refresh started from were replaced while it ran (a re-authorization, which
 * does not take the refresh lock): whatever the old grant did no longer applies to the row.
 */
async function changedMeanwhile(db: Database, row: AuthConfigRow): Promise<RefreshOutcome> {
  const [current] = await db.select().from(authConfigs).where(eq(authConfigs.id, row.id)).limit(1);
  if (!current) throw notFound('provider auth config', row.id);
  return current.status === 'active' ? { kind: 'already_refreshed', authConfig: current } : { kind: 'reauthorization_required', authConfig: current };
}

async function markReauthorizationRequired(
  context: ServerContext,
  db: Database,
  row: AuthConfigRow,
  errorCode: string,
  webhookEvents: string[],
): Promise<RefreshOutcome> {
  const now = context.clock.now();
  // Only the credentials that failed: a re-authorization that committed meanwhile has a newer version.
  const [updated] = await db
    .update(authConfigs)
    .set({ status: 'reauthorization_required', lastErrorCode: errorCode, lastErrorAt: now, updatedAt: now })
    .where(and(eq(authConfigs.id, row.id), eq(authConfigs.status, 'active'), eq(authConfigs.credentialsVersion, row.credentialsVersion)))
    .returning();
  if (!updated) return changedMeanwhile(db, row);
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
  return { kind: 'reauthorization_required', authConfig: updated };
}

async function recordFailure(
  context: ServerContext,
  db: Database,
  row: AuthConfigRow,
  errorCode: string,
  detail: { retryAfterSeconds?: number; clientMisconfigured?: boolean },
): Promise<RefreshOutcome> {
  const now = context.clock.now();
  const [updated] = await db
    .update(authConfigs)
    .set({ lastErrorCode: errorCode, lastErrorAt: now, updatedAt: now })
    .where(and(eq(authConfigs.id, row.id), eq(authConfigs.credentialsVersion, row.credentialsVersion)))
    .returning();
  if (!updated) return changedMeanwhile(db, row);
  await recordAuthConfigEvent(db, { projectId: row.projectId, authConfigId: row.id, type: 'refresh_failed', errorCode, at: now });
  context.logger.warn({ authConfigId: row.id, errorCode, ...detail }, 'refresh failed; the auth config stays active');
  return { kind: 'unavailable', authConfig: updated, errorCode, ...detail };
}

/** Notes once that an expiring token cannot be refreshed, so the background sweep stops picking the row. */
async function markNotRefreshable(context: ServerContext, db: Database, row: AuthConfigRow): Promise<AuthConfigRow> {
  if (!row.accessTokenExpiresAt || row.lastErrorCode === NO_REFRESH_TOKEN) return row;
  const now = context.clock.now();
  const [updated] = await db
    .update(authConfigs)
    .set({ lastErrorCode: NO_REFRESH_TOKEN, lastErrorAt: now, updatedAt: now })
    .where(and(eq(authConfigs.id, row.id), eq(authConfigs.credentialsVersion, row.credentialsVersion)))
    .returning();
  return updated ?? row;
}
