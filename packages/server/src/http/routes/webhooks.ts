import { Hono } from 'hono';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../services/webhook-events.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  rotateWebhookSecret,
  sendTestWebhookEvent,
  updateWebhookEndpoint,
} from '../../services/webhooks.js';
import type { AppEnv } from '../env.js';
import { webhookDeliveryToWire, webhookEndpointToWire } from '../webhook-serializers.js';
import { pageQuerySchema, readJsonBody, readQuery } from '../validation.js';

const eventTypesSchema = z
  .array(z.enum(WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]]))
  .max(WEBHOOK_EVENT_TYPES.length * 2);

const urlSchema = z.string().min(1).max(2000);

const createSchema = z.object({ url: urlSchema, event_types: eventTypesSchema.optional() }).strict();

const updateSchema = z
  .object({ url: urlSchema.optional(), event_types: eventTypesSchema.optional(), status: z.enum(['enabled', 'disabled']).optional() })
  .strict();

const listQuerySchema = pageQuerySchema.strict();

const deliveriesQuerySchema = pageQuerySchema.extend({ status: z.enum(['pending', 'succeeded', 'failed']).optional() }).strict();

/** `/v1/webhooks`: endpoints that receive signed events (Standard Webhooks), and their delivery logs. */
export function webhookRoutes(context: ServerContext) {
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const body = await readJsonBody(c, createSchema);
      const { row, secret } = await createWebhookEndpoint(context, c.get('projectId'), { url: body.url, eventTypes: body.event_types });
      return c.json(webhookEndpointToWire(row, secret), 201);
    })
    .get('/', async (c) => {
      const query = readQuery(c, listQuerySchema);
      const page = await listWebhookEndpoints(context, c.get('projectId'), query);
      return c.json({ data: page.data.map((row) => webhookEndpointToWire(row)), next_cursor: page.nextCursor });
    })
    .get('/:webhookId', async (c) => c.json(webhookEndpointToWire(await getWebhookEndpoint(context, c.get('projectId'), c.req.param('webhookId')))))
    .patch('/:webhookId', async (c) => {
      const body = await readJsonBody(c, updateSchema);
      const row = await updateWebhookEndpoint(context, c.get('projectId'), c.req.param('webhookId'), {
        url: body.url,
        eventTypes: body.event_types,
        status: body.status,
      });
      return c.json(webhookEndpointToWire(row));
    })
    .delete('/:webhookId', async (c) => {
      await deleteWebhookEndpoint(context, c.get('projectId'), c.req.param('webhookId'));
      return c.json({ id: c.req.param('webhookId'), deleted: true });
    })
    .post('/:webhookId/rotate-secret', async (c) => {
      const { row, secret } = await rotateWebhookSecret(context, c.get('projectId'), c.req.param('webhookId'));
      return c.json(webhookEndpointToWire(row, secret));
    })
    .get('/:webhookId/deliveries', async (c) => {
      const query = readQuery(c, deliveriesQuerySchema);
      const page = await listWebhookDeliveries(context, c.get('projectId'), c.req.param('webhookId'), { status: query.status }, query);
      return c.json({ data: page.data.map(webhookDeliveryToWire), next_cursor: page.nextCursor });
    })
    .post('/:webhookId/test', async (c) => {
      const delivery = await sendTestWebhookEvent(context, c.get('projectId'), c.req.param('webhookId'));
      return c.json(webhookDeliveryToWire(delivery), 202);
    });
}
