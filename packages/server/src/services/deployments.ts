import { and, count, eq, sql } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { GatehouseError, invalidRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import type { Database } from '../store/database.js';
import { authConfigs, providerDeployments, sessions, setupSessions } from '../store/schema.js';
import { setupSessionToWire } from '../http/serializers.js';
import { emitWebhookEvent, notifyWebhookDue } from './webhook-events.js';
import { getProvider } from './providers.js';

/** A deployment row as stored (the client secret only as ciphertext). */
export type DeploymentRow = typeof providerDeployments.$inferSelect;

/** Fields a caller sets on a deployment. */
export interface DeploymentInput {
  providerId: string;
  name?: string | undefined;
  oauthClient?: { clientId: string; clientSecret?: string | undefined } | null | undefined;
  /** The operator's own credentials for every user of this deployment (e.g. one Exa API key). */
  credentials?: DeploymentCredentials | null | undefined;
  metadata?: Record<string, string> | undefined;
}

/** Deployment-level credentials: used for tool calls of sessions that name no auth config. */
export interface DeploymentCredentials {
  apiKey: string;
}

/** AAD of a deployment's credentials. */
export function deploymentCredentialsAad(projectId: string, deploymentId: string): string {
  return `gatehouse:v1:${projectId}:${deploymentId}:credentials`;
}

/** AAD of a deployment's client secret: binds the ciphertext to this project and deployment. */
export function clientSecretAad(projectId: string, deploymentId: string): string {
  return `gatehouse:v1:${projectId}:${deploymentId}:oauth_client_secret`;
}

/** The redirect URI to register with the provider for this deployment. */
export function callbackUrlFor(context: ServerContext, deploymentId: string): string {
  return `${context.publicUrl}/oauth/callback/${deploymentId}`;
}

/** Creates a deployment of a provider in the project; the client secret is sealed before it is stored. */
export async function createDeployment(context: ServerContext, projectId: string, input: DeploymentInput): Promise<DeploymentRow> {
  const { definition } = await getProvider(context, projectId, input.providerId).catch((error) => {
    throw invalidRequest(error instanceof Error ? error.message : 'unknown provider', [{ path: 'provider_id', message: 'unknown provider' }]);
  });
  const usesOAuth = definition.authMethods.some((method) => method.type === 'oauth2');
  if (input.oauthClient && !usesOAuth) {
    throw invalidRequest(`Provider "${definition.id}" has no OAuth auth method; drop oauth_client.`, [
      { path: 'oauth_client', message: 'not used by this provider' },
    ]);
  }
  const id = newId('deployment');
  const sealed = input.oauthClient?.clientSecret
    ? context.keyring.seal(input.oauthClient.clientSecret, clientSecretAad(projectId, id))
    : undefined;
  const sealedCredentials = input.credentials
    ? context.keyring.seal(JSON.stringify(input.credentials), deploymentCredentialsAad(projectId, id))
    : undefined;
  const [row] = await context.db
    .insert(providerDeployments)
    .values({
      id,
      credentialsCiphertext: sealedCredentials?.ciphertext ?? null,
      credentialsKeyId: sealedCredentials?.keyId ?? null,
      projectId,
      providerId: definition.id,
      name: input.name ?? definition.name,
      oauthClientId: input.oauthClient?.clientId ?? null,
      oauthClientSecretCiphertext: sealed?.ciphertext ?? null,
      oauthClientSecretKeyId: sealed?.keyId ?? null,
      metadata: input.metadata ?? {},
    })
    .returning();
  return row!;
}

/** A deployment of the project, or 404. */
export async function getDeployment(context: ServerContext, projectId: string, deploymentId: string): Promise<DeploymentRow> {
  const [row] = await context.db
    .select()
    .from(providerDeployments)
    .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, deploymentId)))
    .limit(1);
  if (!row) throw notFound('provider deployment', deploymentId);
  return row;
}

