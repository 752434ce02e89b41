import { VERSION } from '../version.js';
import { camelToSnakeKey, fromWireCase, toWireCase } from './case.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  type WireError,
} from './errors.js';

/** The subset of the WHATWG `fetch` the SDK calls; pass your own to `new Gatehouse({ fetch })`. */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/** Extra request headers. Keys are case-insensitive; a `null` value removes a header the SDK would send. */
export type HeadersInput = Record<string, string | null | undefined>;

/** Per-call options, the last argument of every SDK method. */
export interface RequestOptions {
  /** Aborts the call (including retries and backoff waits); it then rejects with `APIUserAbortError`. */
  signal?: AbortSignal | null | undefined;
  /** Milliseconds before one attempt is abandoned with `APIConnectionTimeoutError`. Overrides the client's `timeout`. */
  timeout?: number | undefined;
  /** Retries for this call. Overrides the client's `maxRetries`. */
  maxRetries?: number | undefined;
  /**
   * Extra headers for this call, merged over the client's `defaultHeaders`. Passing an `Idempotency-Key`
   * makes a `POST` or `PATCH` retryable (tool calls excepted: they are never retried).
   */
  headers?: HeadersInput | undefined;
}

/** HTTP methods the SDK sends. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Query parameters in SDK form. Keys are converted to snake_case; `undefined`/`null` values are left out;
 * arrays are sent comma-separated (`ids=a,b`); an object value `{ k: v }` under key `metadata` is sent as
 * `metadata[k]=v` with `k` kept as it is.
 */
export type QueryParams = object;

/** One API call, as the resources describe it to {@link HttpClient.request}. */
export interface APIRequest {
  method: HttpMethod;
  /** The path under the base URL, starting with `/v1/`; ids must already be URL-encoded. */
  path: string;
  query?: QueryParams | undefined;
  /** The JSON body in SDK form; converted to snake_case unless `convertCase` is `false`. */
  body?: unknown;
  options?: RequestOptions | undefined;
  /** Convert keys between camelCase and snake_case (default `true`). */
  convertCase?: boolean | undefined;
  /**
   * Whether the call may be retried after a retryable failure. Default: `GET`, `HEAD` and `DELETE` are, and
   * any call carrying an `Idempotency-Key` header. `true` marks a `POST` whose effect is the same however
   * often it is sent (closing a session); `false` forbids retries whatever the headers (a tool call: the
   * tool may not be idempotent, and the server may have run it before the answer was lost).
   */
  retryable?: boolean | undefined;
}

/** What {@link HttpClient} needs from the client. */
export interface HttpClientConfig {
  apiKey: string;
  baseUrl: string;
  fetch: Fetch;
  timeout: number;
  maxRetries: number;
  defaultHeaders: HeadersInput;
}

/** First retry delay, before jitter. */
export const INITIAL_RETRY_DELAY_MS = 300;
/** Longest computed retry delay, before jitter. */
export const MAX_RETRY_DELAY_MS = 8_000;
/** A `Retry-After` longer than this is not waited for: the error is thrown instead. */
export const MAX_RETRY_AFTER_MS = 60_000;

const MAX_TIMER_MS = 2_147_483_647;
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE']);
const REDACTED = '[redacted]';

/**
 * Exponential backoff with jitter: ~300 ms, 600 ms, 1.2 s, ... capped at 8 s, each reduced by up to 25 %
 * at random so that many clients do not retry in lockstep.
 *
 * @param attempt - 0 for the first retry
 */
export function backoffDelay(attempt: number): number {
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** attempt, MAX_RETRY_DELAY_MS);
  return base * (1 - Math.random() * 0.25);
}

/**
 * Reads `retry-after-ms`, then `Retry-After` (delta-seconds or an HTTP date), in milliseconds.
 *
 * @param headers - response headers
 * @returns the delay (never negative), or `undefined` when absent or unparseable
 */
