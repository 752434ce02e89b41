import * as oauth from 'oauth4webapi';
import type { OAuth2AuthMethod } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';

const DISCOVERY_TTL_MS = 10 * 60_000;
const DISCOVERY_TIMEOUT_MS = 10_000;
const discoveryCache = new Map<string, { metadata: oauth.AuthorizationServer; fetchedAt: number }>();

/** Options every oauth4webapi request of this server takes: our fetch, and http only where allowed. */
export function requestOptions(context: ServerContext, signal?: AbortSignal) {
  return {
    [oauth.customFetch]: context.fetch,
    [oauth.allowInsecureRequests]: context.allowPrivateNetwork,
    signal: signal ?? AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
  };
}

/**
 * The authorization server of an OAuth auth method. With an `issuer`, its RFC 8414 / OIDC metadata is
 * discovered (cached) so that RFC 9207 `iss` checks apply when the server supports them; the
 * endpoints the provider definition names always win over discovered ones.
 */
export async function resolveAuthorizationServer(
  context: ServerContext,
  method: OAuth2AuthMethod,
): Promise<oauth.AuthorizationServer> {
  const configured: oauth.AuthorizationServer = {
    // Without a published issuer, the authorization endpoint's origin stands in: oauth4webapi needs one.
    issuer: method.issuer ?? new URL(method.authorizationUrl).origin,
    authorization_endpoint: method.authorizationUrl,
    token_endpoint: method.tokenUrl,
    ...(method.revocationUrl ? { revocation_endpoint: method.revocationUrl } : {}),
    code_challenge_methods_supported: ['S256'],
  };
  if (!method.issuer) return configured;
  const discovered = await discover(context, method.issuer);
  return { ...discovered, ...configured };
}

async function discover(context: ServerContext, issuer: string): Promise<oauth.AuthorizationServer> {
  const cached = discoveryCache.get(issuer);
  if (cached && Date.now() - cached.fetchedAt < DISCOVERY_TTL_MS) return cached.metadata;
  const issuerUrl = new URL(issuer);
  // OIDC discovery first (most providers with an issuer are OpenID providers), then RFC 8414.
  let response = await oauth.discoveryRequest(issuerUrl, { ...requestOptions(context), algorithm: 'oidc' });
  if (!response.ok) response = await oauth.discoveryRequest(issuerUrl, { ...requestOptions(context), algorithm: 'oauth2' });
  const metadata = await oauth.processDiscoveryResponse(issuerUrl, response);
  discoveryCache.set(issuer, { metadata, fetchedAt: Date.now() });
  return metadata;
}

/** Forgets discovered metadata (tests that restart an upstream on a new port). */
export function clearDiscoveryCache(): void {
  discoveryCache.clear();
}
