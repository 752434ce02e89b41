import * as oauth from 'oauth4webapi';
import type { OAuth2AuthMethod } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import type { CompletedAuthorization } from '../services/setup-sessions.js';
import { requestOptions } from './authorization-server.js';
import { readJsonBounded, ResponseTooLargeError, TOKEN_RESPONSE_MAX_BYTES } from './bounded-json.js';
import { providerErrorCode } from './provider-error-code.js';


/**
 * A token request that did not yield credentials. `message` is a summary safe to show to the app and
 * the end user: it never echoes the provider's response body, which may carry tokens.
 */
export class TokenExchangeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TokenExchangeError';
  }
}

/** Everything the token request needs. */
export interface CodeExchange {
  authorizationServer: oauth.AuthorizationServer;
  method: OAuth2AuthMethod;
  clientId: string;
  clientSecret: string | undefined;
  /** The parameters returned by `oauth.validateAuthResponse`. */
  callbackParameters: URLSearchParams;
  redirectUri: string;
  codeVerifier: string;
  /** RFC 8707 §2.2: the resource the token is for (discovery `mcp`); sent again on the token request. */
  resource?: string | undefined;
}

/**
 * Exchanges the authorization code (RFC 6749 §4.1.3, with the PKCE verifier of RFC 7636 §4.5) and
 * validates the response (RFC 6749 §5.1) with a bounded timeout.
 */
export async function exchangeAuthorizationCode(context: ServerContext, exchange: CodeExchange): Promise<CompletedAuthorization> {
  const client: oauth.Client = { client_id: exchange.clientId };
  const clientAuth =
    exchange.clientSecret === undefined
      ? oauth.None()
      : exchange.method.tokenEndpointAuthMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(exchange.clientSecret)
        : oauth.ClientSecretBasic(exchange.clientSecret);

  if (!exchange.callbackParameters.get('code')) {
    // oauth4webapi would refuse this before any request; say what really happened.
    throw new TokenExchangeError('invalid_authorization_response', 'The provider sent the browser back without an authorization code.');
  }

  let response: Response;
  try {
    response = await oauth.authorizationCodeGrantRequest(
      exchange.authorizationServer,
      client,
      clientAuth,
      exchange.callbackParameters,
      exchange.redirectUri,
      exchange.codeVerifier,
      {
        ...requestOptions(context, exchange.authorizationServer.token_endpoint, AbortSignal.timeout(context.tokenRequestTimeoutMs)),
        ...(exchange.resource ? { additionalParameters: { resource: exchange.resource } } : {}),
      },
    );
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new TokenExchangeError(
      timedOut ? 'token_endpoint_timeout' : 'token_endpoint_unreachable',
      timedOut ? 'The provider did not answer the token request in time.' : 'The provider\'s token endpoint could not be reached.',
    );
  }

  if (exchange.method.accessTokenPath) return parseNestedTokenResponse(context, response, exchange.method.accessTokenPath);

  try {
    const result = await oauth.processAuthorizationCodeResponse(exchange.authorizationServer, client, response);
    return toCompletedAuthorization(context, result, exchange.method);
  } catch (error) {
    throw summarizeTokenError(error, response.status);
  }
}

function toCompletedAuthorization(
  context: ServerContext,
  result: oauth.TokenEndpointResponse,
  method: OAuth2AuthMethod,
): CompletedAuthorization {
  const expiresAt =
    typeof result.expires_in === 'number' ? new Date(context.clock.now().getTime() + result.expires_in * 1000) : undefined;
  return {
    credentials: {
      type: 'oauth2',
      accessToken: result.access_token,
      tokenType: result.token_type,
      refreshToken: result.refresh_token,
      expiresAt: expiresAt?.toISOString(),
    },
    scopes: typeof result.scope === 'string' ? result.scope.split(/[\s,]+/).filter(Boolean) : method.scopes,
    accessTokenExpiresAt: expiresAt,
  };
}

function summarizeTokenError(error: unknown, status: number): TokenExchangeError {
  if (error instanceof oauth.ResponseBodyError) {
    // `error` is a registered code (RFC 6749 §5.2) and safe to show; the description is not echoed.
    return new TokenExchangeError('token_exchange_failed', `The provider refused the token request (${providerErrorCode(error.error, 'unrecognized error')}).`);
  }
  if (status >= 500) return new TokenExchangeError('token_endpoint_error', `The provider's token endpoint failed (HTTP ${status}).`);
  return new TokenExchangeError('invalid_token_response', `The provider's token response was not valid (HTTP ${status}).`);
}

/** Providers such as Slack nest the user token (`authed_user.access_token`) and signal errors with `ok: false`. */
async function parseNestedTokenResponse(context: ServerContext, response: Response, accessTokenPath: string): Promise<CompletedAuthorization> {
  let body: unknown;
  try {
    body = await readJsonBounded(response, TOKEN_RESPONSE_MAX_BYTES);
  } catch (error) {
    if (error instanceof ResponseTooLargeError) {
      throw new TokenExchangeError('invalid_token_response', `The provider's token response was too large (over ${TOKEN_RESPONSE_MAX_BYTES} bytes).`);
    }
    throw new TokenExchangeError('invalid_token_response', `The provider's token response was not JSON (HTTP ${response.status}).`);
  }
  if (!response.ok || typeof body !== 'object' || body === null || (body as { ok?: unknown }).ok === false) {
    const code = typeof (body as { error?: unknown })?.error === 'string' ? providerErrorCode((body as { error: string }).error, 'provider_error') : `HTTP ${response.status}`;
    throw new TokenExchangeError('token_exchange_failed', `The provider refused the token request (${code}).`);
  }
  const parentPath = accessTokenPath.split('.').slice(0, -1);
  const container = parentPath.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], body) as
    | Record<string, unknown>
    | undefined;
  const accessToken = accessTokenPath.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], body);
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new TokenExchangeError('invalid_token_response', 'The provider\'s token response has no access token.');
  }
  const refreshToken = container?.refresh_token;
  const expiresIn = container?.expires_in;
  const scope = container?.scope;
  // The injected clock, as for standard responses: expiry must agree with the refresh window's clock.
  const expiresAt = typeof expiresIn === 'number' ? new Date(context.clock.now().getTime() + expiresIn * 1000) : undefined;
  return {
    credentials: {
      type: 'oauth2',
      accessToken,
      tokenType: typeof container?.token_type === 'string' ? container.token_type : 'bearer',
      refreshToken: typeof refreshToken === 'string' ? refreshToken : undefined,
      expiresAt: expiresAt?.toISOString(),
    },
    scopes: typeof scope === 'string' ? scope.split(/[\s,]+/).filter(Boolean) : [],
    accessTokenExpiresAt: expiresAt,
  };
}
