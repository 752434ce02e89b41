import type { AuthMethod, ProviderDefinition } from '../catalog/provider-schema.js';
import type { ResolvedProvider } from '../services/providers.js';
import type { AuthConfigRow } from '../services/auth-configs.js';
import type { DeploymentRow } from '../services/deployments.js';
import type { SetupSessionView } from '../services/setup-sessions.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { SessionTool, UnavailableProvider } from '../gateway/tool-gateway.js';
import type { SessionRow } from '../services/sessions.js';
import type { ToolCallRow } from '../services/tool-calls.js';
import type { AuthConfigEventRow } from '../services/auth-config-events.js';

// Wire shapes (snake_case) of the objects in docs/api.md. These functions are the only way rows
// leave the server, and they copy fields one by one: a secret column cannot slip out by accident.

/** A provider on the wire. */
export function providerToWire(provider: ResolvedProvider) {
  const { definition } = provider;
  return {
    object: 'provider',
    id: definition.id,
    name: definition.name,
    description: definition.description ?? null,
    docs_url: definition.docsUrl ?? null,
    source: provider.source,
    auth_methods: definition.authMethods.map(authMethodToWire),
    mcp_server: mcpServerToWire(definition.mcpServer),
  };
}

function mcpServerToWire(server: ProviderDefinition['mcpServer']) {
  if (!server) return null;
  // A local command is operator configuration: say that it exists, not how it is run.
  if (server.transport === 'stdio') return { url: null, transport: 'stdio' };
  return { url: server.url, transport: server.transport ?? 'streamable-http' };
}

function authMethodToWire(method: AuthMethod) {
  if (method.type === 'oauth2') {
    return {
      id: method.id,
      type: method.type,
      name: method.name ?? null,
      discovery: method.discovery ?? null,
      issuer: method.issuer ?? null,
      authorization_url: method.authorizationUrl ?? null,
      token_url: method.tokenUrl ?? null,
      revocation_url: method.revocationUrl ?? null,
      scopes: method.scopes,
    };
  }
  return {
    id: method.id,
    type: method.type,
    name: method.name ?? null,
    label: method.label,
    description: method.description ?? null,
  };
}

/** A deployment on the wire: the client secret only as `has_client_secret`. */
export function deploymentToWire(row: DeploymentRow, callbackUrl: string) {
  return {
    object: 'provider_deployment',
    id: row.id,
    provider_id: row.providerId,
    name: row.name,
    oauth_client: row.oauthClientId
      ? { client_id: row.oauthClientId, has_client_secret: row.oauthClientSecretCiphertext !== null }
      : null,
    has_credentials: row.credentialsCiphertext !== null,
    callback_url: callbackUrl,
    metadata: row.metadata,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** An auth config on the wire: never its credentials. */
export function authConfigToWire(row: AuthConfigRow) {
  return {
    object: 'provider_auth_config',
    id: row.id,
    provider_id: row.providerId,
    provider_deployment_id: row.deploymentId,
    provider_auth_method_id: row.authMethodId,
    status: row.status,
    scopes: row.scopes,
    metadata: row.metadata,
    access_token_expires_at: row.accessTokenExpiresAt?.toISOString() ?? null,
    last_refreshed_at: row.lastRefreshedAt?.toISOString() ?? null,
    last_error: row.lastErrorCode ? { code: row.lastErrorCode, at: row.lastErrorAt?.toISOString() ?? null } : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** A setup session on the wire, with the auth config it produced. */
export function setupSessionToWire(view: SetupSessionView, publicUrl: string) {
  const { session } = view;
  return {
    object: 'provider_setup_session',
    id: session.id,
    provider_id: session.providerId,
    provider_auth_method_id: session.authMethodId,
    provider_deployment_id: session.deploymentId,
    provider_auth_config_id: session.targetAuthConfigId,
    status: session.status,
    url: `${publicUrl}/setup/${session.id}`,
    redirect_url: session.redirectUrl,
    metadata: session.metadata,
    expires_at: session.expiresAt.toISOString(),
    created_at: session.createdAt.toISOString(),
    completed_at: session.completedAt?.toISOString() ?? null,
    error: session.errorCode ? { code: session.errorCode, message: session.errorMessage ?? '' } : null,
    auth_config: view.authConfig ? authConfigToWire(view.authConfig) : null,
  };
}

/** A session on the wire; `mcpSecret` only in the answer that created it. */
export function sessionToWire(row: SessionRow, publicUrl: string, mcpSecret?: string) {
  return {
    object: 'session',
    id: row.id,
    status: row.status,
    providers: row.providers.map((ref) => ({
      provider_id: ref.providerId,
      provider_deployment_id: ref.deploymentId,
      provider_auth_config_id: ref.authConfigId,
    })),
    metadata: row.metadata,
    mcp: { url: `${publicUrl}/mcp/sessions/${row.id}`, ...(mcpSecret ? { secret: mcpSecret } : {}) },
    created_at: row.createdAt.toISOString(),
    closed_at: row.closedAt?.toISOString() ?? null,
  };
}

/** A session tool on the wire. */
export function sessionToolToWire(tool: SessionTool) {
  return {
    name: tool.name,
    description: tool.description ?? null,
    input_schema: tool.inputSchema,
    provider_id: tool.providerId,
    provider_deployment_id: tool.deploymentId,
    original_name: tool.originalName,
    annotations: tool.annotations ?? null,
  };
}

/** A provider whose tools could not be listed. */
export function unavailableProviderToWire(provider: UnavailableProvider) {
  return { provider_id: provider.providerId, provider_deployment_id: provider.deploymentId, error: provider.error };
}

/** A tool call on the wire: the result when it was just made, the bounded record otherwise. */
export function toolCallToWire(record: ToolCallRow, result: CallToolResult | null) {
  return {
    object: 'tool_call',
    id: record.id,
    session_id: record.sessionId,
    tool_name: record.toolName,
    provider_id: record.providerId,
    original_name: record.originalName,
    status: record.status,
    is_error: record.isError,
    // A listed call carries its bounded preview, not the full result.
    content: result ? result.content : record.resultPreview ? [{ type: 'text', text: record.resultPreview }] : [],
    structured_content: result?.structuredContent ?? null,
    error: record.errorCode ? { code: record.errorCode, message: record.errorMessage ?? '' } : null,
    duration_ms: record.durationMs,
    created_at: record.createdAt.toISOString(),
  };
}

/** One entry of an auth config's history. */
export function authConfigEventToWire(row: AuthConfigEventRow) {
  return {
    object: 'provider_auth_config_event',
    id: row.id,
    auth_config_id: row.authConfigId,
    type: row.type,
    from_status: row.fromStatus,
    to_status: row.toStatus,
    error_code: row.errorCode,
    created_at: row.createdAt.toISOString(),
  };
}
