import { createHmac } from 'node:crypto';

/** The three Standard Webhooks headers of one delivery attempt. */
export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs a body as Standard Webhooks does: HMAC-SHA256 over `${id}.${timestamp}.${body}` with the bytes
 * of the secret's base64 part (`whsec_<base64>`), sent as `v1,<base64 signature>`.
 *
 * @param secret - the endpoint's `whsec_…` secret
 * @param id - the event id (`msg_…`), the same on every attempt so receivers can deduplicate
 * @param timestampSeconds - Unix seconds of this attempt
 * @param body - the exact bytes sent
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): WebhookSignatureHeaders {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
