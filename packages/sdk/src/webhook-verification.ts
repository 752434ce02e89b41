import { fromWireCase } from './core/case.js';
import { GatehouseError } from './core/errors.js';
import type { ProviderAuthConfig, ProviderSetupSession, Timestamp } from './types.js';

/** One verified webhook event of a given type, with its `data` in SDK form (camelCase). */
export interface WebhookEventOf<TType extends string, TData> {
  /** The `webhook-id` header (`msg_…`): the same on every retry of the event, so use it to deduplicate. */
  id: string;
  type: TType;
  /** When the change happened. */
  timestamp: Timestamp;
  data: TData;
}

/**
 * A verified webhook event. `data` is the object the event is about, exactly as the API returns it:
 * a setup session for `setup_session.*` (its `authConfig` once completed), an auth config for
 * `auth_config.*`. No event carries a secret.
 */
export type WebhookEvent =
  | WebhookEventOf<'setup_session.completed' | 'setup_session.failed' | 'setup_session.expired', ProviderSetupSession>
  | WebhookEventOf<'auth_config.refreshed' | 'auth_config.reauthorization_required' | 'auth_config.deleted', ProviderAuthConfig>
  | WebhookEventOf<'webhook.test', { webhookEndpointId: string }>;

/** Why a delivery did not verify. */
export type WebhookVerificationErrorCode =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_secret'
  | 'invalid_signature'
  | 'invalid_payload';

/**
 * A webhook delivery that must not be trusted: a header is missing, the timestamp is outside the
 * tolerance (a replay), or no signature matches the body. Answer it with a `4xx`.
 */
export class WebhookVerificationError extends GatehouseError {
  override name = 'WebhookVerificationError';
  /** What is wrong, e.g. `invalid_signature`. */
  readonly code: WebhookVerificationErrorCode;

  /**
   * @param code - what is wrong
   * @param message - a readable message (never contains the secret)
   */
  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Request headers as a `Headers` object (fetch, edge runtimes) or a plain object (Node's `req.headers`). */
export type WebhookHeaders = Headers | Record<string, string | string[] | null | undefined>;

/** Parameters of {@link verifyWebhookSignature}. */
export interface VerifyWebhookSignatureParams {
  /** The raw request body, exactly as received (not re-serialized JSON). */
  payload: string;
  /** The request headers; `webhook-id`, `webhook-timestamp` and `webhook-signature` are read. */
  headers: WebhookHeaders;
  /** The endpoint's signing secret, `whsec_…`. */
  secret: string;
  /** How far `webhook-timestamp` may be from now, either way (default 300 s). */
  toleranceSeconds?: number;
}

/**
 * Checks a Gatehouse webhook delivery (Standard Webhooks: HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the bytes of the secret's base64 part) and
 * resolves with its event. Any of the space-separated `v1,<signature>` entries may match, which lets a
 * sender sign with more than one secret. Uses WebCrypto only (`crypto.subtle`), so it runs in Node 20+,
 * browsers, Deno, Bun and edge runtimes; signatures are compared by `crypto.subtle.verify` (constant time).
 *
 * @throws WebhookVerificationError when a header is missing, the timestamp is more than
 *   `toleranceSeconds` away from now, no signature matches, or the body is not a JSON event
 *
 * @example
 * ```ts
 * import { verifyWebhookSignature, WebhookVerificationError } from '@gatehouse/sdk';
 *
 * app.post('/webhooks/gatehouse', async (req, res) => {
 *   try {
 *     const event = await verifyWebhookSignature({ payload: req.rawBody, headers: req.headers, secret: process.env.GATEHOUSE_WEBHOOK_SECRET! });
 *     if (event.type === 'setup_session.completed') await saveForUser(event.data.metadata.userId, event.data.authConfig!.id);
 *     res.sendStatus(204);
 *   } catch (err) {
 *     if (err instanceof WebhookVerificationError) res.sendStatus(400);
 *     else throw err;
 *   }
 * });
 * ```
 */
export async function verifyWebhookSignature(params: VerifyWebhookSignatureParams): Promise<WebhookEvent> {
  const { payload, headers, secret, toleranceSeconds = 300 } = params;
  if (typeof payload !== 'string') {
    throw new WebhookVerificationError('invalid_payload', 'Pass the raw request body as a string, exactly as received.');
  }
  const id = readHeader(headers, 'webhook-id');
  const timestamp = readHeader(headers, 'webhook-timestamp');
  const signatures = readHeader(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('missing_headers', 'The webhook-id, webhook-timestamp and webhook-signature headers are required.');
  }

  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not a Unix time in seconds.');
  const skew = Math.floor(Date.now() / 1000) - Number(timestamp);
  if (skew > toleranceSeconds) throw new WebhookVerificationError('timestamp_too_old', `webhook-timestamp is ${skew} s old (tolerance ${toleranceSeconds} s).`);
  if (-skew > toleranceSeconds) {
    throw new WebhookVerificationError('timestamp_too_new', `webhook-timestamp is ${-skew} s in the future (tolerance ${toleranceSeconds} s).`);
  }

  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new GatehouseError('verifyWebhookSignature needs WebCrypto (globalThis.crypto.subtle), which this runtime lacks.');
  const keyBytes = decodeBase64(typeof secret === 'string' && secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret);
  if (!keyBytes || keyBytes.length === 0) throw new WebhookVerificationError('invalid_secret', 'The secret is not a whsec_… signing secret.');
  const key = await subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${payload}`);

  let verified = false;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const signature = decodeBase64(entry.slice(comma + 1));
    if (signature && (await subtle.verify('HMAC', key, signature, signed))) {
      verified = true;
      break;
    }
  }
  if (!verified) throw new WebhookVerificationError('invalid_signature', 'No webhook-signature matches the body and this secret.');

  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'The body is not JSON.');
  }
  const event = body as { type?: unknown; timestamp?: unknown; data?: unknown } | null;
  if (!event || typeof event !== 'object' || typeof event.type !== 'string' || typeof event.timestamp !== 'string') {
    throw new WebhookVerificationError('invalid_payload', 'The body is not a webhook event ({ type, timestamp, data }).');
  }
  return { id, type: event.type, timestamp: event.timestamp, data: fromWireCase(event.data) } as WebhookEvent;
}

function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    return (headers as Headers).get(name)?.trim() || undefined;
  }
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() !== name) continue;
    const text = Array.isArray(value) ? value.join(' ') : typeof value === 'string' ? value : undefined;
    return text?.trim() || undefined;
  }
  return undefined;
}

/** Standard base64 (padding optional) to bytes; `undefined` when it is not base64. */
function decodeBase64(value: string): Uint8Array<ArrayBuffer> | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  try {
    const binary = atob(value);
    const bytes = new Uint8Array(binary.length);
    for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
    return bytes;
  } catch {
    return undefined;
  }
}
