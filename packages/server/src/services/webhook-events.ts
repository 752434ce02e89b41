import { and, eq } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import { newId } from '../ids.js';
import type { Database } from '../store/database.js';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from '../store/schema.js';

/** The events a project can subscribe a webhook endpoint to. */
export type WebhookEventType =
  | 'setup_session.completed'
  | 'setup_session.failed'
  | 'setup_session.expired'
  | 'auth_config.refreshed'
  | 'auth_config.reauthorization_required'
  | 'auth_config.deleted';

/** Every {@link WebhookEventType}, in documentation order. */
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [
  'setup_session.completed',
  'setup_session.failed',
  'setup_session.expired',
  'auth_config.refreshed',
  'auth_config.reauthorization_required',
  'auth_config.deleted',
];

/** The event `POST /v1/webhooks/:id/test` sends; no endpoint subscribes to it, it goes to one endpoint. */
export const WEBHOOK_TEST_EVENT_TYPE = 'webhook.test';

/** What a webhook body is (Standard Webhooks payload): `{ type, timestamp, data }`. */
export interface WebhookPayload {
  type: string;
  /** ISO 8601 time the change happened. */
  timestamp: string;
  /** The object the event is about, in its API wire form (never a secret). */
  data: unknown;
}

/** An event to put in the outbox. */
export interface WebhookEventInput {
  projectId: string;
  type: WebhookEventType;
  /** The object in its wire form, e.g. `setupSessionToWire(view, publicUrl)`. Must carry no secret. */
  data: unknown;
  /** When the change happened (the caller's clock); defaults to now. */
  occurredAt?: Date | undefined;
}

/**
 * Puts an event in the durable outbox: one `webhook_events` row and one pending `webhook_deliveries` row
 * per enabled endpoint of the project subscribed to `type` (an endpoint with no event types gets all).
 * Pass the transaction of the change the event reports (cast `tx as unknown as Database`), so the event
 * exists if and only if the change was committed. Nothing is written when no endpoint wants the event.
 *
 * After the commit, call {@link notifyWebhookDue} so dispatchers deliver at once instead of on their timer.
 *
 * @returns the event id (`msg_…`, also the `webhook-id` header) when a delivery was created
 */
export async function emitWebhookEvent(
  db: Database,
  event: WebhookEventInput,
): Promise<string | undefined> {
  const endpoints = await db
    .select({ id: webhookEndpoints.id, eventTypes: webhookEndpoints.eventTypes })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.projectId, event.projectId), eq(webhookEndpoints.status, 'enabled')));
  const subscribed = endpoints.filter((endpoint) => endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(event.type));
  if (subscribed.length === 0) return undefined;
  return insertEvent(db, event.projectId, event.type, event.data, event.occurredAt ?? new Date(), subscribed.map((endpoint) => endpoint.id));
}

/** Queues a `webhook.test` event for one endpoint (whatever its event types). */
export async function emitTestWebhookEvent(db: Database, projectId: string, endpointId: string, occurredAt: Date): Promise<{ eventId: string; deliveryId: string }> {
  const eventId = await insertEvent(db, projectId, WEBHOOK_TEST_EVENT_TYPE, { webhook_endpoint_id: endpointId }, occurredAt, [endpointId]);
  const [delivery] = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.eventId, eventId), eq(webhookDeliveries.endpointId, endpointId)))
    .limit(1);
  return { eventId, deliveryId: delivery!.id };
}

async function insertEvent(db: Database, projectId: string, type: string, data: unknown, occurredAt: Date, endpointIds: string[]): Promise<string> {
  const eventId = newId('webhookEvent');
  const payload: WebhookPayload = { type, timestamp: occurredAt.toISOString(), data };
  await db.insert(webhookEvents).values({ id: eventId, projectId, type, payload, createdAt: occurredAt });
  await db.insert(webhookDeliveries).values(
    endpointIds.map((endpointId) => ({
      id: newId('webhookDelivery'),
      projectId,
      eventId,
      endpointId,
      status: 'pending' as const,
      attempts: 0,
      nextAttemptAt: occurredAt,
      createdAt: occurredAt,
      updatedAt: occurredAt,
    })),
  );
  return eventId;
}

/**
 * Wakes the webhook dispatchers of every process (after the transaction that emitted an event has
 * committed). A failure is only logged: the dispatchers' timers deliver the event anyway.
 */
export async function notifyWebhookDue(context: Pick<ServerContext, 'notifier' | 'logger'>, eventId = ''): Promise<void> {
  try {
    await context.notifier.publish('webhook_delivery_due', eventId);
  } catch (error) {
    context.logger.warn({ err: (error as Error).message }, 'could not wake the webhook dispatchers; their timer will deliver');
  }
}
