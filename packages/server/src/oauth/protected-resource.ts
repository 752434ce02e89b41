import type { ServerContext } from '../context.js';
import { OutboundRequestRefusedError } from '../security/outbound-guard.js';
import { readJsonBounded } from './bounded-json.js';

const METADATA_MAX_BYTES = 64 * 1024;
const METADATA_TIMEOUT_MS = 10_000;
const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * Discovery of an MCP server's authorization failed: `message` is safe to show the operator (it
 * names URLs and the reason, never a response body).
 */
export class McpDiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'McpDiscoveryError';
  }
}

/** The parts of RFC 9728 protected resource metadata Gatehouse uses. */
export interface ProtectedResource {
  /** The resource identifier the server declared, validated to cover the MCP URL: the RFC 8707 `resource` to send. */
  resource: string;
  /** `authorization_servers[0]`: the issuer whose RFC 8414 / OIDC metadata is discovered next. */
  authorizationServer: string;
  /** `scopes_supported`, or empty. */
  scopesSupported: string[];
}

/**
 * Finds the protected resource metadata of a remote MCP server (RFC 9728; MCP authorization spec
 * 2025-06-18 and 2025-11-25): the path-inserted well-known URL (§3.1), then the origin's, then the
 * `resource_metadata` URL of the `WWW-Authenticate` challenge (§5.1) that the MCP URL answers
 * without a token. The well-known URLs come first so that nothing is sent to the MCP endpoint
 * itself when the server publishes them. Every request goes through the outbound guard.
 *
 * @throws McpDiscoveryError when no metadata is found, or its `resource` does not cover the MCP URL.
 */
export async function discoverProtectedResource(context: ServerContext, mcpUrl: string): Promise<ProtectedResource> {
  const target = new URL(mcpUrl);
  target.hash = '';
  const path = target.pathname.replace(/\/+$/, '');
  const candidates = [...new Set([`${target.origin}${WELL_KNOWN}${path}`, `${target.origin}${WELL_KNOWN}`])];
  for (const candidate of candidates) {
    const metadata = await fetchMetadata(context, candidate);
    if (metadata !== undefined) return validate(metadata, target, candidate);
  }
  const fromChallenge = await resourceMetadataFromChallenge(context, target);
  if (fromChallenge) {
    const metadata = await fetchMetadata(context, fromChallenge);
    if (metadata !== undefined) return validate(metadata, target, fromChallenge);
  }
  throw new McpDiscoveryError(
    `The MCP server ${target.href} publishes no OAuth protected resource metadata (RFC 9728) at ${candidates.join(' or ')}` +
      `${fromChallenge ? ` or ${fromChallenge}` : ''}; configure the auth method's endpoints instead of discovery "mcp".`,
  );
}

/** The metadata document at `url`, or undefined when there is none (404 and other non-2xx answers). */
async function fetchMetadata(context: ServerContext, url: string): Promise<unknown> {
  const response = await guardedGet(context, url, 'application/json');
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  try {
    return await readJsonBounded(response, METADATA_MAX_BYTES);
  } catch {
    throw new McpDiscoveryError(`The protected resource metadata at ${url} is not a JSON document of at most 64 KiB.`);
  }
}

/** RFC 9728 §5.1: `WWW-Authenticate: Bearer resource_metadata="…"` on an unauthenticated request. */
async function resourceMetadataFromChallenge(context: ServerContext, target: URL): Promise<string | undefined> {
  const response = await guardedGet(context, target.href, 'application/json, text/event-stream');
  await response.body?.cancel().catch(() => {});
  if (response.status !== 401) return undefined;
  const match = /resource_metadata="([^"]{1,2048})"/i.exec(response.headers.get('www-authenticate') ?? '');
  if (!match?.[1]) return undefined;
  try {
    const url = new URL(match[1], target);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

async function guardedGet(context: ServerContext, url: string, accept: string): Promise<Response> {
  try {
    return await context.fetch(url, { headers: { accept }, signal: AbortSignal.timeout(METADATA_TIMEOUT_MS) });
  } catch (error) {
    if (error instanceof OutboundRequestRefusedError) throw new McpDiscoveryError(`Discovery of the MCP server's authorization was refused: ${error.message}`);
    throw new McpDiscoveryError(`${url} could not be reached to discover the MCP server's authorization.`);
  }
}

/**
 * RFC 9728 §3.3: the `resource` must identify the MCP server: the same origin, and a path that is
 * the MCP URL's (ignoring a trailing slash) or one it lies under, as metadata found at the origin
 * may name the whole host (what the MCP SDK's client accepts too). Anything else is metadata of
 * another resource, which must not make Gatehouse send its users' grants elsewhere.
 */
function validate(metadata: unknown, target: URL, source: string): ProtectedResource {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new McpDiscoveryError(`The protected resource metadata at ${source} is not a JSON object.`);
  }
  const { resource, authorization_servers: servers, scopes_supported: scopes } = metadata as Record<string, unknown>;
  let declared: URL | undefined;
  try {
    declared = typeof resource === 'string' ? new URL(resource) : undefined;
  } catch {
    declared = undefined;
  }
  if (!declared || declared.hash !== '' || !covers(declared, target)) {
    throw new McpDiscoveryError(
      `The protected resource metadata at ${source} is for ${typeof resource === 'string' ? JSON.stringify(resource.slice(0, 200)) : 'no resource'}, ` +
        `not for the MCP server ${target.href}: refused (RFC 9728 §3.3).`,
    );
  }
  const first = Array.isArray(servers) ? servers[0] : undefined;
  if (typeof first !== 'string' || !/^https?:\/\//i.test(first)) {
    throw new McpDiscoveryError(`The protected resource metadata at ${source} names no authorization server (authorization_servers).`);
  }
  return {
    resource: resource as string,
    authorizationServer: first,
    scopesSupported: Array.isArray(scopes) ? scopes.filter((scope): scope is string => typeof scope === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/.test(scope)) : [],
  };
}

function covers(declared: URL, target: URL): boolean {
  if (declared.origin !== target.origin || declared.search !== '') return false;
  const declaredPath = declared.pathname.replace(/\/+$/, '');
  const targetPath = target.pathname.replace(/\/+$/, '');
  return targetPath === declaredPath || targetPath.startsWith(`${declaredPath}/`);
}