/** The project's deployments, newest first, optionally of one provider. */
export async function listDeployments(
  context: ServerContext,
  projectId: string,
  filter: { providerId?: string | undefined },
  page: PageRequest,
): Promise<Page<DeploymentRow>> {
  const rows = await context.db
    .select()
    .from(providerDeployments)
    .where(
      and(
        eq(providerDeployments.projectId, projectId),
        filter.providerId ? eq(providerDeployments.providerId, filter.providerId) : undefined,
        pageCondition(providerDeployments, page.cursor),
      ),
    )
    .orderBy(...pageOrder(providerDeployments))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => row);
}

/** Changes name, OAuth client or metadata. An `oauthClient` without a secret keeps the stored secret. */
export async function updateDeployment(
  context: ServerContext,
  projectId: string,
  deploymentId: string,
  changes: Omit<DeploymentInput, 'providerId'>,
): Promise<DeploymentRow> {
  const current = await getDeployment(context, projectId, deploymentId);
  const values: Partial<typeof providerDeployments.$inferInsert> = { updatedAt: context.clock.now() };
  if (changes.name !== undefined) values.name = changes.name;
  if (changes.metadata !== undefined) values.metadata = changes.metadata;
  if (changes.credentials === null) {
    Object.assign(values, { credentialsCiphertext: null, credentialsKeyId: null });
  } else if (changes.credentials) {
    const sealed = context.keyring.seal(JSON.stringify(changes.credentials), deploymentCredentialsAad(projectId, current.id));
    Object.assign(values, { credentialsCiphertext: sealed.ciphertext, credentialsKeyId: sealed.keyId });
  }
  if (changes.oauthClient === null) {
    Object.assign(values, { oauthClientId: null, oauthClientSecretCiphertext: null, oauthClientSecretKeyId: null });
  } else if (changes.oauthClient) {
    values.oauthClientId = changes.oauthClient.clientId;
    if (changes.oauthClient.clientSecret) {
      const sealed = context.keyring.seal(changes.oauthClient.clientSecret, clientSecretAad(projectId, current.id));
      values.oauthClientSecretCiphertext = sealed.ciphertext;
      values.oauthClientSecretKeyId = sealed.keyId;
    }
  }
  const [row] = await context.db
    .update(providerDeployments)
    .set(values)
    .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, deploymentId)))
    .returning();
  if (!row) throw notFound('provider deployment', deploymentId);
  // Its own credentials (an operator API key) may have changed: tool calls use the new ones at once.
  context.toolGateway.forget(deploymentId);
  return row;
}

/** The `error_code` of a setup session that was pending when its deployment was deleted. */
export const DEPLOYMENT_DELETED = 'deployment_deleted';

/**
 * Deletes a deployment, refusing with 409 while anything still depends on it:
 * - auth configs: deleting one revokes its tokens at the provider (RFC 7009), which the app must
 *   choose to do (`DELETE /v1/providers/auth-configs/{id}`); a deployment deleted under them would
 *   leave stored tokens that nothing can use or revoke any more;
 * - active sessions naming it: their tool calls would fail halfway through an agent run.
 *
 * Setup sessions still pending fail as `deployment_deleted` in the same transaction (their link
 * could never complete), and every waiting `waitForSetupSession` is woken at once.
 *
 * @throws GatehouseError `not_found` for an unknown deployment, `conflict` while it is in use
 */
