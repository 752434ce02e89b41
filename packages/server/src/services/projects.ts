import { eq, sql } from 'drizzle-orm';
import { newId } from '../ids.js';
import type { Database } from '../store/database.js';
import { apiKeys, projects } from '../store/schema.js';
import { createApiKey } from './api-keys.js';

/** What start-up did to the bootstrap project. */
export interface BootstrapResult {
  projectId: string;
  /** Set when a key was generated now: print it once, it is not stored in readable form. */
  generatedApiKey?: string;
  /** True when `GATEHOUSE_BOOTSTRAP_API_KEY` became the project's key now. */
  adoptedBootstrapKey: boolean;
}

/**
 * Makes sure the bootstrap project exists and has an API key. Runs in one transaction under a row
 * lock so that processes starting together create one project, not several.
 *
 * `allowedRedirectUrls` comes from `GATEHOUSE_ALLOWED_REDIRECT_URLS`: when given (even empty) it
 * replaces the project's stored allow-list, so the environment an operator sees is what is enforced,
 * and clearing the variable's value revokes every redirect. `undefined` (the variable is unset)
 * keeps the stored list, so a one-off command without the variable does not wipe it.
 */
export async function ensureBootstrapProject(
  db: Database,
  options: { bootstrapApiKey?: string | undefined; allowedRedirectUrls: string[] | undefined },
): Promise<BootstrapResult> {
  return db.transaction(async (tx) => {
    // Serializes concurrent first starts on PostgreSQL; harmless on PGlite.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(747310002)`);
    let [project] = await tx.select().from(projects).where(eq(projects.isBootstrap, true)).limit(1);
    if (!project) {
      [project] = await tx
        .insert(projects)
        .values({ id: newId('project'), name: 'Default project', isBootstrap: true, allowedRedirectUrls: options.allowedRedirectUrls ?? [] })
        .returning();
    } else if (options.allowedRedirectUrls !== undefined) {
      await tx
        .update(projects)
        .set({ allowedRedirectUrls: options.allowedRedirectUrls, updatedAt: new Date() })
        .where(eq(projects.id, project.id));
    }
    const projectId = project!.id;
    const [existingKey] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.projectId, projectId)).limit(1);
    if (existingKey) return { projectId, adoptedBootstrapKey: false };
    if (options.bootstrapApiKey) {
      await createApiKey(tx as unknown as Database, projectId, { apiKey: options.bootstrapApiKey, name: 'bootstrap' });
      return { projectId, adoptedBootstrapKey: true };
    }
    const { apiKey } = await createApiKey(tx as unknown as Database, projectId, { name: 'bootstrap' });
    return { projectId, generatedApiKey: apiKey, adoptedBootstrapKey: false };
  });
}

/**
 * Creates a project (a tenant) with its first API key; the key is returned once, in plaintext, and
 * stored only as a hash.
 */
export async function createProject(db: Database, options: { name: string; allowedRedirectUrls?: string[] }): Promise<{ projectId: string; apiKey: string }> {
  return db.transaction(async (tx) => {
    const projectId = newId('project');
    await tx.insert(projects).values({ id: projectId, name: options.name, allowedRedirectUrls: options.allowedRedirectUrls ?? [] });
    const { apiKey } = await createApiKey(tx as unknown as Database, projectId, { name: 'first key' });
    return { projectId, apiKey };
  });
}

/** The project row, or undefined. */
export async function getProject(db: Database, projectId: string) {
  const [project] = await db.select().from(projects).where(eq(projects.id, projectId)).limit(1);
  return project;
}
