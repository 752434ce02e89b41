import { Hono } from 'hono';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { deleteAuthConfig, getAuthConfig, listAuthConfigs } from '../../services/auth-configs.js';
import type { AppEnv } from '../env.js';
import { listAuthConfigEvents } from '../../services/auth-config-events.js';
import { authConfigEventToWire, authConfigToWire } from '../serializers.js';
import { idSchema, pageQuerySchema, readQuery, validationError } from '../validation.js';

const listQuerySchema = pageQuerySchema
  .extend({
    provider_id: idSchema.optional(),
    provider_deployment_id: idSchema.optional(),
    status: z.enum(['active', 'reauthorization_required', 'revoked']).optional(),
  })
  .strict();

/** Splits `metadata[key]=value` parameters off the rest of the query. */
function splitMetadataQuery(query: Record<string, string>) {
  const metadata: Record<string, string> = {};
  const rest: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const match = /^metadata\[(.{1,64})\]$/.exec(key);
    if (match) metadata[match[1]!] = value;
    else rest[key] = value;
  }
  return { metadata, rest };
}

/** `/v1/providers/auth-configs`. */
export function authConfigRoutes(context: ServerContext) {
  return new Hono<AppEnv>()
    .get('/', async (c) => {
      const { metadata, rest } = splitMetadataQuery(c.req.query());
      const parsed = listQuerySchema.safeParse(rest);
      if (!parsed.success) throw validationError(parsed.error, 'query');
      const query = parsed.data;
      const page = await listAuthConfigs(
        context,
        c.get('projectId'),
        { providerId: query.provider_id, deploymentId: query.provider_deployment_id, status: query.status, metadata },
        query,
      );
      return c.json({ data: page.data.map(authConfigToWire), next_cursor: page.nextCursor });
    })
    .get('/:authConfigId', async (c) => c.json(authConfigToWire(await getAuthConfig(context, c.get('projectId'), c.req.param('authConfigId')))))
    .delete('/:authConfigId', async (c) => {
      const revocation = await deleteAuthConfig(context, c.get('projectId'), c.req.param('authConfigId'));
      return c.json({ id: c.req.param('authConfigId'), deleted: true, revocation });
    })
    .get('/:authConfigId/events', async (c) => {
      const query = readQuery(c, pageQuerySchema.strict());
      await getAuthConfig(context, c.get('projectId'), c.req.param('authConfigId'));
      const page = await listAuthConfigEvents(context, c.get('projectId'), c.req.param('authConfigId'), query);
      return c.json({ data: page.data.map(authConfigEventToWire), next_cursor: page.nextCursor });
    });
}
