import type { Gatehouse } from '../../client.js';
import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { Metadata, Session, SessionStatus } from '../../types.js';
import { ToolCalls } from './tool-calls.js';
import { SessionTools } from './tools.js';

/** One provider of a new session. */
export interface SessionProviderParams {
  /** The deployment (`pde_…`) whose tools the session gets. */
  providerDeploymentId: string;
  /**
   * The auth config (`pac_…`) the tools act with: the user's authorization, from a completed setup session.
   * Omit it for a provider that needs no per-user authorization.
   */
  providerAuthConfigId?: string | null;
}

/** Body of `gatehouse.sessions.create` (and the `init` of `gatehouse.withProviderSession`). */
export interface SessionCreateParams {
  /** The providers whose tools the session gets; each tool name is unique across them. */
  providers: SessionProviderParams[];
  metadata?: Metadata;
}

/** Filters of `gatehouse.sessions.list`. */
export interface SessionListParams extends CursorPageParams {
  status?: SessionStatus;
}

const BASE_PATH = '/v1/sessions';

/**
 * `gatehouse.sessions`: agent sessions (`ses_…`) over the tools of several providers, acting for one user,
 * and the nested resources `tools` and `toolCalls`. Most apps use `gatehouse.withProviderSession`, which
 * creates a session, hands it to a model adapter and closes it.
 */
export class Sessions extends APIResource {
  /** `gatehouse.sessions.tools`: a session's tools. */
  readonly tools: SessionTools;
  /** `gatehouse.sessions.toolCalls`: calling a session's tools. */
  readonly toolCalls: ToolCalls;

  /** @param client - the client */
  constructor(client: Gatehouse) {
    super(client);
    this.tools = new SessionTools(client);
    this.toolCalls = new ToolCalls(client);
  }

  /**
   * Opens a session. The answer's `mcp.secret` is shown only here.
   *
   * @example
   * ```ts
   * const session = await gatehouse.sessions.create({
   *   providers: [
   *     { providerDeploymentId: 'pde_github', providerAuthConfigId: githubAuthConfigId },
   *     { providerDeploymentId: 'pde_exa' },
   *   ],
   *   metadata: { userId: 'u_123' },
   * });
   * ```
   */
  create(params: SessionCreateParams, options?: RequestOptions): Promise<Session> {
    return this._client.request({ method: 'POST', path: BASE_PATH, body: params, options });
  }

  /**
   * Fetches one session (without `mcp.secret`).
   *
   * @example
   * ```ts
   * const session = await gatehouse.sessions.get('ses_...');
   * console.log(session.status, session.providers.map((provider) => provider.providerId));
   * ```
   */
  get(id: string, options?: RequestOptions): Promise<Session> {
    return this._client.request({ method: 'GET', path: `${BASE_PATH}/${pathSegment(id, 'session')}`, options });
  }

  /**
   * Lists sessions, newest first.
   *
   * @example
   * ```ts
   * for await (const session of gatehouse.sessions.list({ status: 'active' })) console.log(session.id);
   * ```
   */
  list(params: SessionListParams = {}, options?: RequestOptions): PagePromise<Session> {
    return this._client.requestList(BASE_PATH, params, options);
  }

  /**
   * Closes a session: it takes no more tool calls and its MCP endpoint stops answering. Closing is
   * idempotent, so this call is retried like a `GET`.
   *
   * @example
   * ```ts
   * const closed = await gatehouse.sessions.close(session.id);
   * console.log(closed.status, closed.closedAt); // 'closed', '2025-…'
   * ```
   */
  close(id: string, options?: RequestOptions): Promise<Session> {
    return this._client.request({
      method: 'POST',
      path: `${BASE_PATH}/${pathSegment(id, 'session')}/close`,
      // An empty JSON object rather than no body: a server that insists on a JSON content type for every POST accepts it.
      body: {},
      options,
      retryable: true,
    });
  }
}
