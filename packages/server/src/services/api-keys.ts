import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { newId, randomToken } from '../ids.js';
import type { Database } from '../store/database.js';
import { apiKeys } from '../store/schema.js';

const API_KEY_PREFIX = 'ghk_';

/** SHA-256 of an API key: the only form in which keys are stored. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** A new random API key (256 bits). Shown once; only its hash is kept. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomToken(32)}`;
}

/** Stores `apiKey` (or a newly generated key) for `projectId` and returns the plaintext once. */
export async function createApiKey(
  db: Database,
  projectId: string,
  options: { apiKey?: string; name?: string } = {},
): Promise<{ id: string; apiKey: string }> {
  const apiKey = options.apiKey ?? generateApiKey();
  const id = newId('apiKey');
  await db.insert(apiKeys).values({
    id,
    projectId,
    keyHash: hashApiKey(apiKey),
    displayPrefix: apiKey.slice(0, 8),
    name: options.name ?? null,
  });
  return { id, apiKey };
}

/**
 * The project an API key belongs to, or undefined. The lookup is by hash, so the comparison never
 * touches the plaintext and does not leak through timing.
 */
export async function projectIdForApiKey(db: Database, apiKey: string): Promise<string | undefined> {
  const [row] = await db
    .select({ projectId: apiKeys.projectId })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, hashApiKey(apiKey)))
    .limit(1);
  return row?.projectId;
}
