import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

// One schema for the embedded PGlite store and for PostgreSQL. Secrets live only in `*_ciphertext`
// columns, sealed with AES-256-GCM under the key named in the `*_key_id` column beside them.

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};

/** A tenant: every other row belongs to exactly one project. */
export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** `redirect_url` of setup sessions must start with one of these. */
  allowedRedirectUrls: jsonb('allowed_redirect_urls').$type<string[]>().notNull().default([]),
  /** The project created on first start; the one `GATEHOUSE_*` bootstrap settings apply to. */
  isBootstrap: boolean('is_bootstrap').notNull().default(false),
  ...timestamps,
});

/** API keys, stored only as a SHA-256 hash (keys are 256 random bits, so a fast hash is enough). */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  keyHash: text('key_hash').notNull().unique(),
  /** The first characters of the key, to tell keys apart in listings. */
  displayPrefix: text('display_prefix').notNull(),
  name: text('name'),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  ...timestamps,
});

/** Providers a project defined through the API (the built-in catalog is data shipped with the server). */
export const customProviders = pgTable(
  'custom_providers',
  {
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    definition: jsonb('definition').notNull(),
    ...timestamps,
  },
  (table) => [primaryKey({ columns: [table.projectId, table.id] })],
);

/** A provider configured in a project with its own OAuth client. */
export const providerDeployments = pgTable(
  'provider_deployments',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    providerId: text('provider_id').notNull(),
    name: text('name').notNull(),
    oauthClientId: text('oauth_client_id'),
    oauthClientSecretCiphertext: text('oauth_client_secret_ciphertext'),
    oauthClientSecretKeyId: text('oauth_client_secret_key_id'),
    /** Deployment-level credentials (the operator's own API key for a provider), sealed JSON. */
    credentialsCiphertext: text('credentials_ciphertext'),
    credentialsKeyId: text('credentials_key_id'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    ...timestamps,
  },
  (table) => [index('provider_deployments_project_provider').on(table.projectId, table.providerId)],
);

/** One end user's authorization in progress. */
export const setupSessions = pgTable(
  'setup_sessions',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    providerId: text('provider_id').notNull(),
    authMethodId: text('auth_method_id').notNull(),
    deploymentId: text('deployment_id').notNull(),
    status: text('status').$type<SetupSessionStatus>().notNull(),
    redirectUrl: text('redirect_url'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    authConfigId: text('auth_config_id'),
    /** Set for a re-authorization: completing the session replaces this auth config's credentials. */
    targetAuthConfigId: text('target_auth_config_id'),
    /** SHA-256 of the OAuth `state` of the current attempt; null once used. */
    oauthStateHash: text('oauth_state_hash'),
    /** SHA-256 of the cookie that binds the attempt to one browser. */
    browserBindingHash: text('browser_binding_hash'),
    codeVerifierCiphertext: text('code_verifier_ciphertext'),
    codeVerifierKeyId: text('code_verifier_key_id'),
    ...timestamps,
  },
  (table) => [
    index('setup_sessions_project_created').on(table.projectId, table.createdAt),
    uniqueIndex('setup_sessions_oauth_state').on(table.oauthStateHash),
  ],
);

/** Setup session states; all but `pending` are final. */
export type SetupSessionStatus = 'pending' | 'completed' | 'failed' | 'expired';

