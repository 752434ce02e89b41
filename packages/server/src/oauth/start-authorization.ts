import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';
import type { OAuth2AuthMethod, ProviderDefinition } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import { randomToken } from '../ids.js';
import { callbackUrlFor, getDeployment } from '../services/deployments.js';
import type { SetupSessionRow } from '../services/setup-sessions.js';
import { setupSessions } from '../store/schema.js';
import { resolveAuthorizationServer } from './authorization-server.js';

/** SHA-256 hex: how `state` and the browser binding are stored (the values themselves never are). */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** AAD of a setup session's PKCE code verifier. */
export function codeVerifierAad(session: Pick<SetupSessionRow, 'projectId' | 'id'>): string {
  return `gatehouse:v1:${session.projectId}:${session.id}:code_verifier`;
}

/** Where to send the browser, and the value of the cookie that binds this attempt to it. */
export interface AuthorizationRedirect {
  authorizationUrl: string;
  browserBinding: string;
}

/**
 * Starts one authorization attempt of a pending setup session: a fresh CSPRNG `state`, PKCE S256
 * (RFC 7636 §4.1–4.2) and a browser-binding secret for a cookie. Only their hashes (and the sealed
 * verifier) are stored; a newer attempt replaces an older one, so only the latest `state` is valid.
 * With discovery `mcp`, the request names the MCP server as its `resource` (RFC 8707 §2.1).
 */
export async function startAuthorization(
  context: ServerContext,
  session: SetupSessionRow,
  method: OAuth2AuthMethod,
  mcpServer: ProviderDefinition['mcpServer'],
): Promise<AuthorizationRedirect | undefined> {
  const deployment = await getDeployment(context, session.projectId, session.deploymentId);
  if (!deployment.oauthClientId) throw new Error(`deployment ${deployment.id} has no OAuth client`);
  const authorizationServer = await resolveAuthorizationServer(context, method, mcpServer);

  const state = randomToken(32);
  const browserBinding = randomToken(32);
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const sealedVerifier = context.keyring.seal(codeVerifier, codeVerifierAad(session));

  const [updated] = await context.db
    .update(setupSessions)
    .set({
      oauthStateHash: sha256(state),
      browserBindingHash: sha256(browserBinding),
      codeVerifierCiphertext: sealedVerifier.ciphertext,
      codeVerifierKeyId: sealedVerifier.keyId,
      updatedAt: context.clock.now(),
    })
    .where(and(eq(setupSessions.id, session.id), eq(setupSessions.status, 'pending')))
    .returning({ id: setupSessions.id });
  if (!updated) return undefined;

  const url = new URL(authorizationServer.metadata.authorization_endpoint!);
  for (const [name, value] of Object.entries(method.authorizationParams ?? {})) url.searchParams.set(name, value);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', deployment.oauthClientId);
  url.searchParams.set('redirect_uri', callbackUrlFor(context, deployment.id));
  const scopes = method.scopes.length > 0 ? method.scopes : authorizationServer.defaultScopes;
  if (scopes.length > 0) {
    url.searchParams.set(method.scopeParameter ?? 'scope', scopes.join(method.scopeSeparator ?? ' '));
  }
  if (authorizationServer.resource) url.searchParams.set('resource', authorizationServer.resource);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return { authorizationUrl: url.href, browserBinding };
}
