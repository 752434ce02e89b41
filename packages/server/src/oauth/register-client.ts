import { and, eq, isNull } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';
import type { OAuth2AuthMethod, ProviderDefinition } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import { invalidRequest } from '../errors.js';
import { withAuthConfigLock } from '../services/auth-config-lock.js';
import { callbackUrlFor, clientSecretAad } from '../services/deployments.js';
import type { Database } from '../store/database.js';
import { providerDeployments } from '../store/schema.js';
import { requestOptions, resolveAuthorizationServer } from './authorization-server.js';
import { McpDiscoveryError } from './protected-resource.js';
import { providerErrorCode } from './provider-error-code.js';

const REGISTRATION_TIMEOUT_MS = 10_000;

/**
 * Gives a deployment of a discovery-`mcp` provider an OAuth client when it has none: discovers the
 * MCP server's authorization server and registers a client there (RFC 7591 §3), with the
 * deployment's callback URL as its only redirect URI. The client id and secret are stored on the
 * deployment like a configured `oauth_client` (the secret sealed), so this happens once per
 * deployment, not per setup session: concurrent callers, in this process or another, wait on one
 * lock and the second finds the client the first stored.
 *
 * @throws GatehouseError `invalid_request` naming what to do (configure `oauth_client`) when
 *   discovery or registration is impossible. A 400 rather than a 5xx on purpose: 5xx messages are
 *   not shown on the wire, and the operator needs this one to act.
 */
export async function ensureRegisteredClient(
  context: ServerContext,
  projectId: string,
  deploymentId: string,
  definition: ProviderDefinition,
  method: OAuth2AuthMethod,
): Promise<void> {
  // Another lock space than auth configs' (`pde_` ids never equal `pac_` ones): one registration at a time per deployment.
  await withAuthConfigLock(context, `registration:${deploymentId}`, async (db) => {
    const [deployment] = await db
      .select()
      .from(providerDeployments)
      .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, deploymentId)))
      .limit(1);
    if (!deployment || deployment.oauthClientId) return;
    await registerAndStore(context, db, deployment, definition, method);
  });
}

async function registerAndStore(
  context: ServerContext,
  db: Database,
  deployment: typeof providerDeployments.$inferSelect,
  definition: ProviderDefinition,
  method: OAuth2AuthMethod,
): Promise<void> {
  const refuse = (why: string) =>
    invalidRequest(
      `Deployment ${deployment.id} of "${definition.id}" has no OAuth client and Gatehouse could not register one: ${why} ` +
        'Register a client with the provider (redirect URI: the deployment\'s callback_url) and set oauth_client on the deployment.',
      [{ path: 'provider_deployment_id', message: 'deployment has no OAuth client' }],
    );
  let metadata: oauth.AuthorizationServer;
  try {
    metadata = (await resolveAuthorizationServer(context, method, definition.mcpServer)).metadata;
  } catch (error) {
    if (error instanceof McpDiscoveryError) throw refuse(error.message);
    throw error;
  }
  if (!metadata.registration_endpoint) {
    throw refuse(`the authorization server ${metadata.issuer} offers no dynamic client registration (RFC 7591).`);
  }
  // RFC 8414 §2: without a list, client_secret_basic is the default. A secret is preferred; a public
  // client (none) is still bound by PKCE S256, which every authorization request uses.
  const supported = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  const preferred = method.tokenEndpointAuthMethod ?? 'client_secret_basic';
  const authMethod = supported.includes(preferred) ? preferred : supported.includes('none') ? 'none' : undefined;
  if (!authMethod) {
    throw refuse(`the authorization server supports neither ${preferred} nor none at its token endpoint (${supported.slice(0, 5).join(', ')}).`);
  }

  let client: Awaited<ReturnType<typeof oauth.processDynamicClientRegistrationResponse>>;
  try {
    const response = await oauth.dynamicClientRegistrationRequest(
      metadata,
      {
        redirect_uris: [callbackUrlFor(context, deployment.id)],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: authMethod,
        application_type: 'web',
        client_name: `Gatehouse (${deployment.name}, ${deployment.id})`,
      },
      requestOptions(context, metadata.registration_endpoint, AbortSignal.timeout(REGISTRATION_TIMEOUT_MS)),
    );
    client = await oauth.processDynamicClientRegistrationResponse(response);
  } catch (error) {
    // Never the response body: a registration answer carries the client secret.
    const reason =
      error instanceof oauth.ResponseBodyError
        ? `the registration endpoint refused it (${providerErrorCode(error.error, 'unrecognized error')}).`
        : `the registration endpoint ${metadata.registration_endpoint} did not answer with a client.`;
    context.logger.warn({ deploymentId: deployment.id, reason }, 'dynamic client registration failed');
    throw refuse(reason);
  }
  const clientSecret = typeof client.client_secret === 'string' && authMethod !== 'none' ? client.client_secret : undefined;
  const sealed = clientSecret ? context.keyring.seal(clientSecret, clientSecretAad(deployment.projectId, deployment.id)) : undefined;
  await db
    .update(providerDeployments)
    .set({
      oauthClientId: client.client_id,
      oauthClientSecretCiphertext: sealed?.ciphertext ?? null,
      oauthClientSecretKeyId: sealed?.keyId ?? null,
      updatedAt: context.clock.now(),
    })
    // Only if no client appeared meanwhile (one set by PATCH wins over a registration).
    .where(and(eq(providerDeployments.id, deployment.id), isNull(providerDeployments.oauthClientId)));
  context.logger.info({ deploymentId: deployment.id, clientId: client.client_id, tokenEndpointAuthMethod: authMethod }, 'registered an OAuth client (RFC 7591)');
}
