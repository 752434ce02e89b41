import { timingSafeEqual } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';
import type { ServerContext } from '../context.js';
import { callbackUrlFor, getDeployment, openClientSecret } from '../services/deployments.js';
import {
  completeSetupSession,
  expireDueSetupSessions,
  failSetupSession,
  resolveSessionMethod,
  type SetupSessionRow,
  type SetupSessionView,
} from '../services/setup-sessions.js';
import { setupSessions } from '../store/schema.js';
import { resolveAuthorizationServer } from './authorization-server.js';
import { exchangeAuthorizationCode, TokenExchangeError } from './exchange-code.js';
import { codeVerifierAad, sha256 } from './start-authorization.js';
import { providerErrorCode } from './provider-error-code.js';

/** The characters and length an id can have (see `newId`); checked before the id reaches a query. */
const DEPLOYMENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** What the callback page shows. */
export type CallbackOutcome =
  /** Unknown, used, or foreign `state`, or another browser: a generic refusal that reveals nothing. */
  | { kind: 'invalid' }
  | { kind: 'expired'; session: SetupSessionRow; providerName: string }
  | { kind: 'failed'; session: SetupSessionRow; providerName: string; code: string; message: string }
  | { kind: 'completed'; view: SetupSessionView; providerName: string };

/**
 * Handles the provider's redirect back to `/oauth/callback/:deploymentId` (RFC 6749 §4.1.2).
 *
 * Order matters: the `state` and the browser cookie are checked before anything is consumed, so a
 * forged callback from another browser cannot burn the real user's attempt; then the attempt is
 * claimed with one conditional UPDATE, so of many concurrent or replayed callbacks exactly one
 * reaches the token endpoint; then `iss` is checked (RFC 9207) before the code goes anywhere.
 */
export async function handleOAuthCallback(
  context: ServerContext,
  deploymentId: string,
  callbackUrl: URL,
  browserBindingFor: (setupSessionId: string) => string | undefined,
): Promise<CallbackOutcome> {
  // Deployment ids are `pde_` + base62; anything else names no deployment (and a NUL byte from
  // `%00` in the path would make the database refuse the query: a 500 instead of the generic page).
  if (!DEPLOYMENT_ID_PATTERN.test(deploymentId)) return { kind: 'invalid' };
  const state = callbackUrl.searchParams.get('state');
  if (!state || state.length > 512) return { kind: 'invalid' };
  const stateHash = sha256(state);

  const [session] = await context.db
    .select()
    .from(setupSessions)
    .where(and(eq(setupSessions.oauthStateHash, stateHash), eq(setupSessions.deploymentId, deploymentId)))
    .limit(1);
  if (!session || session.status !== 'pending') return { kind: 'invalid' };
  const browserBinding = browserBindingFor(session.id);
  if (!browserBinding || !session.browserBindingHash || !hashesEqual(sha256(browserBinding), session.browserBindingHash)) {
    context.logger.warn({ setupSessionId: session.id }, 'OAuth callback from a browser that did not start the attempt');
    return { kind: 'invalid' };
  }

  const { definition, method } = await resolveSessionMethod(context, session);
  const providerName = definition.name;
  if (session.expiresAt <= context.clock.now()) {
    await expireDueSetupSessions(context, session.projectId);
    return { kind: 'expired', session: { ...session, status: 'expired' }, providerName };
  }
  if (method.type !== 'oauth2') return { kind: 'invalid' };

  // Claim the attempt: only the one request whose UPDATE matches goes on.
  const [claimed] = await context.db
    .update(setupSessions)
    .set({ oauthStateHash: null, browserBindingHash: null, updatedAt: context.clock.now() })
    .where(and(eq(setupSessions.id, session.id), eq(setupSessions.oauthStateHash, stateHash), eq(setupSessions.status, 'pending')))
    .returning({ id: setupSessions.id });
  if (!claimed) return { kind: 'invalid' };

  const fail = async (code: string, message: string): Promise<CallbackOutcome> => {
    const failed = await failSetupSession(context, session, { code, message });
    return { kind: 'failed', session: failed ?? session, providerName, code, message };
  };

  try {
    const resolved = await resolveAuthorizationServer(context, method, definition.mcpServer);
    const authorizationServer = resolved.metadata;
    const deployment = await getDeployment(context, session.projectId, session.deploymentId);
    const client: oauth.Client = { client_id: deployment.oauthClientId ?? '' };
    let callbackParameters: URLSearchParams;
    try {
      callbackParameters = oauth.validateAuthResponse(
        // Without a published issuer there is nothing to compare an `iss` with; the per-deployment
        // redirect URI is then the mix-up defence (RFC 9700 §4.4.2).
        resolved.discovered ? authorizationServer : { ...authorizationServer, authorization_response_iss_parameter_supported: false },
        client,
        resolved.discovered ? callbackUrl.searchParams : withoutIss(callbackUrl.searchParams),
        state,
      );
    } catch (error) {
      if (error instanceof oauth.AuthorizationResponseError) {
        return fail(providerErrorCode(error.error, 'provider_error'), describeProviderError(error.error, error.error_description));
      }
      context.logger.warn({ setupSessionId: session.id, reason: (error as Error).message }, 'authorization response rejected');
      return fail('invalid_authorization_response', 'The authorization response did not come from the expected provider.');
    }

    const codeVerifier = context.keyring.open(
      { keyId: session.codeVerifierKeyId!, ciphertext: session.codeVerifierCiphertext! },
      codeVerifierAad(session),
    );
    const authorization = await exchangeAuthorizationCode(context, {
      authorizationServer,
      method,
      clientId: deployment.oauthClientId!,
      clientSecret: openClientSecret(context, deployment),
      callbackParameters,
      redirectUri: callbackUrlFor(context, deployment.id),
      codeVerifier,
      resource: resolved.resource,
    });
    const view = await completeSetupSession(context, session, authorization);
    return { kind: 'completed', view, providerName };
  } catch (error) {
    if (error instanceof TokenExchangeError) return fail(error.code, error.message);
    context.logger.error({ setupSessionId: session.id, err: (error as Error).message }, 'OAuth callback failed');
    return fail('internal_error', 'Gatehouse could not finish the authorization. Start again from the app.');
  }
}

function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

function withoutIss(parameters: URLSearchParams): URLSearchParams {
  const copy = new URLSearchParams(parameters);
  copy.delete('iss');
  return copy;
}

function describeProviderError(code: string, description: string | undefined): string {
  const base = code === 'access_denied' ? 'Access was denied at the provider.' : `The provider returned an error (${providerErrorCode(code, 'unrecognized error')}).`;
  return description ? `${base} ${description.slice(0, 300)}` : base;
}
