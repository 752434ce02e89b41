import * as oauth from 'oauth4webapi';
import type { OAuth2AuthMethod } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';

const DISCOVERY_TTL_MS = 10 * 60_000;
const DISCOVERY_TIMEOUT_MS = 10_000;
const discoveryCache = new Map<string, { metadata: oauth.AuthorizationServer; fetchedAt: number }>();

/**
 * Whether oauth4webapi may send a plain `http:` request to `endpoint`: exactly when the outbound guard
 * would let that URL through (`GATEHOUSE_ALLOW_PRIVATE_NETWORK`, or the host on
 * `GATEHOUSE_OUTBOUND_ALLOWLIST`). Asking the same policy keeps the two fences in step: an
 * allow-listed `http://idp.internal` works for OAuth as it does for tool servers, and a URL the
 * guard refuses is refused by oauth4webapi before the guard sees it. Addresses a name resolves to
 * are still checked by the guard when it connects.
 */
export function insecureRequestAllowed(context: Pick<ServerContext, 'security'>, endpoint: string | URL | undefined): boolean {
  const policy = context.security.outboundPolicy;
  if (endpoint === undefined) return false;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:') return false;
  try {
    policy.checkUrl(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * Options every oauth4webapi request of this server takes: our fetch, a timeout, and plain http to
 * `endpoint` (the URL this request goes to) only where the outbound policy allows it.
 */
export function requestOptions(context: ServerContext, endpoint: string | URL | undefined, signal?: AbortSignal) {
  return {
    [oauth.customFetch]: context.fetch,
    [oauth.allowInsecureRequests]: insecureRequestAllowed(context, endpoint),
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
  let response = await oauth.discoveryRequest(issuerUrl, { ...requestOptions(context, issuerUrl), algorithm: 'oidc' });
  if (!response.ok) response = await oauth.discoveryRequest(issuerUrl, { ...requestOptions(context, issuerUrl), algorithm: 'oauth2' });
  const metadata = await oauth.processDiscoveryResponse(issuerUrl, response);
  discoveryCache.set(issuer, { metadata, fetchedAt: Date.now() });
  return metadata;
}

/** Forgets discovered metadata (tests that restart an upstream on a new port). */
export function clearDiscoveryCache(): void {
  discoveryCache.clear();
}
