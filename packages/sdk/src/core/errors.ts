import type { ProviderSetupSession } from '../types.js';

/**
 * The closed set of `error.code` values the Gatehouse API answers with (see `docs/api.md`).
 * Typed as open (`string & {}`) so that a newer server's code does not break older clients.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal_error'
  | 'service_unavailable'
  | (string & {});

/** One problem in a request body, as listed in `error.details` of a `400 invalid_request`. */
export interface ErrorDetail {
  /** Where the problem is, in wire (snake_case) form, e.g. `redirect_url` or `auth_methods.0.token_url`. */
  path: string;
  /** What is wrong there. */
  message: string;
}

/** The `error` member of a Gatehouse error body, exactly as it is on the wire. */
export interface WireError {
  code?: ErrorCode;
  message?: string;
  request_id?: string;
  details?: ErrorDetail[];
}

/**
 * Base class of every error thrown by `@gatehouse/sdk`: `err instanceof GatehouseError` catches them all.
 *
 * @example
 * ```ts
 * try {
 *   await gatehouse.providers.get('slack');
 * } catch (err) {
 *   if (err instanceof GatehouseError) console.error(err.message);
 *   else throw err;
 * }
 * ```
 */
export class GatehouseError extends Error {
  override name = 'GatehouseError';
}

/**
 * An error answered by the Gatehouse API (a non-2xx status), or a failure to get an answer at all
 * ({@link APIConnectionError}, {@link APIConnectionTimeoutError}, {@link APIUserAbortError}, which have no `status`).
 *
 * The message never contains the API key: the SDK redacts it from anything the server echoes.
 *
 * @example
 * ```ts
 * try {
 *   await gatehouse.providers.setupSessions.get('pas_missing');
 * } catch (err) {
 *   if (err instanceof APIError) console.error(err.status, err.code, err.requestId);
 * }
 * ```
 */
export class APIError<TStatus extends number | undefined = number | undefined> extends GatehouseError {
  override name = 'APIError';
  /** The HTTP status of the answer, or `undefined` when there was none (connection errors). */
  readonly status: TStatus;
  /** The `error.code` of the answer body, e.g. `not_found`. */
  readonly code: ErrorCode | undefined;
  /** The request id, from the body's `error.request_id` or the `x-request-id` header; quote it in bug reports. */
  readonly requestId: string | undefined;
  /** Per-field problems of a `400 invalid_request`. */
  readonly details: ErrorDetail[] | undefined;
  /** The response headers, when there was a response. */
  readonly headers: Headers | undefined;
  /** The raw `error` member of the answer body (snake_case, as on the wire). */
  readonly error: WireError | undefined;

