import * as oauth from 'oauth4webapi';
import { OAUTH2_DEFAULTS, type OAuth2AuthMethod } from '../catalog/provider-schema.js';
import { readJsonBounded, TOKEN_RESPONSE_MAX_BYTES } from './bounded-json.js';
import { providerErrorCode } from './provider-error-code.js';

/** What a refresh token response (RFC 6749 §5.1 / §5.2, or a provider's own form of them) said. */
export type RefreshResponse =
  | {
      kind: 'tokens';
      accessToken: string;
      tokenType: string;
      /** Absent when the provider did not rotate the refresh token (RFC 6749 §6: keep the old one). */
      refreshToken?: string | undefined;
      expiresInSeconds?: number | undefined;
    }
  /** The provider refused the request with an error code (a plain code, never its description). */
  | { kind: 'refused'; code: string }
  /** Neither tokens nor a recognizable error. */
  | { kind: 'invalid' };

type JsonObject = Record<string, unknown>;

/**
 * Reads the answer to a refresh token grant. Standard answers go through oauth4webapi; on top of
 * that it understands the forms providers use instead of RFC 6749 §5.2:
 * - Slack (`oauth.v2.access`): HTTP 200 with `{"ok": false, "error": "invalid_refresh_token"}`, and a
 *   user token with `token_type: "user"`, at the method's `accessTokenPath` (`authed_user.access_token`,
 *   as in the code exchange) or at the top level (where Slack puts it when refreshing);
 * - GitHub: HTTP 200 with `{"error": "bad_refresh_token", ...}` and no access token.
 * The provider's body is never returned or logged: it may hold tokens.
 */
export async function parseRefreshResponse(
  authorizationServer: oauth.AuthorizationServer,
  client: oauth.Client,
  method: OAuth2AuthMethod,
  response: Response,
): Promise<RefreshResponse> {
  const accessTokenPath = method.accessTokenPath ?? OAUTH2_DEFAULTS.accessTokenPath;
  if (response.status === 200 || accessTokenPath !== OAUTH2_DEFAULTS.accessTokenPath) {
    const body = await readJsonObject(response.clone());
    if (body && isErrorBody(body)) {
      await response.body?.cancel().catch(() => {});
      return { kind: 'refused', code: providerErrorCode(body.error, 'provider_error') };
    }
    if (accessTokenPath !== OAUTH2_DEFAULTS.accessTokenPath || (body && typeof body.token_type === 'string' && !isStandardTokenType(body.token_type))) {
      await response.body?.cancel().catch(() => {});
      return response.status === 200 && body ? tokensAt(body, accessTokenPath) : { kind: 'invalid' };
    }
  }
  try {
    const result = await oauth.processRefreshTokenResponse(authorizationServer, client, response);
    return {
      kind: 'tokens',
      accessToken: result.access_token,
      tokenType: result.token_type,
      refreshToken: result.refresh_token,
      expiresInSeconds: result.expires_in,
    };
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return { kind: 'refused', code: providerErrorCode(error.error, 'provider_error') };
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      // RFC 6749 §5.2: a 401 with a challenge is a failed client authentication.
      const challengeError = error.cause.find((challenge) => typeof challenge.parameters.error === 'string')?.parameters.error;
      return { kind: 'refused', code: providerErrorCode(challengeError, 'invalid_client') };
    }
    return { kind: 'invalid' };
  }
}

async function readJsonObject(response: Response): Promise<JsonObject | undefined> {
  try {
    const body = await readJsonBounded(response, TOKEN_RESPONSE_MAX_BYTES);
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/** Slack's `ok: false`, or an RFC 6749 §5.2 `error` without tokens (GitHub answers those with 200). */
function isErrorBody(body: JsonObject): body is JsonObject & { error: unknown } {
  return body.ok === false || (typeof body.error === 'string' && body.access_token === undefined);
}

function isStandardTokenType(tokenType: string): boolean {
  const lower = tokenType.toLowerCase();
  return lower === 'bearer' || lower === 'dpop';
}

/** The tokens next to the access token at `accessTokenPath`, or at the top level when it is not there. */
function tokensAt(body: JsonObject, accessTokenPath: string): RefreshResponse {
  const segments = accessTokenPath.split('.');
  let container: unknown = body;
  for (const segment of segments.slice(0, -1)) {
    container = typeof container === 'object' && container !== null ? (container as JsonObject)[segment] : undefined;
  }
  const leaf = segments.at(-1)!;
  let holder = typeof container === 'object' && container !== null ? (container as JsonObject) : undefined;
  if (typeof holder?.[leaf] !== 'string') holder = typeof body.access_token === 'string' ? body : undefined;
  const accessToken = holder === body ? body.access_token : holder?.[leaf];
  if (!holder || typeof accessToken !== 'string' || accessToken.length === 0) return { kind: 'invalid' };

  const { refresh_token: refreshToken, token_type: tokenType } = holder;
  const expiresIn = typeof holder.expires_in === 'string' ? Number(holder.expires_in) : holder.expires_in;
  if (refreshToken !== undefined && (typeof refreshToken !== 'string' || refreshToken.length === 0)) return { kind: 'invalid' };
  if (expiresIn !== undefined && (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0)) return { kind: 'invalid' };
  return {
    kind: 'tokens',
    accessToken,
    tokenType: typeof tokenType === 'string' ? tokenType : 'bearer',
    refreshToken,
    expiresInSeconds: expiresIn,
  };
}
