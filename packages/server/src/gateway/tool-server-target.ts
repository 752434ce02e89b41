import { createHash } from 'node:crypto';
import type { McpServerDefinition } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import type { ProviderDefinition } from '../catalog/provider-schema.js';
import { needsRefresh, refreshAuthConfig } from '../oauth/refresh.js';
import { getAuthConfig, openCredentials, type AuthConfigRow, type Credentials } from '../services/auth-configs.js';
import { getDeployment, openDeploymentCredentials } from '../services/deployments.js';
import { findAuthMethod, getProvider } from '../services/providers.js';
import type { SessionProviderRef } from '../store/schema.js';
import { ToolCallError } from './tool-call-error.js';

/**
 * Everything needed to reach one provider's tool server as one user: where, and the credentials to
 * inject (as headers for remote servers, as environment for local ones). Never leaves the process.
 */
export interface ToolServerTarget {
  /** Pool key: changes when the credentials change, so a refreshed token gets a new connection. */
  key: string;
  providerId: string;
  deploymentId: string;
  authConfigId: string | null;
  /** The auth config's credentials version these credentials come from (null without one). */
  authConfigVersion: number | null;
  /** Whether the credentials are an OAuth grant that can be refreshed when the tool server refuses them. */
  refreshable: boolean;
  server: McpServerDefinition;
  headers: Record<string, string>;
  env: Record<string, string>;
  /**
   * Whether these credentials are due for a refresh at `now` (an OAuth token inside its refresh
   * window), so a target kept in a cache is resolved again, and refreshed, in time.
   */
  refreshDue(now: Date): boolean;
}

/**
 * Resolves a session provider to its tool server and credentials: the user's auth config when the
 * session names one (OAuth access token as `Authorization: Bearer`, API keys as the provider
 * defines), else the deployment's own credentials, else none.
 */
export async function resolveToolServerTarget(context: ServerContext, projectId: string, ref: SessionProviderRef): Promise<ToolServerTarget> {
  const { definition } = await getProvider(context, projectId, ref.providerId);
  if (!definition.mcpServer) {
    throw new ToolCallError('tool_server_unavailable', `Provider "${definition.id}" has no tool server.`);
  }
  const deployment = await getDeployment(context, projectId, ref.deploymentId);
  const headers: Record<string, string> = {};
  const env: Record<string, string> = {};
  let credentialVersion = 'none';

  const inject = (methodId: string | undefined, secret: string) => {
    const method = methodId
      ? definition.authMethods.find((candidate) => candidate.id === methodId)
      : definition.authMethods.find((candidate) => candidate.type === 'api_key');
    if (method?.type === 'api_key') {
      if (method.injection.header) headers[method.injection.header.toLowerCase()] = `${method.injection.prefix ?? ''}${secret}`;
      if (method.injection.env) env[method.injection.env] = secret;
    } else {
      headers.authorization = `Bearer ${secret}`;
    }
  };

  let authConfigVersion: number | null = null;
  let refreshable = false;
  let refreshDue: ToolServerTarget['refreshDue'] = () => false;
  if (ref.authConfigId) {
    let authConfig = await getAuthConfig(context, projectId, ref.authConfigId);
    if (authConfig.status === 'active') authConfig = await refreshIfExpiring(context, projectId, authConfig, definition);
    if (authConfig.status !== 'active') {
      throw new ToolCallError(
        'reauthorization_required',
        `The user's authorization for ${definition.name} (auth config ${authConfig.id}) is ${authConfig.status}; ` +
          'create a setup session for this auth config so the user can authorize again.',
      );
    }
    const credentials: Credentials = openCredentials(context, authConfig);
    authConfigVersion = authConfig.credentialsVersion;
    if (credentials.type === 'oauth2') {
      refreshable = Boolean(credentials.refreshToken);
      const method = findAuthMethod(definition, authConfig.authMethodId);
      const row = authConfig;
      if (method.type === 'oauth2') refreshDue = (now) => needsRefresh(row, method, now);
      headers.authorization = `Bearer ${credentials.accessToken}`;
      env.GATEHOUSE_ACCESS_TOKEN = credentials.accessToken;
    } else {
      inject(authConfig.authMethodId, credentials.apiKey);
    }
    credentialVersion = `${authConfig.id}@${authConfig.credentialsVersion}`;
  } else {
    const deploymentCredentials = openDeploymentCredentials(context, deployment);
    if (deploymentCredentials) {
      inject(undefined, deploymentCredentials.apiKey);
      credentialVersion = `deployment@${deployment.updatedAt.getTime()}`;
    }
  }

  return {
    key: createHash('sha256').update(`${projectId}|${deployment.id}|${credentialVersion}`).digest('hex'),
    providerId: definition.id,
    deploymentId: deployment.id,
    authConfigId: ref.authConfigId,
    authConfigVersion,
    refreshable,
    server: definition.mcpServer,
    headers,
    env,
    refreshDue,
  };
}

/**
 * `text` with every credential of `target` (the injected header values, their words, and the injected
 * environment) replaced by `[redacted]`. For messages built from what a tool server answered: many
 * servers quote the credentials they refuse, and such a message goes to logs and to the API caller
 * (the agent, so the model). Redact before truncating, so no partial credential survives.
 */
export function redactCredentials(text: string, target: Pick<ToolServerTarget, 'headers' | 'env'>): string {
  const secrets = new Set<string>();
  for (const value of [...Object.values(target.headers), ...Object.values(target.env)]) {
    // The whole value (`Bearer …`, a key) and its words long enough to be secrets (the token, not `Bearer`).
    for (const candidate of [value, ...value.split(/\s+/).filter((word) => word.length >= 8)]) {
      if (candidate.length < 4) continue;
      secrets.add(candidate);
      secrets.add(encodeURIComponent(candidate));
    }
  }
  let redacted = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) redacted = redacted.split(secret).join('[redacted]');
  return redacted;
}

/**
 * Refreshes an OAuth access token that expires within its refresh window before it is used. A
 * transient refresh failure keeps the old token while it is still valid.
 */
async function refreshIfExpiring(
  context: ServerContext,
  projectId: string,
  authConfig: AuthConfigRow,
  definition: ProviderDefinition,
): Promise<AuthConfigRow> {
  const method = findAuthMethod(definition, authConfig.authMethodId);
  if (method.type !== 'oauth2' || !needsRefresh(authConfig, method, context.clock.now())) return authConfig;
  const outcome = await refreshAuthConfig(context, projectId, authConfig.id, authConfig.credentialsVersion, false);
  if (outcome.kind === 'unavailable' && (outcome.authConfig.accessTokenExpiresAt?.getTime() ?? Infinity) <= context.clock.now().getTime()) {
    throw new ToolCallError(
      'token_refresh_failed',
      `The user's ${definition.name} token expired and ${definition.name} could not refresh it right now (${outcome.errorCode}); try again shortly.`,
    );
  }
  return outcome.authConfig;
}
