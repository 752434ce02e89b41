import { Hono } from 'hono';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import {
  callbackUrlFor,
  createDeployment,
  deleteDeployment,
  getDeployment,
  listDeployments,
  updateDeployment,
  type DeploymentRow,
} from '../../services/deployments.js';
import type { AppEnv } from '../env.js';
import { deploymentToWire } from '../serializers.js';
import { idSchema, metadataSchema, pageQuerySchema, readJsonBody, readQuery } from '../validation.js';

const oauthClientSchema = z
  .object({ client_id: z.string().min(1).max(500), client_secret: z.string().min(1).max(2000).optional() })
  .strict();

const credentialsSchema = z.object({ api_key: z.string().min(1).max(4096) }).strict();

const createSchema = z
  .object({
    provider_id: idSchema,
    name: z.string().min(1).max(100).optional(),
    oauth_client: oauthClientSchema.optional(),
    credentials: credentialsSchema.optional(),
    metadata: metadataSchema.optional(),
  })
  .strict();

const updateSchema = z
  .object({
    name: z.string().min(1).max(100).optional(),
    oauth_client: oauthClientSchema.nullable().optional(),
    credentials: credentialsSchema.nullable().optional(),
    metadata: metadataSchema.optional(),
  })
  .strict();

const listQuerySchema = pageQuerySchema.extend({ provider_id: idSchema.optional() }).strict();

function toCredentials(credentials: z.infer<typeof credentialsSchema> | null | undefined) {
  if (credentials === null) return null;
  return credentials ? { apiKey: credentials.api_key } : undefined;
}

function toOAuthClient(client: z.infer<typeof oauthClientSchema> | null | undefined) {
  if (client === null) return null;
  return client ? { clientId: client.client_id, clientSecret: client.client_secret } : undefined;
}

/** `/v1/providers/deployments`. */
export function deploymentRoutes(context: ServerContext) {
  const wire = (row: DeploymentRow) => deploymentToWire(row, callbackUrlFor(context, row.id));
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const body = await readJsonBody(c, createSchema);
      const row = await createDeployment(context, c.get('projectId'), {
        providerId: body.provider_id,
        name: body.name,
        oauthClient: toOAuthClient(body.oauth_client),
        credentials: toCredentials(body.credentials),
        metadata: body.metadata,
      });
      return c.json(wire(row), 201);
    })
    .get('/', async (c) => {
      const query = readQuery(c, listQuerySchema);
      const page = await listDeployments(context, c.get('projectId'), { providerId: query.provider_id }, query);
      return c.json({ data: page.data.map(wire), next_cursor: page.nextCursor });
    })
    .get('/:deploymentId', async (c) => c.json(wire(await getDeployment(context, c.get('projectId'), c.req.param('deploymentId')))))
    .patch('/:deploymentId', async (c) => {
      const body = await readJsonBody(c, updateSchema);
      const row = await updateDeployment(context, c.get('projectId'), c.req.param('deploymentId'), {
        name: body.name,
        oauthClient: toOAuthClient(body.oauth_client),
        credentials: toCredentials(body.credentials),
        metadata: body.metadata,
      });
      return c.json(wire(row));
    })
    .delete('/:deploymentId', async (c) => {
      await deleteDeployment(context, c.get('projectId'), c.req.param('deploymentId'));
      return c.json({ id: c.req.param('deploymentId'), deleted: true });
    });
}
