import type { Gatehouse } from '../../client.js';
import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { DeletedObject, Timestamp } from '../../types.js';
import { WebhookDeliveries } from './deliveries.js';

/** The events a webhook endpoint can subscribe to. */
export type WebhookEventType =
  | 'setup_session.completed'
  | 'setup_session.failed'
  | 'setup_session.expired'
  | 'auth_config.refreshed'
  | 'auth_config.reauthorization_required'
  | 'auth_config.deleted';

/** Whether an endpoint receives events. */
export type WebhookEndpointStatus = 'enabled' | 'disabled';

/** Where your project's webhook events are delivered (`whe_…`). */
export interface WebhookEndpoint {
  object: 'webhook_endpoint';
  id: string;
  url: string;
  /** The event types delivered here; empty means all of them. */
  eventTypes: WebhookEventType[];
  status: WebhookEndpointStatus;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/**
 * An endpoint with its signing secret (`whsec_…`): only the answers of `create` and `rotateSecret` carry
 * it. Store it; pass it to `verifyWebhookSignature`.
 */
export interface WebhookEndpointWithSecret extends WebhookEndpoint {
  secret: string;
}

/** Body of `gatehouse.webhooks.create`. */
export interface WebhookCreateParams {
  /** Where to POST events: `https://…` (plain `http://` only on a server that allows private networks). */
  url: string;
  /** The event types to deliver; omitted or empty means all. */
  eventTypes?: WebhookEventType[];
}

/** Body of `gatehouse.webhooks.update`: only the fields given change. */
export interface WebhookUpdateParams {
  url?: string;
  eventTypes?: WebhookEventType[];
  /** `disabled` stops new deliveries; pending ones go out once the endpoint is `enabled` again. */
  status?: WebhookEndpointStatus;
}

/** Parameters of `gatehouse.webhooks.list`. */
export type WebhookListParams = CursorPageParams;

const BASE_PATH = '/v1/webhooks';

/**
 * `gatehouse.webhooks`: endpoints that receive signed events when setup sessions end and auth configs
 * change, and (`gatehouse.webhooks.deliveries`) their delivery logs. Deliveries are signed as Standard
 * Webhooks; check them with `verifyWebhookSignature`.
 */
export class Webhooks extends APIResource {
  /** `gatehouse.webhooks.deliveries`: the delivery log of an endpoint. */
  readonly deliveries: WebhookDeliveries;

  /** @param client - the client */
  constructor(client: Gatehouse) {
    super(client);
    this.deliveries = new WebhookDeliveries(client);
  }

  /**
   * Creates an endpoint. The answer carries its signing secret, shown this once.
   *
   * @example
   * ```ts
   * const endpoint = await gatehouse.webhooks.create({
   *   url: 'https://yourapp.com/webhooks/gatehouse',
   *   eventTypes: ['setup_session.completed', 'auth_config.reauthorization_required'],
   * });
   * await saveSecret(endpoint.secret); // whsec_…
   * ```
   */
  create(params: WebhookCreateParams, options?: RequestOptions): Promise<WebhookEndpointWithSecret> {
    return this._client.request({ method: 'POST', path: BASE_PATH, body: params, options });
  }

  /**
   * Lists the project's endpoints, newest first.
   *
   * @example
   * ```ts
   * for await (const endpoint of gatehouse.webhooks.list()) console.log(endpoint.id, endpoint.url);
   * ```
   */
  list(params: WebhookListParams = {}, options?: RequestOptions): PagePromise<WebhookEndpoint> {
    return this._client.requestList(BASE_PATH, params, options);
  }

  /**
   * Fetches one endpoint (without its secret).
   *
   * @example
   * ```ts
   * const endpoint = await gatehouse.webhooks.get('whe_...');
   * ```
   */
  get(id: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this._client.request({ method: 'GET', path: `${BASE_PATH}/${pathSegment(id, 'webhook endpoint')}`, options });
  }

  /**
   * Changes an endpoint's URL, event types or status.
   *
   * @example
   * ```ts
   * await gatehouse.webhooks.update('whe_...', { status: 'disabled' });
   * ```
   */
  update(id: string, params: WebhookUpdateParams, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this._client.request({ method: 'PATCH', path: `${BASE_PATH}/${pathSegment(id, 'webhook endpoint')}`, body: params, options });
  }

  /**
   * Deletes an endpoint and its delivery log; deliveries still pending are dropped.
   *
   * @example
   * ```ts
   * await gatehouse.webhooks.delete('whe_...');
   * ```
   */
  delete(id: string, options?: RequestOptions): Promise<DeletedObject> {
    return this._client.request({ method: 'DELETE', path: `${BASE_PATH}/${pathSegment(id, 'webhook endpoint')}`, options });
  }

  /**
   * Replaces the endpoint's signing secret. The new secret (in the answer, shown this once) signs every
   * delivery from now on, retries of earlier events included.
   *
   * @example
   * ```ts
   * const { secret } = await gatehouse.webhooks.rotateSecret('whe_...');
   * ```
   */
  rotateSecret(id: string, options?: RequestOptions): Promise<WebhookEndpointWithSecret> {
    return this._client.request({
      method: 'POST',
      path: `${BASE_PATH}/${pathSegment(id, 'webhook endpoint')}/rotate-secret`,
      options,
      retryable: false,
    });
  }

  /**
   * Queues a `webhook.test` event for this endpoint only and resolves with its delivery (`pending`).
   *
   * @example
   * ```ts
   * const delivery = await gatehouse.webhooks.sendTestEvent('whe_...');
   * ```
   */
  sendTestEvent(id: string, options?: RequestOptions): Promise<WebhookDelivery> {
    return this._client.request({ method: 'POST', path: `${BASE_PATH}/${pathSegment(id, 'webhook endpoint')}/test`, options });
  }
}

/** Where a delivery is: `pending` (to be tried, or retried), `succeeded`, or `failed` (given up). */
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One event sent (or to be sent) to one endpoint (`whd_…`): an entry of the delivery log. */
export interface WebhookDelivery {
  object: 'webhook_delivery';
  id: string;
  webhookEndpointId: string;
  /** The event id (`msg_…`), sent as the `webhook-id` header on every attempt. */
  eventId: string;
  eventType: WebhookEventType | 'webhook.test';
  status: WebhookDeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt is due; `null` once the delivery has succeeded or failed. */
  nextAttemptAt: Timestamp | null;
  lastAttemptAt: Timestamp | null;
  /** The HTTP status of the last attempt; `null` when no answer came (timeout, connection refused). */
  lastStatusCode: number | null;
  /** Why the last attempt failed: `http_error`, `timeout`, `econnrefused`, `redirect_not_followed`, … */
  lastError: string | null;
  createdAt: Timestamp;
}
