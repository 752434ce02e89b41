import { and, eq } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { invalidRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import { providerDeployments } from '../store/schema.js';
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
  return row;
}

/** Deletes a deployment. */
export async function deleteDeployment(context: ServerContext, projectId: string, deploymentId: string): Promise<void> {
  const deleted = await context.db
    .delete(providerDeployments)
    .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, deploymentId)))
    .returning({ id: providerDeployments.id });
  if (deleted.length === 0) throw notFound('provider deployment', deploymentId);
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