export async function deleteDeployment(context: ServerContext, projectId: string, deploymentId: string): Promise<void> {
  const now = context.clock.now();
  const { failed, webhookEventIds } = await context.db.transaction(async (tx) => {
    const [deployment] = await tx
      .select({ id: providerDeployments.id })
      .from(providerDeployments)
      .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, deploymentId)))
      .for('update');
    if (!deployment) throw notFound('provider deployment', deploymentId);
    // Pending sessions are failed before auth configs are counted: a completion that committed first
    // is then counted (409, all rolled back), and one that commits later finds its session no longer
    // pending and creates nothing.
    const failedRows = await tx
      .update(setupSessions)
      .set({
        status: 'failed',
        updatedAt: now,
        errorCode: DEPLOYMENT_DELETED,
        errorMessage: `The provider deployment ${deploymentId} was deleted before this authorization finished.`,
        oauthStateHash: null,
        browserBindingHash: null,
        codeVerifierCiphertext: null,
        codeVerifierKeyId: null,
      })
      .where(and(eq(setupSessions.projectId, projectId), eq(setupSessions.deploymentId, deploymentId), eq(setupSessions.status, 'pending')))
      .returning();
    const [{ authConfigCount }] = (await tx
      .select({ authConfigCount: count() })
      .from(authConfigs)
      .where(and(eq(authConfigs.projectId, projectId), eq(authConfigs.deploymentId, deploymentId)))) as [{ authConfigCount: number }];
    const [{ sessionCount }] = (await tx
      .select({ sessionCount: count() })
      .from(sessions)
      .where(
        and(
          eq(sessions.projectId, projectId),
          eq(sessions.status, 'active'),
          sql`${sessions.providers} @> ${JSON.stringify([{ deploymentId }])}::jsonb`,
        ),
      )) as [{ sessionCount: number }];
    if (authConfigCount > 0 || sessionCount > 0) throw inUseConflict(deploymentId, Number(authConfigCount), Number(sessionCount));
    await tx.delete(providerDeployments).where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, deploymentId)));
    const eventIds: Array<string | undefined> = [];
    for (const row of failedRows) {
      const data = setupSessionToWire({ session: row, authConfig: null }, context.publicUrl);
      eventIds.push(await emitWebhookEvent(tx as unknown as Database, { projectId, type: 'setup_session.failed', data, occurredAt: now }));
    }
    return { failed: failedRows, webhookEventIds: eventIds.filter(Boolean) };
  });
  // After the commit, so a woken waiter reads the failed state (on any process).
  await Promise.all(failed.map((row) => context.notifier.publish('setup_session_changed', row.id)));
  if (webhookEventIds.length > 0) await notifyWebhookDue(context);
  if (failed.length > 0) context.logger.info({ deploymentId, failedSetupSessions: failed.length }, 'deployment deleted; pending setup sessions failed');
}

function inUseConflict(deploymentId: string, authConfigCount: number, sessionCount: number): GatehouseError {
  const reasons: string[] = [];
  if (authConfigCount > 0) {
    reasons.push(
      `${authConfigCount} auth config${authConfigCount === 1 ? '' : 's'} depend${authConfigCount === 1 ? 's' : ''} on it ` +
        '(delete them first with DELETE /v1/providers/auth-configs/{id}; deleting an auth config revokes its tokens at the provider)',
    );
  }
  if (sessionCount > 0) {
    reasons.push(`${sessionCount} active session${sessionCount === 1 ? ' uses' : 's use'} it (close ${sessionCount === 1 ? 'it' : 'them'} first)`);
  }
  return new GatehouseError('conflict', `Provider deployment ${deploymentId} cannot be deleted: ${reasons.join('; ')}.`);
}

/** The deployment's client secret in plaintext, for the token request only. */
export function openClientSecret(context: ServerContext, deployment: DeploymentRow): string | undefined {
  if (!deployment.oauthClientSecretCiphertext || !deployment.oauthClientSecretKeyId) return undefined;
  return context.keyring.open(
    { keyId: deployment.oauthClientSecretKeyId, ciphertext: deployment.oauthClientSecretCiphertext },
    clientSecretAad(deployment.projectId, deployment.id),
  );
}

/** The deployment's own credentials in plaintext, for tool calls only. */
export function openDeploymentCredentials(context: ServerContext, deployment: DeploymentRow): DeploymentCredentials | undefined {
  if (!deployment.credentialsCiphertext || !deployment.credentialsKeyId) return undefined;
  const json = context.keyring.open(
    { keyId: deployment.credentialsKeyId, ciphertext: deployment.credentialsCiphertext },
    deploymentCredentialsAad(deployment.projectId, deployment.id),
  );
  return JSON.parse(json) as DeploymentCredentials;
}
