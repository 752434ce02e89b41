import type { RequestOptions } from '../../core/http.js';
import type { CursorPageParams, PagePromise } from '../../core/pagination.js';
import { APIResource, pathSegment } from '../../core/resource.js';
import type { WebhookDelivery, WebhookDeliveryStatus } from './webhooks.js';

/** Filters of `gatehouse.webhooks.deliveries.list`. */
export interface WebhookDeliveryListParams extends CursorPageParams {
  status?: WebhookDeliveryStatus;
}

/** `gatehouse.webhooks.deliveries`: what was sent to an endpoint, how often, and how it went. */
export class WebhookDeliveries extends APIResource {
  /**
   * Lists an endpoint's deliveries, newest first.
   *
   * @param webhookId - the endpoint (`whe_…`)
   * @param params - `status` and paging
   * @param options - per-call options
   *
   * @example
   * ```ts
   * for await (const delivery of gatehouse.webhooks.deliveries.list('whe_...', { status: 'failed' })) {
   *   console.log(delivery.eventType, delivery.attempts, delivery.lastStatusCode, delivery.lastError);
   * }
   * ```
   */
  list(webhookId: string, params: WebhookDeliveryListParams = {}, options?: RequestOptions): PagePromise<WebhookDelivery> {
    return this._client.requestList(`/v1/webhooks/${pathSegment(webhookId, 'webhook endpoint')}/deliveries`, params, options);
  }
}
