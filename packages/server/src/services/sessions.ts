import { createHash, timingSafeEqual } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { GatehouseError, invalidRequest, notFound } from '../errors.js';
import { newId, randomToken } from '../ids.js';
import { pageCondition, pageOrder, toPage, type Page, type PageRequest } from '../store/pagination.js';
import { authConfigs, providerDeployments, sessions, type SessionProviderRef, type SessionStatus } from '../store/schema.js';
import { TtlCache } from '../gateway/ttl-cache.js';
import type { Database } from '../store/database.js';
import { toolNamePrefix } from '../gateway/tool-names.js';
import { getProvider } from './providers.js';

/** A session row as stored. */
export type SessionRow = typeof sessions.$inferSelect;

/** Most providers one session may combine. */
export const MAX_SESSION_PROVIDERS = 20;

/** One provider of a new session. */
export interface SessionProviderInput {
  deploymentId: string;
  authConfigId?: string | undefined;
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * Creates a session over several providers. Each deployment must be in the project; each auth
 * config must be active, in the project and of that deployment's provider; a provider that needs a
 * user's authorization and has neither an auth config nor deployment credentials is refused.
 * Returns the row and the MCP secret, which is shown once and stored as a hash.
 */
export async function createSession(
  context: ServerContext,
  projectId: string,
  input: { providers: SessionProviderInput[]; metadata?: Record<string, string> | undefined },
): Promise<{ session: SessionRow; mcpSecret: string }> {
  const refs: SessionProviderRef[] = [];
  for (const [index, provider] of input.providers.entries()) {
    const path = `providers.${index}`;
    const [deployment] = await context.db
      .select()
      .from(providerDeployments)
      .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.id, provider.deploymentId)))
      .limit(1);
    if (!deployment) {
      throw new GatehouseError('not_found', `No provider deployment ${provider.deploymentId} in this project.`, [
        { path: `${path}.provider_deployment_id`, message: 'unknown deployment' },
      ]);
    }
    if (refs.some((ref) => ref.deploymentId === deployment.id)) {
      throw invalidRequest(`Deployment ${deployment.id} is listed twice.`, [{ path: `${path}.provider_deployment_id`, message: 'duplicate' }]);
    }
    const { definition } = await getProvider(context, projectId, deployment.providerId);
    if (!definition.mcpServer) {
      throw invalidRequest(`Provider "${definition.id}" has no tool server, so a session cannot use it.`, [
        { path: `${path}.provider_deployment_id`, message: 'provider has no tool server' },
      ]);
    }
    if (provider.authConfigId) {
      const [authConfig] = await context.db
        .select()
        .from(authConfigs)
        .where(and(eq(authConfigs.projectId, projectId), eq(authConfigs.id, provider.authConfigId)))
        .limit(1);
      if (!authConfig) {
        throw new GatehouseError('not_found', `No provider auth config ${provider.authConfigId} in this project.`, [
          { path: `${path}.provider_auth_config_id`, message: 'unknown auth config' },
        ]);
      }
      if (authConfig.providerId !== deployment.providerId) {
        throw invalidRequest(
          `Auth config ${authConfig.id} is for provider "${authConfig.providerId}", but deployment ${deployment.id} is of "${deployment.providerId}".`,
          [{ path: `${path}.provider_auth_config_id`, message: 'auth config of another provider' }],
        );
      }
      if (authConfig.status !== 'active') {
        throw invalidRequest(
          `Auth config ${authConfig.id} is ${authConfig.status}; create a setup session with provider_auth_config_id ${authConfig.id} so the user can authorize again.`,
          [{ path: `${path}.provider_auth_config_id`, message: `auth config is ${authConfig.status}` }],
        );
      }
    } else if (definition.authMethods.length > 0 && !deployment.credentialsCiphertext) {
      throw invalidRequest(
        `Provider "${definition.id}" acts for a user: pass provider_auth_config_id (from a completed setup session), or give deployment ${deployment.id} credentials of its own.`,
        [{ path: `${path}.provider_auth_config_id`, message: 'required for this provider' }],
      );
    }
    // The provider's oldest deployment in the project names its tools plainly (`github__…`), in every session.
    const [primary] = await context.db
      .select({ id: providerDeployments.id })
      .from(providerDeployments)
      .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.providerId, deployment.providerId)))
      .orderBy(asc(providerDeployments.createdAt), asc(providerDeployments.id))
      .limit(1);
    refs.push({
      providerId: deployment.providerId,
      deploymentId: deployment.id,
      authConfigId: provider.authConfigId ?? null,
      toolPrefix: toolNamePrefix(deployment.providerId, deployment.id, primary?.id === deployment.id),
    });
  }

  const mcpSecret = `gms_${randomToken(32)}`;
  const now = context.clock.now();
  const [session] = await context.db
    .insert(sessions)
    .values({
      id: newId('session'),
      projectId,
      status: 'active',
      providers: refs,
      metadata: input.metadata ?? {},
      mcpSecretHash: sha256(mcpSecret),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return { session: session!, mcpSecret };
}

/** A session of the project, or 404. */
export async function getSession(context: ServerContext, projectId: string, sessionId: string): Promise<SessionRow> {
  const [row] = await context.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.projectId, projectId), eq(sessions.id, sessionId)))
    .limit(1);
  if (!row) throw notFound('session', sessionId);
  return row;
}