  /**
   * @param status - the HTTP status, or `undefined` when no response arrived
   * @param error - the `error` member of the answer body
   * @param message - a fallback message when the body carries none (e.g. the raw body text)
   * @param headers - the response headers
   * @param options - `cause`, for errors that wrap another
   */
  constructor(
    status: TStatus,
    error: WireError | undefined,
    message: string | undefined,
    headers: Headers | undefined,
    options?: { cause?: unknown },
  ) {
    super(APIError.makeMessage(status, error, message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.error = error;
    this.code = error?.code;
    this.details = error?.details;
    this.headers = headers;
    this.requestId = error?.request_id ?? headers?.get('x-request-id') ?? undefined;
  }

  private static makeMessage(status: number | undefined, error: WireError | undefined, message: string | undefined): string {
    const text = error?.message ?? message;
    const code = error?.code ? `${error.code}: ` : '';
    if (status && text) return `${status} ${code}${text}`;
    if (status) return `${status} ${code}status code (no body)`;
    return text ?? '(no status code or body)';
  }

  /**
   * Builds the {@link APIError} subclass that matches `status`.
   *
   * @param status - the HTTP status, or `undefined` for a connection error
   * @param error - the `error` member of the answer body
   * @param message - a fallback message
   * @param headers - the response headers
   */
  static generate(
    status: number | undefined,
    error: WireError | undefined,
    message: string | undefined,
    headers: Headers | undefined,
  ): APIError {
    if (!status) return new APIConnectionError({ message });
    switch (status) {
      case 400:
        return new BadRequestError(status, error, message, headers);
      case 401:
        return new AuthenticationError(status, error, message, headers);
      case 403:
        return new PermissionDeniedError(status, error, message, headers);
      case 404:
        return new NotFoundError(status, error, message, headers);
      case 409:
        return new ConflictError(status, error, message, headers);
      case 413:
        return new PayloadTooLargeError(status, error, message, headers);
      case 415:
        return new UnsupportedMediaTypeError(status, error, message, headers);
      case 429:
        return new RateLimitError(status, error, message, headers);
    }
    if (status >= 500) return new InternalServerError(status, error, message, headers);
    return new APIError(status, error, message, headers);
  }
}

/** `400 invalid_request`: the body or query is malformed; see {@link APIError.details}. */
export class BadRequestError extends APIError<400> {
  override name = 'BadRequestError';
}

/** `401 unauthorized`: the API key is missing, wrong or revoked. */
export class AuthenticationError extends APIError<401> {
  override name = 'AuthenticationError';
}

/** `403 forbidden`: the API key may not do this. */
export class PermissionDeniedError extends APIError<403> {
  override name = 'PermissionDeniedError';
}

/** `404 not_found`: no such object in this API key's project (another project's ids also answer 404). */
export class NotFoundError extends APIError<404> {
  override name = 'NotFoundError';
}

/** `409 conflict`: e.g. a provider id that already exists. */
export class ConflictError extends APIError<409> {
  override name = 'ConflictError';
}

/** `413 payload_too_large`: the request body is over the server's limit. */
export class PayloadTooLargeError extends APIError<413> {
  override name = 'PayloadTooLargeError';
}

/** `415 unsupported_media_type`: the body was not sent as `application/json`. */
export class UnsupportedMediaTypeError extends APIError<415> {
  override name = 'UnsupportedMediaTypeError';
}

/** `429 rate_limited`: too many requests; the SDK already retried idempotent requests, honouring `Retry-After`. */
export class RateLimitError extends APIError<429> {
  override name = 'RateLimitError';
}

/** Any `5xx`: the server failed; the SDK already retried idempotent requests. */
export class InternalServerError extends APIError<number> {
  override name = 'InternalServerError';
}

/** The request was aborted through the caller's `signal`. Never retried. */
export class APIUserAbortError extends APIError<undefined> {
  override name = 'APIUserAbortError';

  /** @param options - an optional message */
  constructor({ message }: { message?: string } = {}) {
    super(undefined, undefined, message || 'Request was aborted.', undefined);
  }
}

/** No answer arrived: DNS, refused or dropped connection, TLS failure, ... `cause` holds the underlying error. */
export class APIConnectionError extends APIError<undefined> {
  override name = 'APIConnectionError';

  /** @param options - an optional message and the underlying error */
  constructor({ message, cause }: { message?: string | undefined; cause?: unknown } = {}) {
    super(undefined, undefined, message || 'Connection error.', undefined, { cause });
  }
}

/** No answer arrived within the request's `timeout`. */
export class APIConnectionTimeoutError extends APIConnectionError {
  override name = 'APIConnectionTimeoutError';

  /** @param options - an optional message */
  constructor({ message }: { message?: string } = {}) {
    super({ message: message ?? 'Request timed out.' });
  }
}

/**
 * A setup session that {@link Gatehouse.waitForSetupSession} was waiting for ended without completing.
 * Catch this to handle both {@link SetupSessionFailedError} and {@link SetupSessionExpiredError}.
 */
export class SetupSessionError extends GatehouseError {
  override name = 'SetupSessionError';
  /** The setup session as the server last answered it (its `status` is `failed` or `expired`). */
  readonly setupSession: ProviderSetupSession;

  /**
   * @param setupSession - the session that ended
   * @param message - the error message
   */
  constructor(setupSession: ProviderSetupSession, message: string) {
    super(message);
    this.setupSession = setupSession;
  }
}

/**
 * The setup session `failed`: e.g. the user denied access at the provider (`access_denied`),
 * or the token exchange failed.
 *
 * @example
 * ```ts
 * try {
 *   await gatehouse.waitForSetupSession([setupSession]);
 * } catch (err) {
 *   if (err instanceof SetupSessionFailedError && err.code === 'access_denied') {
 *     // the user said no
 *   }
 * }
 * ```
 */
export class SetupSessionFailedError extends SetupSessionError {
  override name = 'SetupSessionFailedError';
  /** The session's `error.code`, e.g. `access_denied`. */
  readonly code: string;
  /** The session's `error.message`, as the server wrote it. */
  readonly reason: string;

  /** @param setupSession - the failed session */
  constructor(setupSession: ProviderSetupSession) {
    const code = setupSession.error?.code ?? 'unknown_error';
    const reason = setupSession.error?.message ?? 'The setup session failed.';
    super(setupSession, `Setup session ${setupSession.id} failed (${code}): ${reason}`);
    this.code = code;
    this.reason = reason;
  }
}

/** The setup session `expired` before the user finished (see its `expiresAt`). */
export class SetupSessionExpiredError extends SetupSessionError {
  override name = 'SetupSessionExpiredError';

  /** @param setupSession - the expired session */
  constructor(setupSession: ProviderSetupSession) {
    super(setupSession, `Setup session ${setupSession.id} expired at ${setupSession.expiresAt} before it was completed.`);
  }
}

/** {@link Gatehouse.waitForSetupSession} gave up after its `timeoutMs`; the sessions may still complete later. */
export class WaitTimeoutError extends GatehouseError {
  override name = 'WaitTimeoutError';
  /** The ids that were still pending. */
  readonly setupSessionIds: string[];
  /** The `timeoutMs` that passed. */
  readonly timeoutMs: number;

  /**
   * @param setupSessionIds - the ids still pending
   * @param timeoutMs - the overall timeout
   */
  constructor(setupSessionIds: string[], timeoutMs: number) {
    super(`Timed out after ${timeoutMs} ms waiting for setup session(s) ${setupSessionIds.join(', ')}.`);
    this.setupSessionIds = setupSessionIds;
    this.timeoutMs = timeoutMs;
  }
}
