import { readEnv } from './core/env.js';
import { GatehouseError } from './core/errors.js';
import { HttpClient, type APIRequest, type Fetch, type HeadersInput, type QueryParams, type RequestOptions } from './core/http.js';
import { paginate, type CursorPageBody, type PagePromise } from './core/pagination.js';
import type { ProviderSessionAdapter } from './adapter.js';
import { Providers } from './resources/providers/providers.js';
import { Sessions, type SessionCreateParams } from './resources/sessions/sessions.js';
import { Webhooks } from './resources/webhooks/webhooks.js';
import type { ProviderSetupSession } from './types.js';
import { waitForSetupSession, type WaitForSetupSessionOptions } from './wait-for-setup-session.js';
import { withProviderSession } from './with-provider-session.js';

/** Options of `new Gatehouse(...)`. */
export interface ClientOptions {
  /**
   * The project's API key. Defaults to the `GATEHOUSE_API_KEY` environment variable where one exists;
   * the constructor throws when neither is set.
   */
  apiKey?: string | null | undefined;
  /**
   * Where the Gatehouse server listens. Defaults to the `GATEHOUSE_BASE_URL` environment variable,
   * then `http://127.0.0.1:4310` (what `gatehouse serve` uses).
   */
  baseUrl?: string | null | undefined;
  /** A `fetch` to use instead of the global one (e.g. for a proxy, or in tests). */
  fetch?: Fetch | undefined;
  /** Milliseconds before one request attempt is abandoned (default 60 000). */
  timeout?: number | undefined;
  /** How many times an idempotent request is retried after a retryable failure (default 2). */
  maxRetries?: number | undefined;
  /** Headers sent with every request; a `null` value removes a header the SDK would send. */
  defaultHeaders?: HeadersInput | undefined;
}

/**
 * The Gatehouse client. Resources mirror the REST API's URLs: `gatehouse.providers`,
 * `gatehouse.providers.deployments`, `gatehouse.providers.setupSessions`, `gatehouse.providers.authConfigs`,
 * `gatehouse.sessions`, `gatehouse.sessions.tools`, `gatehouse.sessions.toolCalls`, `gatehouse.webhooks`,
 * `gatehouse.webhooks.deliveries`.
 *
 * It has no runtime dependencies and uses the global `fetch`, so it runs in Node 20+, browsers, Deno,
 * Bun and edge runtimes.
 *
 * @example
 * ```ts
 * import { Gatehouse } from '@gatehouse/sdk';
 *
 * const gatehouse = new Gatehouse({ apiKey: process.env.GATEHOUSE_API_KEY, baseUrl: 'http://127.0.0.1:4310' });
 * const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'slack', providerAuthMethodId: 'oauth' });
 * // send the user to setupSession.url, then:
 * const completed = await gatehouse.waitForSetupSession([setupSession]);
 * console.log(completed.authConfig?.id);
 * ```
 */
export class Gatehouse {
  /** The base URL used when neither the option nor `GATEHOUSE_BASE_URL` is set. */
  static readonly DEFAULT_BASE_URL = 'http://127.0.0.1:4310';
  /** The default per-attempt timeout, in milliseconds. */
  static readonly DEFAULT_TIMEOUT = 60_000;
  /** The default number of retries. */
  static readonly DEFAULT_MAX_RETRIES = 2;

  /** The API key. Not enumerable, so it stays out of `console.log(gatehouse)` and `JSON.stringify`. */
  declare readonly apiKey: string;
  /** The server's base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** The per-attempt timeout in milliseconds. */
  readonly timeout: number;
  /** Retries of idempotent requests. */
  readonly maxRetries: number;

  /** Providers, and through them deployments, setup sessions and auth configs. */
  readonly providers: Providers;
  /** Agent sessions, and through them their tools and tool calls. */
  readonly sessions: Sessions;
  /** Webhook endpoints, and through them their delivery logs. */
  readonly webhooks: Webhooks;

  readonly #http: HttpClient;

