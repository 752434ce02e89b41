/**
 * The objects of the Gatehouse API in SDK form (camelCase). The wire form (snake_case) is documented in
 * `docs/api.md`; the SDK converts every key except those inside `metadata`, `inputSchema`, `arguments`,
 * `annotations`, `content` and `structuredContent`, which are kept exactly as the wire has them.
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
  /** Shown on the hosted setup page; `null` means the provider name. */
  name: string | null;
  /** `mcp`: the endpoints are discovered from the provider's MCP server (RFC 9728) and a client is registered by RFC 7591. */
  discovery: 'mcp' | null;
  /** The authorization server's issuer identifier, checked against `iss` on the callback (RFC 9207) when set. */
  issuer: string | null;
  /** `null` with discovery `mcp`. */
  authorizationUrl: string | null;
  /** `null` with discovery `mcp`. */
  tokenUrl: string | null;
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
  /** Shown on the hosted setup page; `null` means the provider name. */
  name: string | null;
  /** The field label shown on the setup page, e.g. `API key`. */
  label: string;
  /** Where the user finds the key. */
  description: string | null;
}

/** How a user authorizes a provider; a provider that needs no per-user authorization has none (`authMethods: []`). */
export type ProviderAuthMethod = ProviderOAuth2AuthMethod | ProviderApiKeyAuthMethod;

/** The MCP server that holds a provider's tools. */
export interface ProviderMcpServer {
  /** The remote MCP endpoint; `null` for a local (stdio) server that the operator configured. */
  url: string | null;
  transport?: 'streamable-http' | 'sse' | 'stdio';
}

