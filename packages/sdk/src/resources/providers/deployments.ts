import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { DeletedObject, Metadata, ProviderDeployment } from '../../types.js';

/** The OAuth client of a deployment ("bring your own"); the secret is stored encrypted and never returned. */
export interface ProviderDeploymentOAuthClientParams {
  clientId: string;
  clientSecret?: string;
}

/** Body of `gatehouse.providers.deployments.create`. */
export interface ProviderDeploymentCreateParams {
  /** The provider to deploy, e.g. `slack`. */
  providerId: string;
  name?: string;
  oauthClient?: ProviderDeploymentOAuthClientParams;
  /** Credentials of the deployment itself, used when a session names no auth config (write-only). */
  credentials?: ProviderDeploymentCredentialsParams;
  metadata?: Metadata;
}

/** Deployment-level credentials: e.g. the operator's own API key for every user of the deployment. */
export interface ProviderDeploymentCredentialsParams {
  apiKey: string;
}

/** Body of `gatehouse.providers.deployments.update`: only the fields given change. */
export interface ProviderDeploymentUpdateParams {
  name?: string | null;
  /** `null` removes the OAuth client. */
  oauthClient?: ProviderDeploymentOAuthClientParams | null;
  /** `null` removes the deployment's own credentials. */
  credentials?: ProviderDeploymentCredentialsParams | null;
  /** Replaces the metadata. */
  metadata?: Metadata;
}

/** Filters of `gatehouse.providers.deployments.list`. */
export interface ProviderDeploymentListParams extends CursorPageParams {
  providerId?: string;
}

const BASE_PATH = '/v1/providers/deployments';

/** `gatehouse.providers.deployments`: providers configured in your project (`pde_…`). */
export class Deployments extends APIResource {
  /**
   * Configures a provider in the project, with your own OAuth client if it uses OAuth.
   *
   * @example
   * ```ts
   * const deployment = await gatehouse.providers.deployments.create({
   *   providerId: 'slack',
   *   name: 'Slack (prod)',
   *   oauthClient: { clientId: process.env.SLACK_CLIENT_ID!, clientSecret: process.env.SLACK_CLIENT_SECRET! },
   * });
   * console.log(deployment.callbackUrl); // register this redirect URI with Slack
   * ```
   */
  create(params: ProviderDeploymentCreateParams, options?: RequestOptions): Promise<ProviderDeployment> {
    return this._client.request({ method: 'POST', path: BASE_PATH, body: params, options });
  }

  /**
   * Lists the project's deployments, newest first.
   *
   * @example
   * ```ts
   * for await (const deployment of gatehouse.providers.deployments.list({ providerId: 'slack' })) {
   *   console.log(deployment.id, deployment.name);
   * }
   * ```
   */
  list(params: ProviderDeploymentListParams = {}, options?: RequestOptions): PagePromise<ProviderDeployment> {
    return this._client.requestList(BASE_PATH, params, options);
  }

  /**
   * Fetches one deployment.
   *
   * @example
   * ```ts
   * const deployment = await gatehouse.providers.deployments.get('pde_...');
   * ```
   */
  get(id: string, options?: RequestOptions): Promise<ProviderDeployment> {
    return this._client.request({ method: 'GET', path: `${BASE_PATH}/${pathSegment(id, 'provider deployment')}`, options });
  }

  /**
   * Changes a deployment's name, OAuth client or metadata.
   *
   * @example
   * ```ts
   * await gatehouse.providers.deployments.update('pde_...', { oauthClient: { clientId: 'new-id', clientSecret: 'new-secret' } });
   * ```
   */
  update(id: string, params: ProviderDeploymentUpdateParams, options?: RequestOptions): Promise<ProviderDeployment> {
    return this._client.request({
      method: 'PATCH',
      path: `${BASE_PATH}/${pathSegment(id, 'provider deployment')}`,
      body: params,
      options,
    });
  }

  /**
   * Deletes a deployment.
   *
   * @example
   * ```ts
   * await gatehouse.providers.deployments.delete('pde_...');
   * ```
   */
  delete(id: string, options?: RequestOptions): Promise<DeletedObject> {
    return this._client.request({ method: 'DELETE', path: `${BASE_PATH}/${pathSegment(id, 'provider deployment')}`, options });
  }
}