/** Stored, encrypted credentials of one user for one provider. */
export const authConfigs = pgTable(
  'auth_configs',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    providerId: text('provider_id').notNull(),
    deploymentId: text('deployment_id').notNull(),
    authMethodId: text('auth_method_id').notNull(),
    status: text('status').$type<AuthConfigStatus>().notNull(),
    scopes: jsonb('scopes').$type<string[]>().notNull().default([]),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    credentialsCiphertext: text('credentials_ciphertext').notNull(),
    credentialsKeyId: text('credentials_key_id').notNull(),
    accessTokenExpiresAt: timestamp('access_token_expires_at', { withTimezone: true, mode: 'date' }),
    setupSessionId: text('setup_session_id'),
    /** Grows by one each time the credentials change (refresh, re-authorization); re-encryption under a new key keeps it, since the secret is the same. */
    credentialsVersion: integer('credentials_version').notNull().default(1),
    lastRefreshedAt: timestamp('last_refreshed_at', { withTimezone: true, mode: 'date' }),
    /** Class of the last refresh failure (`invalid_grant`, `token_endpoint_unavailable`, …); never a secret. */
    lastErrorCode: text('last_error_code'),
    lastErrorAt: timestamp('last_error_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  (table) => [index('auth_configs_project_created').on(table.projectId, table.createdAt)],
);

/** Auth config states. */
export type AuthConfigStatus = 'active' | 'reauthorization_required' | 'revoked';

/** One agent session over several providers, each with its deployment and (optional) auth config. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    status: text('status').$type<SessionStatus>().notNull(),
    providers: jsonb('providers').$type<SessionProviderRef[]>().notNull(),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    /** SHA-256 of the secret that opens the session's MCP endpoint. */
    mcpSecretHash: text('mcp_secret_hash').notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true, mode: 'date' }),
    ...timestamps,
  },
  (table) => [index('sessions_project_created').on(table.projectId, table.createdAt)],
);

/** Session states. */
export type SessionStatus = 'active' | 'closed';

/** A provider of a session, as stored. */
export interface SessionProviderRef {
  providerId: string;
  deploymentId: string;
  authConfigId: string | null;
  /** The prefix of this deployment's tool names, fixed when the session is created (see gateway/tool-names.ts). */
  toolPrefix?: string;
}

/** The record of one tool call: what, for whom, how long, how it ended. No secrets; bounded sizes. */
export const toolCalls = pgTable(
  'tool_calls',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    sessionId: text('session_id').notNull(),
    toolName: text('tool_name').notNull(),
    providerId: text('provider_id'),
    deploymentId: text('deployment_id'),
    originalName: text('original_name'),
    status: text('status').$type<'succeeded' | 'failed'>().notNull(),
    isError: boolean('is_error').notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** The arguments and the result, each cut to a few KiB. */
    argumentsPreview: text('arguments_preview'),
    resultPreview: text('result_preview'),
    durationMs: integer('duration_ms').notNull(),
    ...timestamps,
  },
  (table) => [index('tool_calls_session_created').on(table.sessionId, table.createdAt)],
);

/** The history of an auth config: creation, refreshes, failures, status changes. No secrets. */
export const authConfigEvents = pgTable(
  'auth_config_events',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    authConfigId: text('auth_config_id').notNull(),
    /** `created`, `refreshed`, `refresh_failed`, `status_changed`, `reauthorized`, `revoked`. */
    type: text('type').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status'),
    errorCode: text('error_code'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('auth_config_events_config_created').on(table.authConfigId, table.createdAt)],
);

/** Where a project wants its webhook events delivered. The signing secret is sealed. */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** Event types to deliver; empty means all. */
    eventTypes: jsonb('event_types').$type<string[]>().notNull().default([]),
    secretCiphertext: text('secret_ciphertext').notNull(),
    secretKeyId: text('secret_key_id').notNull(),
    status: text('status').$type<'enabled' | 'disabled'>().notNull().default('enabled'),
    ...timestamps,
  },
  (table) => [index('webhook_endpoints_project').on(table.projectId)],
);

/** The durable outbox: one row per event, written in the transaction of the change it reports. */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('webhook_events_project_created').on(table.projectId, table.createdAt)],
);

/** One event to one endpoint: attempts, next try, last outcome (the delivery log). */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    endpointId: text('endpoint_id').notNull(),
    status: text('status').$type<'pending' | 'succeeded' | 'failed'>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull(),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    ...timestamps,
  },
  (table) => [
    index('webhook_deliveries_due').on(table.status, table.nextAttemptAt),
    index('webhook_deliveries_endpoint_created').on(table.endpointId, table.createdAt),
  ],
);

/** Fixed-window counters shared by all processes (rate limits). */
export const rateLimitCounters = pgTable(
  'rate_limit_counters',
  {
    key: text('key').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'date' }).notNull(),
    count: integer('count').notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.key, table.windowStart] })],
);
