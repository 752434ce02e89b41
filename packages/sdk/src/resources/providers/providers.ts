import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { Gatehouse } from '../../client.js';
import type { DeletedObject, Provider } from '../../types.js';
import { AuthConfigs } from './auth-configs.js';
import { Deployments } from './deployments.js';
import { SetupSessions } from './setup-sessions.js';

/** An OAuth 2.0 method of a custom provider. */
export interface ProviderOAuth2AuthMethodParams {
  /** The method id within the provider, e.g. `oauth`. */
  id: string;
  type: 'oauth2';
  /** The issuer identifier, checked against `iss` on the callback (RFC 9207). */
  issuer?: string | null;
  authorizationUrl: string;
  tokenUrl: string;
  /** The RFC 7009 revocation endpoint. */
  revocationUrl?: string | null;
  scopes?: string[];
}

/** An API-key method of a custom provider. */
export interface ProviderApiKeyAuthMethodParams {
  id: string;
  type: 'api_key';
  label?: string;
  description?: string | null;
  /** How the key reaches the tool server: a header (with an optional prefix such as `Bearer `). */
  injection?: { header?: string; prefix?: string };
}

/** A custom provider that needs no per-user authorization. */
export interface ProviderNoneAuthMethodParams {
  id: string;
  type: 'none';
}

/** An auth method of a custom provider. */
export type ProviderAuthMethodParams =
  | ProviderOAuth2AuthMethodParams
  | ProviderApiKeyAuthMethodParams
  | ProviderNoneAuthMethodParams;

/** Body of `gatehouse.providers.create`. */
export interface ProviderCreateParams {
  /** Your id for the provider; the server assigns a `pro_…` id when omitted. */
  id?: string;
  name: string;
  authMethods: ProviderAuthMethodParams[];
  /** The MCP server that serves the provider's tools. */
  /** The provider's remote tool server (`transport` defaults to Streamable HTTP). */
  mcpServer?: { url: string; transport?: 'streamable-http' | 'sse' } | null;
}

/** Parameters of `gatehouse.providers.list`. */
export type ProviderListParams = CursorPageParams;

const BASE_PATH = '/v1/providers';

/**
 * `gatehouse.providers`: the services users can authorize (catalog ones and your custom ones), and the
 * nested resources `deployments`, `setupSessions` and `authConfigs`.
 */
export class Providers extends APIResource {
  /** `gatehouse.providers.deployments`: providers configured in your project. */
  readonly deployments: Deployments;
  /** `gatehouse.providers.setupSessions`: end users' authorizations in progress. */
  readonly setupSessions: SetupSessions;
  /** `gatehouse.providers.authConfigs`: users' stored credentials. */
  readonly authConfigs: AuthConfigs;

  /** @param client - the client */
  constructor(client: Gatehouse) {
    super(client);
    this.deployments = new Deployments(client);
    this.setupSessions = new SetupSessions(client);
    this.authConfigs = new AuthConfigs(client);
  }

  /**
   * Lists the catalog providers and the project's custom providers.
   *
   * @example
   * ```ts
   * for await (const provider of gatehouse.providers.list()) {
   *   console.log(provider.id, provider.authMethods.map((method) => method.type));
   * }
   * ```
   */
  list(params: ProviderListParams = {}, options?: RequestOptions): PagePromise<Provider> {
    return this._client.requestList(BASE_PATH, params, options);
  }

  /**
   * Fetches one provider.
   *
   * @example
   * ```ts
   * const slack = await gatehouse.providers.get('slack');
   * ```
   */
  get(id: string, options?: RequestOptions): Promise<Provider> {
    return this._client.request({ method: 'GET', path: `${BASE_PATH}/${pathSegment(id, 'provider')}`, options });
  }

  /**
   * Creates a custom provider.
   *
   * @example
   * ```ts
   * const provider = await gatehouse.providers.create({
   *   id: 'acme',
   *   name: 'Acme',
   *   authMethods: [{
   *     id: 'oauth',
   *     type: 'oauth2',
   *     issuer: 'https://auth.acme.com',
   *     authorizationUrl: 'https://auth.acme.com/authorize',
   *     tokenUrl: 'https://auth.acme.com/token',
   *     revocationUrl: 'https://auth.acme.com/revoke',
   *     scopes: ['read'],
   *   }],
   *   mcpServer: { url: 'https://mcp.acme.com/mcp' },
   * });
   * ```
   */
  create(params: ProviderCreateParams, options?: RequestOptions): Promise<Provider> {
    return this._client.request({ method: 'POST', path: BASE_PATH, body: params, options });
  }

  /**
   * Deletes a custom provider (catalog providers cannot be deleted).
   *
   * @example
   * ```ts
   * await gatehouse.providers.delete('acme');
   * ```
   */
  delete(id: string, options?: RequestOptions): Promise<DeletedObject> {
    return this._client.request({ method: 'DELETE', path: `${BASE_PATH}/${pathSegment(id, 'provider')}`, options });
  }
}