export function retryAfterMs(headers: Headers): number | undefined {
  const milliseconds = headers.get('retry-after-ms');
  if (milliseconds !== null && milliseconds.trim() !== '') {
    const value = Number(milliseconds);
    if (Number.isFinite(value)) return Math.max(0, value);
  }
  const retryAfter = headers.get('retry-after')?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * How long to wait before retrying an answer with a retryable status: the server's `Retry-After` when
 * given and at most {@link MAX_RETRY_AFTER_MS}, else {@link backoffDelay}.
 *
 * @returns `undefined` when the server asks for a longer wait than the SDK is willing to make
 */
export function retryDelay(headers: Headers, attempt: number): number | undefined {
  const requested = retryAfterMs(headers);
  if (requested === undefined) return backoffDelay(attempt);
  return requested <= MAX_RETRY_AFTER_MS ? requested : undefined;
}

/**
 * `408`, `429` and every `5xx` are worth retrying. `409 conflict` is not: in Gatehouse it reports a real
 * conflict (e.g. a provider id taken), which a retry cannot fix.
 *
 * @param status - an HTTP status
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Waits `ms` milliseconds, or rejects with `APIUserAbortError` as soon as `signal` aborts.
 *
 * @param ms - the delay
 * @param signal - aborts the wait
 */
export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new APIUserAbortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new APIUserAbortError());
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(Math.max(0, ms), MAX_TIMER_MS),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Encodes SDK-form query parameters for the wire (see {@link QueryParams}).
 *
 * @param query - the parameters
 * @returns the query string without the leading `?`
 */
export function encodeQuery(query: QueryParams): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const wireKey = camelToSnakeKey(key);
    if (Array.isArray(value)) {
      params.append(wireKey, value.map(String).join(','));
    } else if (typeof value === 'object') {
      for (const [subKey, subValue] of Object.entries(value as Record<string, unknown>)) {
        if (subValue === undefined || subValue === null) continue;
        params.append(`${wireKey}[${subKey}]`, String(subValue));
      }
    } else {
      params.append(wireKey, String(value));
    }
  }
  return params.toString();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type AttemptOutcome =
  | { kind: 'response'; response: Response; text: string }
  | { kind: 'failed'; timedOut: boolean; cause: unknown }
  | { kind: 'aborted' };

/**
 * Sends requests to the Gatehouse API: headers, JSON and case conversion, per-attempt timeouts, retries
 * with backoff, and typed errors. Used through the {@link Gatehouse} client; not constructed directly.
 *
 * @internal
 */
export class HttpClient {
  readonly #config: HttpClientConfig;

  /** @param config - the resolved client options */
  constructor(config: HttpClientConfig) {
    this.#config = { ...config, baseUrl: config.baseUrl.replace(/\/+$/, '') };
  }

  /**
   * Sends one API call, retrying it when that is safe, and resolves with its body in SDK form.
   *
   * Retries happen only for idempotent calls (`GET`, `HEAD`, `DELETE`, any call carrying an
   * `Idempotency-Key` header, or as {@link APIRequest.retryable} says) after a connection error, a
   * timeout, or a `408`/`429`/`5xx` answer.
   *
   * @param request - the call
   * @returns the parsed, camelCased body (`undefined` for an empty body)
   */
  async request<T>(request: APIRequest): Promise<T> {
    const options = request.options ?? {};
    const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? this.#config.maxRetries));
    const timeout = options.timeout ?? this.#config.timeout;
    const convertCase = request.convertCase ?? true;
    const signal = options.signal ?? undefined;
    const url = this.buildUrl(request.path, request.query);
    const body =
      request.body === undefined ? undefined : JSON.stringify(convertCase ? toWireCase(request.body) : request.body);
    const headers = this.buildHeaders(body !== undefined, options.headers);
    const retryable = request.retryable ?? (IDEMPOTENT_METHODS.has(request.method) || 'idempotency-key' in headers);

    for (let attempt = 0; ; attempt += 1) {
      const retriesLeft = retryable ? maxRetries - attempt : 0;
      const outcome = await this.attempt(url, { method: request.method, headers, body }, timeout, signal);

      if (outcome.kind === 'aborted') throw new APIUserAbortError();
      if (outcome.kind === 'failed') {
        if (retriesLeft > 0) {
          await sleep(backoffDelay(attempt), signal);
          continue;
        }
        throw outcome.timedOut
          ? new APIConnectionTimeoutError({ message: `Request timed out after ${timeout} ms.` })
          : new APIConnectionError({ cause: outcome.cause });
      }

      const { response, text } = outcome;
      if (response.ok) return this.parseBody<T>(response, text, convertCase);
      if (retriesLeft > 0 && isRetryableStatus(response.status)) {
        const delay = retryDelay(response.headers, attempt);
        if (delay !== undefined) {
          await sleep(delay, signal);
          continue;
        }
      }
      throw this.makeError(response, text);
    }
  }