  /**
   * @param options - see {@link ClientOptions}
   * @throws GatehouseError when no API key is given or found, or an option is invalid
   */
  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? readEnv('GATEHOUSE_API_KEY');
    if (!apiKey) {
      throw new GatehouseError(
        'Missing Gatehouse API key: pass it as `new Gatehouse({ apiKey })` or set the GATEHOUSE_API_KEY environment variable.',
      );
    }
    const timeout = options.timeout ?? Gatehouse.DEFAULT_TIMEOUT;
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout <= 0) {
      throw new GatehouseError(`\`timeout\` must be a positive number of milliseconds, got ${String(timeout)}.`);
    }
    const maxRetries = options.maxRetries ?? Gatehouse.DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new GatehouseError(`\`maxRetries\` must be a non-negative integer, got ${String(maxRetries)}.`);
    }
    const fetchImplementation = options.fetch ?? defaultFetch();

    Object.defineProperty(this, 'apiKey', { value: apiKey, enumerable: false, writable: false, configurable: false });
    this.baseUrl = (options.baseUrl ?? readEnv('GATEHOUSE_BASE_URL') ?? Gatehouse.DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.timeout = timeout;
    this.maxRetries = maxRetries;
    this.#http = new HttpClient({
      apiKey,
      baseUrl: this.baseUrl,
      fetch: fetchImplementation,
      timeout,
      maxRetries,
      defaultHeaders: { ...options.defaultHeaders },
    });
    this.providers = new Providers(this);
    this.sessions = new Sessions(this);
    this.webhooks = new Webhooks(this);
  }

  /**
   * Waits until one of the given setup sessions is completed and resolves with it; its `authConfig`
   * holds the new auth config. It long-polls `GET /v1/providers/setup-sessions/wait`, so it resolves
   * as soon as the server sees the OAuth callback, not on a polling tick.
   *
   * - One session: rejects at once with `SetupSessionFailedError` or `SetupSessionExpiredError`
   *   when it fails or expires, and with `NotFoundError` when it does not exist (or was deleted).
   * - Several sessions: resolves with the first to complete. A session that fails, expires or no
   *   longer exists is dropped from the wait; as soon as none can still complete, the promise rejects
   *   with the typed error of the last one to end.
   * - `timeoutMs` (default: none, i.e. until the sessions complete or expire server-side) rejects with
   *   `WaitTimeoutError`; `signal` rejects with `APIUserAbortError`.
   * - Network errors, timeouts, `429` and `5xx` during the wait are retried with backoff for as long as
   *   the wait lasts; they do not count against `maxRetries`.
   *
   * @param setupSessions - setup sessions or their ids
   * @param options - `timeoutMs`, `signal`, `pollTimeoutMs` (how long the server may hold each poll, default 25 000)
   *
   * @example
   * ```ts
   * const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'slack', providerAuthMethodId: 'oauth' });
   * // send the user to setupSession.url
   * try {
   *   const completed = await gatehouse.waitForSetupSession([setupSession], { timeoutMs: 10 * 60_000 });
   *   await saveForUser(userId, completed.authConfig!.id);
   * } catch (err) {
   *   if (err instanceof SetupSessionFailedError) console.error('authorization failed:', err.code, err.reason);
   *   else throw err;
   * }
   * ```
   */
  waitForSetupSession(
    setupSessions: ReadonlyArray<ProviderSetupSession | string>,
    options?: WaitForSetupSessionOptions,
  ): Promise<ProviderSetupSession> {
    return waitForSetupSession(this, setupSessions, options);
  }

  /**
   * Runs an agent session over the tools of several providers, acting for one user, and closes it
   * afterwards: creates the session (`init` is the body of `sessions.create`), lists its tools, hands
   * them to `adapter` (e.g. `gatehouseAnthropic` from `@gatehouse/anthropic`), awaits
   * `callback(adapterSession)` and resolves with its result.
   *
   * The session is closed whether the callback returns or throws. When the callback throws, its error is
   * rethrown unchanged even if closing fails too; when only the close fails, the close error is thrown.
   * Nothing is logged. If creating the session or listing its tools fails, the callback is not called.
   *
   * @param adapter - the model-vendor adapter (see {@link ProviderSessionAdapter})
   * @param init - the session's providers (`providerDeploymentId`, and `providerAuthConfigId` for providers
   *   that act for the user) and `metadata`
   * @param callback - the agent loop; receives the adapter's session
   * @param options - per-call options for creating, listing and closing the session (the close ignores `signal`)
   * @returns what `callback` returns
   *
   * @example
   * ```ts
   * import Anthropic from '@anthropic-ai/sdk';
   * import { Gatehouse } from '@gatehouse/sdk';
   * import { gatehouseAnthropic } from '@gatehouse/anthropic';
   *
   * const gatehouse = new Gatehouse({ apiKey: process.env.GATEHOUSE_API_KEY, baseUrl: 'http://127.0.0.1:4310' });
   * const anthropic = new Anthropic();
   *
   * await gatehouse.withProviderSession(gatehouseAnthropic, {
   *   providers: [
   *     { providerDeploymentId: 'pde_github', providerAuthConfigId: githubAuthConfigId },
   *     { providerDeploymentId: 'pde_exa' },
   *   ],
   * }, async session => {
   *   // session.tools: Anthropic tool definitions; session.callTools(toolUseBlocks): the tool_result message
   *   const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Summarize my open GitHub issues.' }];
   *   for (;;) {
   *     const response = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 4096, tools: session.tools, messages });
   *     messages.push({ role: 'assistant', content: response.content });
   *     if (response.stop_reason !== 'tool_use') break;
   *     messages.push(await session.callTools(response.content));
   *   }
   * });
   * ```
   */
  withProviderSession<TSession, TResult>(
    adapter: ProviderSessionAdapter<TSession>,
    init: SessionCreateParams,
    callback: (session: TSession) => TResult | PromiseLike<TResult>,
    options?: RequestOptions,
  ): Promise<TResult> {
    return withProviderSession(this, adapter, init, callback, options);
  }

  /**
   * Sends one raw API call with the client's authentication, retries and case conversion. The resource
   * methods are built on this; use it for endpoints the SDK does not wrap yet.
   *
   * @param request - method, path (under the base URL, e.g. `/v1/providers`), query, body, options
   * @returns the answer body in SDK form (camelCase)
   *
   * @example
   * ```ts
   * const provider = await gatehouse.request<Provider>({ method: 'GET', path: '/v1/providers/slack' });
   * ```
   */
  request<T>(request: APIRequest): Promise<T> {
    return this.#http.request<T>(request);
  }

  /**
   * Sends a cursor-paginated `GET` list call and returns its {@link PagePromise}.
   *
   * @param path - the list path, e.g. `/v1/providers/auth-configs`
   * @param query - filters in SDK form (`cursor` is managed by the page)
   * @param options - per-call options, reused for every page
   *
   * @example
   * ```ts
   * for await (const provider of gatehouse.requestList<Provider>('/v1/providers')) console.log(provider.id);
   * ```
   */
  requestList<Item>(path: string, query: QueryParams = {}, options?: RequestOptions): PagePromise<Item> {
    return paginate<Item>((cursor) =>
      this.#http.request<CursorPageBody<Item>>({
        method: 'GET',
        path,
        query: cursor === undefined ? query : { ...query, cursor },
        options,
      }),
    );
  }
}

function defaultFetch(): Fetch {
  if (typeof globalThis.fetch !== 'function') {
    throw new GatehouseError('No global `fetch` found: pass one as `new Gatehouse({ fetch })`.');
  }
  // Looked up at call time, so a fetch installed later (polyfill, test interceptor) is honoured,
  // and called unbound from `globalThis` to avoid "Illegal invocation" in browsers.
  return (input, init) => globalThis.fetch(input, init);
}