/** A session that can still call tools, or 404 / 409. */
export async function getActiveSession(context: ServerContext, projectId: string, sessionId: string): Promise<SessionRow> {
  const session = await getSession(context, projectId, sessionId);
  if (session.status !== 'active') throw new GatehouseError('conflict', `Session ${sessionId} is closed; create a new session.`);
  return session;
}

/**
 * How long a session read for a tool call is reused. A session only ever changes by being closed:
 * closing it here evicts it at once, and a close by another process is seen within this time.
 */
const CALLABLE_SESSION_TTL_MS = 1_000;
const callableSessions = new WeakMap<Database, TtlCache<SessionRow>>();

function callableSessionCache(db: Database): TtlCache<SessionRow> {
  let cache = callableSessions.get(db);
  if (!cache) callableSessions.set(db, (cache = new TtlCache<SessionRow>(CALLABLE_SESSION_TTL_MS, 10_000)));
  return cache;
}

/**
 * {@link getActiveSession} for the tool-call path, which an agent loop hits many times a second: the
 * row is remembered for {@link CALLABLE_SESSION_TTL_MS}, saving a database round trip per call.
 */
export async function getCallableSession(context: ServerContext, projectId: string, sessionId: string): Promise<SessionRow> {
  const session = await callableSessionCache(context.db).get(`${projectId}|${sessionId}`, () => getSession(context, projectId, sessionId));
  if (session.status !== 'active') throw new GatehouseError('conflict', `Session ${sessionId} is closed; create a new session.`);
  return session;
}

/** The project's sessions, newest first. */
export async function listSessions(
  context: ServerContext,
  projectId: string,
  filter: { status?: SessionStatus | undefined },
  page: PageRequest,
): Promise<Page<SessionRow>> {
  const rows = await context.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.projectId, projectId), filter.status ? eq(sessions.status, filter.status) : undefined, pageCondition(sessions, page.cursor)))
    .orderBy(...pageOrder(sessions))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => row);
}

/** Closes a session; closing a closed session is a no-op that returns it. */
export async function closeSession(context: ServerContext, projectId: string, sessionId: string): Promise<SessionRow> {
  const now = context.clock.now();
  const [closed] = await context.db
    .update(sessions)
    .set({ status: 'closed', closedAt: now, updatedAt: now })
    .where(and(eq(sessions.projectId, projectId), eq(sessions.id, sessionId), eq(sessions.status, 'active')))
    .returning();
  callableSessionCache(context.db).delete(`${projectId}|${sessionId}`);
  return closed ?? getSession(context, projectId, sessionId);
}

/** The session whose MCP endpoint `secret` opens, if it matches (constant-time). */
export async function sessionForMcpSecret(context: ServerContext, sessionId: string, secret: string): Promise<SessionRow | undefined> {
  const [row] = await context.db.select().from(sessions).where(eq(sessions.id, sessionId)).limit(1);
  if (!row) return undefined;
  const expected = Buffer.from(row.mcpSecretHash, 'hex');
  const actual = Buffer.from(sha256(secret), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? row : undefined;
}
