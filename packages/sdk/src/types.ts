/**
 * The objects of the Gatehouse API in SDK form (camelCase). The wire form (snake_case) is documented in
 * `docs/api.md`; the SDK converts every key except those inside `metadata`.
 */

/**
 * Your own key/value data attached to an object (e.g. `{ userId: 'u_123' }`). Its keys are sent and
 * returned exactly as written, never case-converted. Auth configs can be listed by metadata.
 */
export type Metadata = Record<string, string>;

/** An ISO 8601 timestamp, e.g. `2025-01-31T12:00:00.000Z`. */
export type Timestamp = string;

/** An OAuth 2.0 authorization-code method of a provider. */
export interface ProviderOAuth2AuthMethod {
  /** The method id within its provider, e.g. `oauth`. */
  id: string;
  type: 'oauth2';
  /** The authorization server's issuer identifier, checked against `iss` on the callback (RFC 9207) when set. */
  issuer: string | null;
  authorizationUrl: string;
  tokenUrl: string;
  /** The RFC 7009 revocation endpoint, used when an auth config is deleted. */
  revocationUrl: string | null;
  /** The scopes requested by default. */
  scopes: string[];
}

/** An API-key method: the user pastes a key on the hosted setup page. */
export interface ProviderApiKeyAuthMethod {
  /** The method id within its provider, e.g. `api_key`. */
  id: string;
  type: 'api_key';
  /** The field label shown on the setup page, e.g. `API key`. */
  label: string;
  /** Where the user finds the key. */
  description: string | null;
}

/** A provider that needs no per-user authorization. */
export interface ProviderNoneAuthMethod {
  id: string;
  type: 'none';
}

/** How a user authorizes a provider. */
export type ProviderAuthMethod = ProviderOAuth2AuthMethod | ProviderApiKeyAuthMethod | ProviderNoneAuthMethod;

/** The MCP server that holds a provider's tools. */
export interface ProviderMcpServer {
  url: string;
}

/** A service users can authorize (`slack`, `github`, or a custom `pro_…`). */
export interface Provider {
  object: 'provider';
  /** A slug for catalog providers, the id you chose or a `pro_…` id for custom ones. */
  id: string;
  name: string;
  /** `catalog` for built-in providers, `custom` for providers created through the API. */
  source: 'catalog' | 'custom';
  authMethods: ProviderAuthMethod[];
  mcpServer: ProviderMcpServer | null;
}

/** The OAuth client of a deployment. The client secret is stored encrypted and never returned. */
export interface ProviderDeploymentOAuthClient {
  clientId: string;
  hasClientSecret: boolean;
}

/** A provider configured in a project (`pde_…`): its OAuth client and settings. */
export interface ProviderDeployment {
  object: 'provider_deployment';
  id: string;
  providerId: string;
  name: string | null;
  oauthClient: ProviderDeploymentOAuthClient | null;
  /** The redirect URI to register with the provider. */
  callbackUrl: string;
  metadata: Metadata;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** Where a setup session is: `pending` until the user finishes, then one of the three final states. */
export type ProviderSetupSessionStatus = 'pending' | 'completed' | 'failed' | 'expired';

/** Why a setup session failed. */
export interface ProviderSetupSessionError {
  /** E.g. `access_denied` (the user said no at the provider). */
  code: string;
  message: string;
}

/** Whether stored credentials can be used. */
export type ProviderAuthConfigStatus = 'active' | 'reauthorization_required' | 'revoked';

/** One user's stored credentials for one provider (`pac_…`). Never carries a secret. */
export interface ProviderAuthConfig {
  object: 'provider_auth_config';
  id: string;
  providerId: string;
  providerDeploymentId: string;
  providerAuthMethodId: string;
  status: ProviderAuthConfigStatus;
  scopes: string[];
  metadata: Metadata;
  accessTokenExpiresAt: Timestamp | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** One end user's authorization in progress (`pas_…`). Send the user to `url`. */
export interface ProviderSetupSession {
  object: 'provider_setup_session';
  id: string;
  providerId: string;
  providerAuthMethodId: string;
  providerDeploymentId: string;
  status: ProviderSetupSessionStatus;
  /** The hosted setup page to send the user to. */
  url: string;
  /** Where the browser goes once the user is done. */
  redirectUrl: string | null;
  metadata: Metadata;
  expiresAt: Timestamp;
  createdAt: Timestamp;
  completedAt: Timestamp | null;
  /** Set when `status` is `failed`. */
  error: ProviderSetupSessionError | null;
  /** Set when `status` is `completed`: store `authConfig.id` for the user. */
  authConfig: ProviderAuthConfig | null;
}

/** The answer of a delete. */
export interface DeletedObject {
  id: string;
  deleted: true;
}
