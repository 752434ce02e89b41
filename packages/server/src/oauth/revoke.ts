import * as oauth from 'oauth4webapi';
import type { ServerContext } from '../context.js';
import { openCredentials, type AuthConfigRow } from '../services/auth-configs.js';
import { getDeployment, openClientSecret } from '../services/deployments.js';
import { findAuthMethod, getProvider } from '../services/providers.js';
import { requestOptions, resolveAuthorizationServer } from './authorization-server.js';
import { providerErrorCode } from './provider-error-code.js';

const REVOCATION_TIMEOUT_MS = 10_000;

/** What revoking an auth config's tokens at the provider achieved. */
export interface RevocationResult {
  /** False when the provider has no RFC 7009 endpoint or the credentials are not an OAuth grant. */
  attempted: boolean;
  /** True when the provider answered 200 to every revocation request (RFC 7009 §2.2). */
  confirmed: boolean;
  /** Why it was not confirmed, as a short code; never the provider's body. */
  error: string | null;
}

/**
 * Revokes an auth config's tokens at the provider (RFC 7009): the refresh token first (which, per
 * §2.1, also ends the access tokens of the same grant at most servers), then the access token.
 */
export async function revokeAtProvider(context: ServerContext, row: AuthConfigRow): Promise<RevocationResult> {
  try {
    const { definition } = await getProvider(context, row.projectId, row.providerId);
    const method = findAuthMethod(definition, row.authMethodId);
    const credentials = openCredentials(context, row);
    if (method.type !== 'oauth2' || credentials.type !== 'oauth2') return { attempted: false, confirmed: false, error: null };
    const authorizationServer = (await resolveAuthorizationServer(context, method, definition.mcpServer)).metadata;
    if (!authorizationServer.revocation_endpoint) return { attempted: false, confirmed: false, error: 'no_revocation_endpoint' };

    const deployment = await getDeployment(context, row.projectId, row.deploymentId);
    const client: oauth.Client = { client_id: deployment.oauthClientId ?? '' };
    const clientSecret = openClientSecret(context, deployment);
    const clientAuth =
      clientSecret === undefined
        ? oauth.None()
        : method.tokenEndpointAuthMethod === 'client_secret_post'
          ? oauth.ClientSecretPost(clientSecret)
          : oauth.ClientSecretBasic(clientSecret);
    const tokens: Array<[string, string]> = [];
    if (credentials.refreshToken) tokens.push([credentials.refreshToken, 'refresh_token']);
    tokens.push([credentials.accessToken, 'access_token']);
    for (const [token, hint] of tokens) {
      const response = await oauth.revocationRequest(authorizationServer, client, clientAuth, token, {
        ...requestOptions(context, authorizationServer.revocation_endpoint, AbortSignal.timeout(REVOCATION_TIMEOUT_MS)),
        additionalParameters: { token_type_hint: hint },
      });
      await oauth.processRevocationResponse(response);
    }
    return { attempted: true, confirmed: true, error: null };
  } catch (error) {
    const code = error instanceof oauth.ResponseBodyError ? providerErrorCode(error.error, 'provider_error') : (error as Error).name === 'TimeoutError' ? 'timeout' : 'revocation_failed';
    context.logger.warn({ authConfigId: row.id, code }, 'revocation at the provider was not confirmed');
    return { attempted: true, confirmed: false, error: code };
  }
}