  /**
   * The full URL of a call.
   *
   * @param path - the path, starting with `/`
   * @param query - query parameters in SDK form
   */
  buildUrl(path: string, query?: QueryParams): string {
    const search = query ? encodeQuery(query) : '';
    return `${this.#config.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  private buildHeaders(hasBody: boolean, extra: HeadersInput | undefined): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.#config.apiKey}`,
      'x-gatehouse-sdk': `js/${VERSION}`,
    };
    if (hasBody) headers['content-type'] = 'application/json';
    for (const source of [this.#config.defaultHeaders, extra]) {
      for (const [name, value] of Object.entries(source ?? {})) {
        if (value === undefined) continue;
        if (value === null) delete headers[name.toLowerCase()];
        else headers[name.toLowerCase()] = value;
      }
    }
    return headers;
  }

  private async attempt(
    url: string,
    init: { method: string; headers: Record<string, string>; body: string | undefined },
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<AttemptOutcome> {
    if (signal?.aborted) return { kind: 'aborted' };
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = Number.isFinite(timeout)
      ? setTimeout(
          () => {
            timedOut = true;
            controller.abort();
          },
          Math.min(Math.max(0, timeout), MAX_TIMER_MS),
        )
      : undefined;
    try {
      const response = await this.#config.fetch(url, { ...init, signal: controller.signal });
      // The timeout covers reading the body too: a server that stalls mid-body is a timeout.
      const text = init.method === 'HEAD' ? '' : await response.text();
      return { kind: 'response', response, text };
    } catch (cause) {
      if (signal?.aborted && !timedOut) return { kind: 'aborted' };
      return { kind: 'failed', timedOut, cause };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private parseBody<T>(response: Response, text: string, convertCase: boolean): T {
    if (text.trim() === '') return undefined as T;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new APIError(response.status, undefined, 'The response body is not valid JSON.', response.headers);
    }
    return (convertCase ? fromWireCase(parsed) : parsed) as T;
  }

  private makeError(response: Response, text: string): APIError {
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    let wireError: WireError | undefined;
    let fallback: string | undefined;
    if (isRecord(parsed) && isRecord(parsed.error)) wireError = parsed.error as WireError;
    else if (isRecord(parsed) && typeof parsed.error === 'string') fallback = parsed.error;
    else if (text) fallback = text.length > 500 ? `${text.slice(0, 500)}…` : text;
    else fallback = response.statusText || undefined;
    return APIError.generate(response.status, this.redact(wireError), this.redact(fallback), response.headers);
  }

  /** Removes the API key from anything a server echoed back, so it can never surface in an error. */
  private redact<T>(value: T): T {
    const secret = this.#config.apiKey;
    if (!secret) return value;
    const visit = (item: unknown): unknown => {
      if (typeof item === 'string') return item.split(secret).join(REDACTED);
      if (Array.isArray(item)) return item.map(visit);
      if (isRecord(item)) return Object.fromEntries(Object.entries(item).map(([key, entry]) => [key, visit(entry)]));
      return item;
    };
    return visit(value) as T;
  }
}
