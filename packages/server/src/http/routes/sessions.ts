import { Hono } from 'hono';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { closeSession, createSession, getActiveSession, getCallableSession, getSession, listSessions, MAX_SESSION_PROVIDERS } from '../../services/sessions.js';
import { listToolCalls } from '../../services/tool-calls.js';
import { enforceProjectRateLimit } from '../../security/rate-limit.js';
import type { AppEnv } from '../env.js';
import { sessionToolToWire, sessionToWire, toolCallToWire, unavailableProviderToWire } from '../serializers.js';
import { idSchema, metadataSchema, pageQuerySchema, readJsonBody, readQuery } from '../validation.js';

const createSchema = z
  .object({
    providers: z
      .array(z.object({ provider_deployment_id: idSchema, provider_auth_config_id: idSchema.optional() }).strict())
      .min(1, 'name at least one provider')
      .max(MAX_SESSION_PROVIDERS),
    metadata: metadataSchema.optional(),
  })
  .strict();

const toolCallSchema = z
  .object({
    name: z.string().min(1).max(128),
    arguments: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const listQuerySchema = pageQuerySchema.extend({ status: z.enum(['active', 'closed']).optional() }).strict();

/** `/v1/sessions`: agent sessions over several providers, their tools and tool calls. */
export function sessionRoutes(context: ServerContext) {
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const body = await readJsonBody(c, createSchema);
      const { session, mcpSecret } = await createSession(context, c.get('projectId'), {
        providers: body.providers.map((provider) => ({ deploymentId: provider.provider_deployment_id, authConfigId: provider.provider_auth_config_id })),
        metadata: body.metadata,
      });
      return c.json(sessionToWire(session, context.publicUrl, mcpSecret), 201);
    })
    .get('/', async (c) => {
      const query = readQuery(c, listQuerySchema);
      const page = await listSessions(context, c.get('projectId'), { status: query.status }, query);
      return c.json({ data: page.data.map((session) => sessionToWire(session, context.publicUrl)), next_cursor: page.nextCursor });
    })
    .get('/:sessionId', async (c) => c.json(sessionToWire(await getSession(context, c.get('projectId'), c.req.param('sessionId')), context.publicUrl)))
    .post('/:sessionId/close', async (c) => c.json(sessionToWire(await closeSession(context, c.get('projectId'), c.req.param('sessionId')), context.publicUrl)))
    .get('/:sessionId/tools', async (c) => {
      const session = await getActiveSession(context, c.get('projectId'), c.req.param('sessionId'));
      const { tools, unavailable } = await context.toolGateway.listTools(session);
      return c.json({ data: tools.map(sessionToolToWire), unavailable: unavailable.map(unavailableProviderToWire) });
    })
    .post('/:sessionId/tool-calls', async (c) => {
      const body = await readJsonBody(c, toolCallSchema);
      const session = await getCallableSession(context, c.get('projectId'), c.req.param('sessionId'));
      await enforceProjectRateLimit(context, session.projectId, 'tool_calls');
      const outcome = await context.toolGateway.callTool(session, body.name, body.arguments ?? {}, c.req.raw.signal);
      return c.json(toolCallToWire(outcome.record, outcome.result));
    })
    .get('/:sessionId/tool-calls', async (c) => {
      const query = readQuery(c, pageQuerySchema.strict());
      await getSession(context, c.get('projectId'), c.req.param('sessionId'));
      const page = await listToolCalls(context, c.get('projectId'), c.req.param('sessionId'), query);
      return c.json({ data: page.data.map((record) => toolCallToWire(record, null)), next_cursor: page.nextCursor });
    });
}
