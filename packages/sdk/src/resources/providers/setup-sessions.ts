import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { Metadata, ProviderSetupSession, ProviderSetupSessionStatus } from '../../types.js';

/** Body of `gatehouse.providers.setupSessions.create`. */
export interface ProviderSetupSessionCreateParams {
  /** The provider the user must authorize, e.g. `slack`. */
  providerId: string;
  /** The auth method, e.g. `oauth` or `api_key`. */
  providerAuthMethodId: string;
  /** Needed when the provider has several deployments in the project. */
  providerDeploymentId?: string;
  /** Where the browser goes afterwards; must be on the project's allow-list. */
  redirectUrl?: string;
  /** Copied to the auth config the session creates. */
  metadata?: Metadata;
  /** How long the session stays open (server default applies when omitted). */
  expiresInSeconds?: number;
  /**
   * Re-authorization: the auth config whose credentials the user renews. Completing the session
   * replaces them in place, so the id your app stored keeps working.
   */
  providerAuthConfigId?: string;
}

/** Filters of `gatehouse.providers.setupSessions.list`. */
export interface ProviderSetupSessionListParams extends CursorPageParams {
  status?: ProviderSetupSessionStatus;
  providerId?: string;
}

/** Query of `gatehouse.providers.setupSessions.wait`. */
export interface ProviderSetupSessionWaitParams {
  /** The sessions to watch. */
  ids: string[];
  /** How long the server may hold the request (it caps this at 30 s). */
  timeoutMs?: number;
}

/** Answer of `gatehouse.providers.setupSessions.wait`. */
export interface ProviderSetupSessionWaitResponse {
  /** The watched sessions; all still `pending` when the server's timeout passed. */
  data: ProviderSetupSession[];
}

const BASE_PATH = '/v1/providers/setup-sessions';

/** `gatehouse.providers.setupSessions`: end users' authorizations in progress (`pas_…`). */
export class SetupSessions extends APIResource {
  /**
   * Starts an authorization: send the user to the returned session's `url`, then wait with
   * `gatehouse.waitForSetupSession([setupSession])`.
   *
   * @example
   * ```ts
   * const setupSession = await gatehouse.providers.setupSessions.create({
   *   providerId: 'slack',
   *   providerAuthMethodId: 'oauth',
   *   redirectUrl: 'https://yourapp.com/oauth/callback',
   *   metadata: { userId: 'u_123' },
   * });
   * redirectUserTo(setupSession.url);
   * ```
   */
  create(params: ProviderSetupSessionCreateParams, options?: RequestOptions): Promise<ProviderSetupSession> {
    return this._client.request({ method: 'POST', path: BASE_PATH, body: params, options });
  }

  /**
   * Fetches one setup session.
   *
   * @example
   * ```ts
   * const setupSession = await gatehouse.providers.setupSessions.get('pas_...');
   * if (setupSession.status === 'completed') console.log(setupSession.authConfig?.id);
   * ```
   */
  get(id: string, options?: RequestOptions): Promise<ProviderSetupSession> {
    return this._client.request({ method: 'GET', path: `${BASE_PATH}/${pathSegment(id, 'setup session')}`, options });
  }

  /**
   * Lists setup sessions, newest first.
   *
   * @example
   * ```ts
   * for await (const setupSession of gatehouse.providers.setupSessions.list({ status: 'pending' })) {
   *   console.log(setupSession.id, setupSession.expiresAt);
   * }
   * ```
   */
  list(params: ProviderSetupSessionListParams = {}, options?: RequestOptions): PagePromise<ProviderSetupSession> {
    return this._client.requestList(BASE_PATH, params, options);
  }

  /**
   * One long-poll: the server answers as soon as one of the sessions is no longer `pending`, or after
   * `timeoutMs` with all of them still pending. Most callers want `gatehouse.waitForSetupSession`,
   * which repeats this call and turns failures into typed errors.
   *
   * @example
   * ```ts
   * const { data } = await gatehouse.providers.setupSessions.wait({ ids: ['pas_...'], timeoutMs: 10_000 });
   * ```
   */
  wait(params: ProviderSetupSessionWaitParams, options?: RequestOptions): Promise<ProviderSetupSessionWaitResponse> {
    return this._client.request({ method: 'GET', path: `${BASE_PATH}/wait`, query: { ...params }, options });
  }
}
