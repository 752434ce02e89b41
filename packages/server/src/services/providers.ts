import { and, desc, eq } from 'drizzle-orm';
import { providerDefinitionSchema, type AuthMethod, type ProviderDefinition } from '../catalog/provider-schema.js';
import type { ServerContext } from '../context.js';
import { GatehouseError, invalidRequest, notFound, type ErrorDetail } from '../errors.js';
import { OutboundRequestRefusedError } from '../security/outbound-guard.js';
import { issueDetails } from '../http/validation.js';
import { customProviders, providerDeployments } from '../store/schema.js';

/** A provider as the API shows it: its definition and where it comes from. */
export interface ResolvedProvider {
  definition: ProviderDefinition;
  source: 'catalog' | 'custom';
}

/** Words that are path segments under `/v1/providers/`, so they cannot be provider ids. */
const RESERVED_PROVIDER_IDS = new Set(['deployments', 'setup-sessions', 'auth-configs']);

/** Looks a provider up in the catalog, then among the project's custom providers. */
export async function getProvider(context: ServerContext, projectId: string, providerId: string): Promise<ResolvedProvider> {
  const fromCatalog = context.catalog.get(providerId);
  if (fromCatalog) return { definition: fromCatalog, source: 'catalog' };
  const [row] = await context.db
    .select()
    .from(customProviders)
    .where(and(eq(customProviders.projectId, projectId), eq(customProviders.id, providerId)))
    .limit(1);
  if (!row) throw notFound('provider', providerId);
  return { definition: row.definition as ProviderDefinition, source: 'custom' };
}

/** The catalog followed by the project's custom providers. */
export async function listProviders(context: ServerContext, projectId: string): Promise<ResolvedProvider[]> {
  const rows = await context.db
    .select()
    .from(customProviders)
    .where(eq(customProviders.projectId, projectId))
    .orderBy(desc(customProviders.createdAt));
  return [
    ...context.catalog.list().map((definition) => ({ definition, source: 'catalog' as const })),
    ...rows.map((row) => ({ definition: row.definition as ProviderDefinition, source: 'custom' as const })),
  ];
}

/** The 400 of a provider definition that does not validate, naming its first bad field. */
export function invalidDefinition(details: ErrorDetail[]): GatehouseError {
  return invalidRequest(`The provider definition is not valid: ${details[0]!.path}: ${details[0]!.message}.`, details);
}

/** Validates and stores a custom provider; its id must not clash with the catalog or the project. */
export async function createCustomProvider(
  context: ServerContext,
  projectId: string,
  input: unknown,
): Promise<ResolvedProvider> {
  const parsed = providerDefinitionSchema.safeParse(input);
  if (!parsed.success) throw invalidDefinition(issueDetails(parsed.error));
  const definition = parsed.data;
  if (definition.mcpServer?.transport === 'stdio') {
    // A command runs on the Gatehouse host: only the operator may configure one.
    throw invalidRequest('A local (stdio) tool server can only be configured by the operator, in GATEHOUSE_PROVIDERS_FILE.', [
      { path: 'mcp_server.transport', message: 'stdio is not allowed through the API' },
    ]);
  }
  assertServerSideUrlsAllowed(context, definition);
  if (RESERVED_PROVIDER_IDS.has(definition.id) || context.catalog.has(definition.id)) {
    throw new GatehouseError('conflict', `The provider id "${definition.id}" is taken by a built-in provider; choose another id.`);
  }
  const inserted = await context.db
    .insert(customProviders)
    .values({ projectId, id: definition.id, definition })
    .onConflictDoNothing()
    .returning({ id: customProviders.id });
  if (inserted.length === 0) {
    throw new GatehouseError('conflict', `A provider with id "${definition.id}" already exists in this project.`);
  }
  return { definition, source: 'custom' };
}

/**
 * The URLs Gatehouse itself will request (discovery, token, revocation, tool server) must pass the
 * outbound policy: a literal private address, `localhost` or plain http is refused here with a 400
 * naming the field. Names that resolve to private addresses are refused when connecting (the guard).
 */
function assertServerSideUrlsAllowed(context: ServerContext, definition: ProviderDefinition): void {
  const urls: Array<[string, string | undefined]> = [];
  definition.authMethods.forEach((method, index) => {
    if (method.type !== 'oauth2') return;
    urls.push([`auth_methods.${index}.issuer`, method.issuer], [`auth_methods.${index}.token_url`, method.tokenUrl]);
    urls.push([`auth_methods.${index}.revocation_url`, method.revocationUrl]);
  });
  if (definition.mcpServer && definition.mcpServer.transport !== 'stdio') urls.push(['mcp_server.url', definition.mcpServer.url]);
  const details: ErrorDetail[] = [];
  for (const [path, value] of urls) {
    if (!value) continue;
    try {
      context.security.outboundPolicy.checkUrl(new URL(value));
    } catch (error) {
      if (!(error instanceof OutboundRequestRefusedError)) throw error;
      details.push({ path, message: error.message });
    }
  }
  if (details.length > 0) throw invalidRequest(`The provider definition is not allowed: ${details[0]!.path}: ${details[0]!.message}`, details);
}

/** Deletes a custom provider that no deployment uses any more. */
export async function deleteCustomProvider(context: ServerContext, projectId: string, providerId: string): Promise<void> {
  if (context.catalog.has(providerId)) {
    throw invalidRequest(`"${providerId}" is a built-in provider and cannot be deleted.`);
  }
  const [inUse] = await context.db
    .select({ id: providerDeployments.id })
    .from(providerDeployments)
    .where(and(eq(providerDeployments.projectId, projectId), eq(providerDeployments.providerId, providerId)))
    .limit(1);
  if (inUse) {
    throw new GatehouseError('conflict', `Provider "${providerId}" is used by deployment ${inUse.id}; delete the deployment first.`);
  }
  const deleted = await context.db
    .delete(customProviders)
    .where(and(eq(customProviders.projectId, projectId), eq(customProviders.id, providerId)))
    .returning({ id: customProviders.id });
  if (deleted.length === 0) throw notFound('provider', providerId);
}

/** The auth method `authMethodId` of a provider, or a 400 naming the ones it has. */
export function findAuthMethod(definition: ProviderDefinition, authMethodId: string): AuthMethod {
  const method = definition.authMethods.find((candidate) => candidate.id === authMethodId);
  if (!method) {
    const known = definition.authMethods.map((candidate) => `"${candidate.id}"`).join(', ') || 'none';
    throw invalidRequest(`Provider "${definition.id}" has no auth method "${authMethodId}" (it has: ${known}).`, [
      { path: 'provider_auth_method_id', message: 'unknown auth method' },
    ]);
  }
  return method;
}