/** A service users can authorize (`slack`, `github`, or a custom `pro_…`). */
export interface Provider {
  object: 'provider';
  /** A slug for catalog providers, the id you chose or a `pro_…` id for custom ones. */
  id: string;
  name: string;
  description: string | null;
  /** The provider's developer documentation. */
  docsUrl: string | null;
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
  /** Whether the deployment has credentials of its own (write-only, e.g. the operator's API key). */
  hasCredentials: boolean;
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
  /** When the access token was last refreshed. */
  lastRefreshedAt: Timestamp | null;
  /** The class of the last refresh failure (`invalid_grant`, `token_endpoint_unavailable`, …). */
  lastError: { code: string; at: Timestamp | null } | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** One entry of an auth config's history (`GET /v1/providers/auth-configs/:id/events`). */
export interface ProviderAuthConfigEvent {
  object: 'provider_auth_config_event';
  id: string;
  authConfigId: string;
  type: 'created' | 'refreshed' | 'refresh_failed' | 'status_changed' | 'reauthorized' | 'revoked';
  fromStatus: ProviderAuthConfigStatus | null;
  toStatus: ProviderAuthConfigStatus | null;
  errorCode: string | null;
  createdAt: Timestamp;
}

/** One end user's authorization in progress (`pas_…`). Send the user to `url`. */
export interface ProviderSetupSession {
  object: 'provider_setup_session';
  id: string;
  providerId: string;
  providerAuthMethodId: string;
  providerDeploymentId: string;
  /** Set for a re-authorization: the auth config whose credentials this session renews. */
  providerAuthConfigId: string | null;
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

/** What revoking an auth config's tokens at the provider (RFC 7009) achieved. */
export interface Revocation {
  /** False when the provider has no revocation endpoint or the credentials are not an OAuth grant. */
  attempted: boolean;
  /** True when the provider confirmed every revocation request. */
  confirmed: boolean;
  /** Why it was not confirmed, as a short code. */
  error: string | null;
}

/** The answer to deleting an auth config: it is gone, and whether the provider confirmed revocation. */
export interface DeletedAuthConfig extends DeletedObject {
  revocation: Revocation;
}

/** Whether a session still accepts tool calls. */
export type SessionStatus = 'active' | 'closed';

/** One provider of a session: which deployment, acting with which user's auth config. */
export interface SessionProvider {
  /** The provider, e.g. `github`. */
  providerId: string;
  /** The deployment (`pde_…`) whose tool server the session uses. */
  providerDeploymentId: string;
  /** The auth config (`pac_…`) the tools act with, or `null` for a provider that needs no per-user authorization. */
  providerAuthConfigId: string | null;
}

/** The session's tools as one MCP server (Streamable HTTP), for agents that speak MCP themselves. */
export interface SessionMcp {
  /** The endpoint, e.g. `http://127.0.0.1:4310/mcp/sessions/ses_…`. */
  url: string;
  /**
   * A bearer secret (`gms_…`) for `url`. Present only in the answer to `sessions.create` (the server keeps
   * just its hash); the project's API key is accepted too.
   */
  secret?: string;
}

/** An agent session (`ses_…`) over the tools of several providers, acting for one user. */
export interface Session {
  object: 'session';
  id: string;
  status: SessionStatus;
  providers: SessionProvider[];
  metadata: Metadata;
  mcp: SessionMcp;
  createdAt: Timestamp;
  closedAt: Timestamp | null;
}

/**
 * A tool's input JSON Schema, exactly as its MCP server declared it: property names are the tool's
 * argument names and are never case-converted.
 */
export interface SessionToolInputSchema {
  type: 'object';
  properties?: Record<string, unknown>;
  required?: string[];
  [key: string]: unknown;
}

/** MCP tool annotations (hints about a tool's behaviour), exactly as the MCP server declared them. */
export interface SessionToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
  [key: string]: unknown;
}

/** One tool of a session: a provider's MCP tool under a name unique within the session. */
export interface SessionTool {
  /**
   * The name to call it by (e.g. `github__create_issue`): stable (the same tool has the same name in
   * every session), at most 64 characters of `[a-zA-Z0-9_-]`, so it fits every model vendor's limits.
   */
  name: string;
  /** What the tool does, from its MCP server (`null` when the server gave none). */
  description: string | null;
  /** Its input JSON Schema, untouched. */
  inputSchema: SessionToolInputSchema;
  providerId: string;
  providerDeploymentId: string;
  /** The tool's name on its MCP server, e.g. `create_issue`. */
  originalName: string;
  annotations: SessionToolAnnotations | null;
}

/** MCP annotations of a content block. */
export interface McpContentAnnotations {
  audience?: Array<'user' | 'assistant'>;
  priority?: number;
  lastModified?: string;
  [key: string]: unknown;
}

/** MCP text content. */
export interface McpTextContent {
  type: 'text';
  text: string;
  annotations?: McpContentAnnotations;
  _meta?: Record<string, unknown>;
}

/** MCP image content: base64 `data` of type `mimeType`. */
export interface McpImageContent {
  type: 'image';
  /** Base64-encoded bytes. */
  data: string;
  /** E.g. `image/png`. */
  mimeType: string;
  annotations?: McpContentAnnotations;
  _meta?: Record<string, unknown>;
}

/** MCP audio content: base64 `data` of type `mimeType`. */
export interface McpAudioContent {
  type: 'audio';
  data: string;
  mimeType: string;
  annotations?: McpContentAnnotations;
  _meta?: Record<string, unknown>;
}

/** The text of an embedded MCP resource. */
export interface McpTextResourceContents {
  uri: string;
  mimeType?: string;
  text: string;
  _meta?: Record<string, unknown>;
}

/** The bytes of an embedded MCP resource. */
export interface McpBlobResourceContents {
  uri: string;
  mimeType?: string;
  /** Base64-encoded bytes. */
  blob: string;
  _meta?: Record<string, unknown>;
}

/** An MCP resource embedded in a result. */
export interface McpEmbeddedResource {
  type: 'resource';
  resource: McpTextResourceContents | McpBlobResourceContents;
  annotations?: McpContentAnnotations;
  _meta?: Record<string, unknown>;
}

/** A link to an MCP resource the client may read. */
export interface McpResourceLink {
  type: 'resource_link';
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  size?: number;
  annotations?: McpContentAnnotations;
  _meta?: Record<string, unknown>;
}

/**
 * One block of a tool's result, as MCP defines it (its keys are MCP's own, e.g. `mimeType`, and are never
 * case-converted). Newer MCP versions may add types: handle an unknown `type` too.
 */
export type McpContentBlock = McpTextContent | McpImageContent | McpAudioContent | McpEmbeddedResource | McpResourceLink;

/** The outcome of a tool call. */
export type ToolCallStatus = 'succeeded' | 'failed';

/**
 * Why a tool call failed (`toolCall.error.code`). Typed as open (`string & {}`) so that a newer server's
 * code does not break older clients.
 */
export type ToolCallErrorCode =
  | 'unknown_tool'
  | 'tool_server_unavailable'
  | 'tool_timeout'
  | 'cancelled'
  | 'tool_result_too_large'
  | 'reauthorization_required'
  | 'token_refresh_failed'
  | 'tool_forbidden'
  | 'tool_server_error'
  | (string & {});

/** Why a tool call failed. */
export interface ToolCallError {
  code: ToolCallErrorCode;
  message: string;
}

/**
 * One tool call (`tcl_…`). A call that failed is still a `ToolCall` (with `status: 'failed'`, `isError: true`
 * and `error` set), never an exception: hand it to the model as an error result.
 */
export interface ToolCall {
  object: 'tool_call';
  id: string;
  sessionId: string;
  /** The session tool's name, e.g. `github__create_issue`. */
  toolName: string;
  providerId: string;
  /** The tool's name on its MCP server, e.g. `create_issue`. */
  originalName: string;
  status: ToolCallStatus;
  /** `true` when the tool reported an error or the call failed. */
  isError: boolean;
  /** The result's MCP content blocks, untouched (bounded in lists). */
  content: McpContentBlock[];
  /** The tool's structured result, untouched, or `null`. */
  structuredContent: Record<string, unknown> | null;
  /** Set when `status` is `failed`. */
  error: ToolCallError | null;
  durationMs: number;
  createdAt: Timestamp;
}
