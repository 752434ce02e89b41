/**
 * The closed set of error codes on the wire (`{ error: { code, message, request_id } }`).
 * The SDK knows the same codes.
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
  | 'service_unavailable';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
};

/** One field-level problem in a request. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/**
 * The one error type that becomes an HTTP error response. `expose` is false for 5xx: their message is
 * replaced by a generic one on the wire so that nothing internal leaks. `service_unavailable` is the
 * exception: it is only raised with a message Gatehouse wrote for the caller (what is down, when to retry).
 */
export class GatehouseError extends Error {
  readonly status: number;
  readonly expose: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'GatehouseError';
    this.status = STATUS_BY_CODE[code];
    this.expose = this.status < 500 || code === 'service_unavailable';
  }
}

/** 404 for an id that does not exist in the caller's project (or at all: the two look the same). */
export function notFound(what: string, id: string): GatehouseError {
  return new GatehouseError('not_found', `No ${what} ${id} in this project.`);
}

/** 400 with one message and optional field details. */
export function invalidRequest(message: string, details?: ErrorDetail[]): GatehouseError {
  return new GatehouseError('invalid_request', message, details);
}
