import { Hono } from 'hono';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { createSetupSession, getSetupSession, listSetupSessions } from '../../services/setup-sessions.js';
import { MAX_WAIT_MS, waitForSetupSessions } from '../../services/wait-for-setup-sessions.js';
import { enforceProjectRateLimit } from '../../security/rate-limit.js';
import type { AppEnv } from '../env.js';
import { setupSessionToWire } from '../serializers.js';
import { idSchema, metadataSchema, pageQuerySchema, readJsonBody, readQuery } from '../validation.js';

const createSchema = z
  .object({
    provider_id: idSchema,
    provider_auth_method_id: idSchema,
    provider_deployment_id: idSchema.optional(),
    provider_auth_config_id: idSchema.optional(),
    redirect_url: z.string().max(2000).optional(),
    metadata: metadataSchema.optional(),
    expires_in_seconds: z.number().int().min(60).max(7 * 24 * 3600).optional(),
  })
  .strict();

const listQuerySchema = pageQuerySchema
  .extend({ status: z.enum(['pending', 'completed', 'failed', 'expired']).optional(), provider_id: idSchema.optional() })
  .strict();

const waitQuerySchema = z
  .object({
    ids: z
      .string()
      .transform((value) => [...new Set(value.split(',').map((id) => id.trim()).filter(Boolean))])
      .refine((ids) => ids.length >= 1 && ids.length <= 50, 'give 1 to 50 comma-separated setup session ids'),
    timeout_ms: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(25_000),
  })
  .strict();

/** `/v1/providers/setup-sessions`. */
export function setupSessionRoutes(context: ServerContext) {
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const body = await readJsonBody(c, createSchema);
      await enforceProjectRateLimit(context, c.get('projectId'), 'setup_sessions');
      const view = await createSetupSession(context, c.get('projectId'), {
        providerId: body.provider_id,
        authMethodId: body.provider_auth_method_id,
        deploymentId: body.provider_deployment_id,
        targetAuthConfigId: body.provider_auth_config_id,
        redirectUrl: body.redirect_url,
        metadata: body.metadata,
        expiresInSeconds: body.expires_in_seconds,
      });
      return c.json(setupSessionToWire(view, context.publicUrl), 201);
    })
    .get('/', async (c) => {
      const query = readQuery(c, listQuerySchema);
      const page = await listSetupSessions(context, c.get('projectId'), { status: query.status, providerId: query.provider_id }, query);
      return c.json({ data: page.data.map((view) => setupSessionToWire(view, context.publicUrl)), next_cursor: page.nextCursor });
    })
    .get('/wait', async (c) => {
      const query = readQuery(c, waitQuerySchema);
      const views = await waitForSetupSessions(context, c.get('projectId'), query.ids, query.timeout_ms, c.req.raw.signal);
      return c.json({ data: views.map((view) => setupSessionToWire(view, context.publicUrl)) });
    })
    .get('/:setupSessionId', async (c) => {
      const view = await getSetupSession(context, c.get('projectId'), c.req.param('setupSessionId'));
      return c.json(setupSessionToWire(view, context.publicUrl));
    });
}
