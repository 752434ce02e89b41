import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { Gatehouse } from '../../client.js';
import type { DeletedObject, Provider } from '../../types.js';
import { AuthConfigs } from './auth-configs.js';
import { Deployments } from './deployments.js';
import { SetupSessions } from './setup-sessions.js';

/**
 * An OAuth 2.0 method of a custom provider. Mirrors the server's provider schema exactly: an unknown
 * field, or `null` where a field is optional, is refused with `400`.
 */
export interface ProviderOAuth2AuthMethodParams {
  /** The method id within the provider, e.g. `oauth` (2-63 characters of a-z, 0-9, `-`, `_`). */
  id: string;
  type: 'oauth2';
  /** Shown on the hosted setup page; defaults to the provider name. */
  name?: string;
  /**
   * The issuer identifier. Set it only when the provider publishes RFC 8414 / OpenID Connect metadata:
   * it enables discovery and the `iss` check on the callback (RFC 9207). Leave it out otherwise.
   */
  issuer?: string;
  /**
   * `mcp`: the provider's remote MCP server runs its own OAuth. Gatehouse discovers the authorization
   * server from `mcpServer.url` (RFC 9728, RFC 8414), registers a client for each deployment that has
   * no `oauthClient` (RFC 7591), and names the MCP server as `resource` (RFC 8707). Leave out
   * `issuer`, `authorizationUrl`, `tokenUrl` and `revocationUrl` then.
   */
  discovery?: 'mcp';
  /** Required unless `discovery` is set. */
  authorizationUrl?: string;
  /** Required unless `discovery` is set. */
  tokenUrl?: string;
  /** The RFC 7009 revocation endpoint; leave it out when the provider has none. */
  revocationUrl?: string;
  /** The scopes requested by default (may be empty; with discovery `mcp`, empty means the MCP server's `scopes_supported`). */
  scopes?: string[];
  /** Descriptions of some of `scopes`, shown on the consent page; keys are sent as written. */
  scopeDescriptions?: Record<string, string>;
  /** How scopes are joined (default `' '`; Slack uses `','`). */
  scopeSeparator?: string;
  /** The query parameter carrying the scopes (default `scope`; Slack user tokens use `user_scope`). */
  scopeParameter?: string;
  /** Client authentication at the token endpoint (default `client_secret_basic`). */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Extra authorization request parameters, e.g. `{ access_type: 'offline' }`; keys are sent as written. */
  authorizationParams?: Record<string, string>;
  /** Dotted path of the access token in the token response (default `access_token`; Slack: `authed_user.access_token`). */
  accessTokenPath?: string;
  /** Refresh this many seconds before the access token expires (0-86400). */
  refreshWindowSeconds?: number;
}

/** How a pasted API key reaches the tool server: a header (with an optional prefix such as `Bearer `). */
export interface ProviderApiKeyInjection {
  /** The request header, e.g. `x-api-key` or `authorization`. */
  header: string;
  /** Put before the key, e.g. `Bearer ` (with its space). */
  prefix?: string;
}

/** An API-key method of a custom provider: the user pastes a key on the hosted setup page. */
export interface ProviderApiKeyAuthMethodParams {
  id: string;
  type: 'api_key';
  /** Shown on the hosted setup page; defaults to the provider name. */
  name?: string;
  /** The form field label, e.g. `API key`. */
  label: string;
  /** Help text under the field: where to find the key. */
  description?: string;
  /** Placeholder of the form field. */
  placeholder?: string;
  /** Where the user creates a key. */
  docsUrl?: string;
  injection: ProviderApiKeyInjection;
}

/**
 * An auth method of a custom provider. A provider that needs no per-user authorization has none:
 * pass `authMethods: []`.
 */
export type ProviderAuthMethodParams = ProviderOAuth2AuthMethodParams | ProviderApiKeyAuthMethodParams;

/** Body of `gatehouse.providers.create`. */
export interface ProviderCreateParams {
  /** Your id for the provider (2-63 characters of a-z, 0-9 and `-`, starting with a letter). */
  id: string;
  name: string;
  description?: string;
  /** The provider's developer documentation. */
  docsUrl?: string;
  /** How a user authorizes; `[]` when the provider needs no per-user authorization. */
  authMethods: ProviderAuthMethodParams[];
  /** The provider's remote tool server (`transport` defaults to Streamable HTTP). */
  mcpServer?: { url: string; transport?: 'streamable-http' | 'sse' };
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
