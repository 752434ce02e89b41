import * as oauth from 'oauth4webapi';
import type { OAuth2AuthMethod, ProviderDefinition } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import { TtlCache } from '../gateway/ttl-cache.js';
import { OutboundRequestRefusedError } from '../security/outbound-guard.js';
import { discoverProtectedResource, McpDiscoveryError } from './protected-resource.js';

const DISCOVERY_TTL_MS = 10 * 60_000;
const DISCOVERY_TIMEOUT_MS = 10_000;
// Per process, by issuer and by MCP URL; a failed discovery is not kept, so the next request tries again.
const discoveryCache = new TtlCache<oauth.AuthorizationServer>(DISCOVERY_TTL_MS, 1_000);
const mcpDiscoveryCache = new TtlCache<ResolvedAuthorizationServer>(DISCOVERY_TTL_MS, 1_000);

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

/** An auth method's authorization server, and what the MCP discovery adds to it. */
export interface ResolvedAuthorizationServer {
  metadata: oauth.AuthorizationServer;
  /** The RFC 8707 `resource` every authorization and token request names (discovery `mcp` only). */
  resource: string | undefined;
  /** Scopes to request when the method lists none (the protected resource's `scopes_supported`). */
  defaultScopes: string[];
  /** Whether `metadata.issuer` was published by the server (discovered), so RFC 9207 `iss` applies. */
  discovered: boolean;
}

/**
 * The authorization server of an OAuth auth method. With an `issuer`, its RFC 8414 / OIDC metadata is
 * discovered (cached) so that RFC 9207 `iss` checks apply when the server supports them; the
 * endpoints the provider definition names always win over discovered ones. With `discovery: 'mcp'`,
 * everything comes from the provider's MCP server (see {@link discoverMcpAuthorization}).
 *
 * @param mcpServer the provider's tool server (its `url` is where discovery `mcp` starts).
 */
export async function resolveAuthorizationServer(
  context: ServerContext,
  method: OAuth2AuthMethod,
  mcpServer: ProviderDefinition['mcpServer'],
): Promise<ResolvedAuthorizationServer> {
  if (method.discovery === 'mcp') {
    if (!mcpServer || mcpServer.transport === 'stdio') throw new McpDiscoveryError('discovery "mcp" needs a remote MCP server URL.');
    return discoverMcpAuthorization(context, mcpServer.url);
  }
  // The schema requires both endpoints unless discovery is set.
  const configured: oauth.AuthorizationServer = {
    // Without a published issuer, the authorization endpoint's origin stands in: oauth4webapi needs one.
    issuer: method.issuer ?? new URL(method.authorizationUrl!).origin,
    authorization_endpoint: method.authorizationUrl!,
    token_endpoint: method.tokenUrl!,
    ...(method.revocationUrl ? { revocation_endpoint: method.revocationUrl } : {}),
    code_challenge_methods_supported: ['S256'],
  };
  if (!method.issuer) return { metadata: configured, resource: undefined, defaultScopes: [], discovered: false };
  const discovered = await discover(context, method.issuer);
  return { metadata: { ...discovered, ...configured }, resource: undefined, defaultScopes: [], discovered: true };
}

/**
 * The scopes an authorization request of `method` asks for: its own, or with discovery `mcp` and
 * none configured, the MCP server's `scopes_supported` (empty if discovery fails here: the hosted
 * page still renders, and starting the authorization reports the failure).
 */
export async function requestedScopes(context: ServerContext, method: OAuth2AuthMethod, mcpServer: ProviderDefinition['mcpServer']): Promise<string[]> {
  if (method.scopes.length > 0 || method.discovery !== 'mcp') return method.scopes;
  try {
    return (await resolveAuthorizationServer(context, method, mcpServer)).defaultScopes;
  } catch {
    return [];
  }
}

/**
 * The MCP authorization spec's discovery, from the MCP URL alone: RFC 9728 protected resource
 * metadata names the authorization server, whose RFC 8414 / OIDC metadata (issuer checked by
 * oauth4webapi) gives the endpoints. Cached like issuer discovery; failures are not cached.
 *
 * @throws McpDiscoveryError with a message for the operator
 */
export function discoverMcpAuthorization(context: ServerContext, mcpUrl: string): Promise<ResolvedAuthorizationServer> {
  return mcpDiscoveryCache.get(mcpUrl, () => discoverMcpAuthorizationNow(context, mcpUrl));
}

async function discoverMcpAuthorizationNow(context: ServerContext, mcpUrl: string): Promise<ResolvedAuthorizationServer> {
  const protectedResource = await discoverProtectedResource(context, mcpUrl);
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(protectedResource.authorizationServer);
    // Asked up front so that a refused address reads as the guard's reason, not as oauth4webapi's "only https".
    context.security.outboundPolicy.checkUrl(issuerUrl);
  } catch (error) {
    const reason = error instanceof OutboundRequestRefusedError ? error.message : 'it is not a URL';
    throw new McpDiscoveryError(`The MCP server names the authorization server ${protectedResource.authorizationServer.slice(0, 200)}, which was refused: ${reason}`);
  }
  let metadata: oauth.AuthorizationServer;
  try {
    metadata = await discover(context, protectedResource.authorizationServer);
  } catch (error) {
    const reason = error instanceof OutboundRequestRefusedError ? error.message : (error as Error).message.slice(0, 200);
    throw new McpDiscoveryError(`The metadata (RFC 8414 / OpenID Connect) of the authorization server ${issuerUrl.href} could not be read: ${reason}`);
  }
  if (!metadata.authorization_endpoint || !metadata.token_endpoint) {
    throw new McpDiscoveryError(`The authorization server ${metadata.issuer} publishes no authorization_endpoint or token_endpoint.`);
  }
  return { metadata, resource: protectedResource.resource, defaultScopes: protectedResource.scopesSupported, discovered: true };
}

function discover(context: ServerContext, issuer: string): Promise<oauth.AuthorizationServer> {
  return discoveryCache.get(issuer, async () => {
    const issuerUrl = new URL(issuer);
    // OIDC discovery first (most providers with an issuer are OpenID providers), then RFC 8414.
    let response = await oauth.discoveryRequest(issuerUrl, { ...requestOptions(context, issuerUrl), algorithm: 'oidc' });
    if (!response.ok) response = await oauth.discoveryRequest(issuerUrl, { ...requestOptions(context, issuerUrl), algorithm: 'oauth2' });
    return oauth.processDiscoveryResponse(issuerUrl, response);
  });
}

/** Forgets discovered metadata (tests that restart an upstream on a new port). */
export function clearDiscoveryCache(): void {
  discoveryCache.clear();
  mcpDiscoveryCache.clear();
}
