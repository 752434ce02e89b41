import { createMiddleware } from 'hono/factory';
import type { ServerContext } from '../context.js';
import { GatehouseError } from '../errors.js';
import { hashApiKey, projectIdForApiKey } from '../services/api-keys.js';
import type { AppEnv } from './env.js';

/** How long a valid key is remembered in this process (keys are never edited, only created). */
const VALID_KEY_TTL_MS = 30_000;
const MAX_REMEMBERED_KEYS = 1_000;

/**
 * Resolves `Authorization: Bearer <api key>` to the project it belongs to; every `/v1` query is then
 * scoped by `c.get('projectId')`. Valid keys are remembered briefly (by hash, never in plaintext) so
 * a busy agent loop does not pay a database round trip per request; invalid ones are always looked up.
 */
export function apiKeyAuth(context: ServerContext) {
  const remembered = new Map<string, { projectId: string; until: number }>();
  const lookUp = async (apiKey: string): Promise<string | undefined> => {
    const hash = hashApiKey(apiKey);
    const now = Date.now();
    const hit = remembered.get(hash);
    if (hit && hit.until > now) return hit.projectId;
    const projectId = await projectIdForApiKey(context.db, apiKey);
    if (projectId) {
      if (remembered.size >= MAX_REMEMBERED_KEYS) remembered.clear();
      remembered.set(hash, { projectId, until: now + VALID_KEY_TTL_MS });
    }
    return projectId;
  };
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S{1,512})$/i.exec(header);
    if (!match) {
      throw new GatehouseError('unauthorized', 'Send your Gatehouse API key as "Authorization: Bearer <key>".');
    }
    const projectId = await lookUp(match[1]!);
    if (!projectId) {
      throw new GatehouseError('unauthorized', 'This API key is not valid. Create one with `gatehouse keys create`.');
    }
    c.set('projectId', projectId);
    await next();
  });
}
