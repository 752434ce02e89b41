import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { DeletedAuthConfig, Metadata, ProviderAuthConfig, ProviderAuthConfigEvent, ProviderAuthConfigStatus } from '../../types.js';

/** Filters of `gatehouse.providers.authConfigs.list`. */
export interface ProviderAuthConfigListParams extends CursorPageParams {
  providerId?: string;
  providerDeploymentId?: string;
  status?: ProviderAuthConfigStatus;
  /** Only auth configs whose metadata has all these key/value pairs (sent as `metadata[key]=value`). */
  metadata?: Metadata;
}

const BASE_PATH = '/v1/providers/auth-configs';

/** `gatehouse.providers.authConfigs`: users' stored credentials (`pac_…`); secrets are never returned. */
export class AuthConfigs extends APIResource {
  /**
   * Lists auth configs, newest first, optionally filtered by provider, deployment, status or metadata.
   *
   * @example
   * ```ts
   * for await (const authConfig of gatehouse.providers.authConfigs.list({
   *   providerId: 'slack',
   *   metadata: { userId: 'u_123' },
   * })) {
   *   console.log(authConfig.id, authConfig.status);
   * }
   * ```
   */
  list(params: ProviderAuthConfigListParams = {}, options?: RequestOptions): PagePromise<ProviderAuthConfig> {
    return this._client.requestList(BASE_PATH, params, options);
  }

  /**
   * Fetches one auth config.
   *
   * @example
   * ```ts
   * const authConfig = await gatehouse.providers.authConfigs.get('pac_...');
   * if (authConfig.status === 'reauthorization_required') {
   *   // start a new setup session for this user
   * }
   * ```
   */
  get(id: string, options?: RequestOptions): Promise<ProviderAuthConfig> {
    return this._client.request({ method: 'GET', path: `${BASE_PATH}/${pathSegment(id, 'provider auth config')}`, options });
  }

  /**
   * Deletes an auth config (the server revokes the tokens at the provider where it can).
   *
   * @example
   * ```ts
   * const { revocation } = await gatehouse.providers.authConfigs.delete('pac_...');
   * if (!revocation.confirmed) console.warn('The provider did not confirm the revocation:', revocation.error);
   * ```
   */
  delete(id: string, options?: RequestOptions): Promise<DeletedAuthConfig> {
    return this._client.request({ method: 'DELETE', path: `${BASE_PATH}/${pathSegment(id, 'provider auth config')}`, options });
  }

  /**
   * The history of an auth config, newest first: creation, refreshes, failures, status changes.
   *
   * @example
   * ```ts
   * for await (const event of gatehouse.providers.authConfigs.events('pac_...')) console.log(event.type, event.errorCode);
   * ```
   */
  events(id: string, params: CursorPageParams = {}, options?: RequestOptions): PagePromise<ProviderAuthConfigEvent> {
    return this._client.requestList<ProviderAuthConfigEvent>(`${BASE_PATH}/${pathSegment(id, "provider auth config")}/events`, { ...params }, options);
  }
}
