import { createMiddleware } from 'hono/factory';
import type { ServerContext } from '../context.js';
import { GatehouseError } from '../errors.js';
import { projectIdForApiKey } from '../services/api-keys.js';
import type { AppEnv } from './env.js';

/**
 * Resolves `Authorization: Bearer <api key>` to the project it belongs to; every `/v1` query is then
 * scoped by `c.get('projectId')`.
 */
export function apiKeyAuth(context: ServerContext) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S{1,512})$/i.exec(header);
    if (!match) {
      throw new GatehouseError('unauthorized', 'Send your Gatehouse API key as "Authorization: Bearer <key>".');
    }
    const projectId = await projectIdForApiKey(context.db, match[1]!);
    if (!projectId) {
      throw new GatehouseError('unauthorized', 'This API key is not valid. Create one with `gatehouse keys create`.');
    }
    c.set('projectId', projectId);
    await next();
  });
}
