import type { WebhookDeliveryView, WebhookEndpointRow } from '../services/webhooks.js';

// Wire shapes of the webhook objects (see docs/api.md, "Webhooks"). Like serializers.ts, fields are copied
// one by one: the sealed secret column never leaves the server, and the plaintext secret appears only in
// the answers that create or rotate it.

/** A webhook endpoint on the wire; `secret` only when it was just created or rotated. */
export function webhookEndpointToWire(row: WebhookEndpointRow, secret?: string) {
  return {
    object: 'webhook_endpoint',
    id: row.id,
    url: row.url,
    event_types: row.eventTypes,
    status: row.status,
    ...(secret ? { secret } : {}),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** One entry of an endpoint's delivery log. Never the request or response body. */
export function webhookDeliveryToWire(row: WebhookDeliveryView) {
  return {
    object: 'webhook_delivery',
    id: row.id,
    webhook_endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    last_attempt_at: row.lastAttemptAt?.toISOString() ?? null,
    last_status_code: row.lastStatusCode,
    last_error: row.lastError,
    created_at: row.createdAt.toISOString(),
  };
}
