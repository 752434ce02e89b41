import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Gatehouse, GatehouseError, verifyWebhookSignature, WebhookVerificationError, type WebhookEvent } from './index.js';

// Known vectors are computed here with node:crypto, independently of the WebCrypto code under test.
const secretBytes = randomBytes(32);
const secret = `whsec_${secretBytes.toString('base64')}`;

function sign(key: Buffer, id: string, timestamp: number | string, body: string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const body = JSON.stringify({
  type: 'setup_session.completed',
  timestamp: '2025-01-31T12:00:00.000Z',
  data: {
    object: 'provider_setup_session',
    id: 'pas_1',
    status: 'completed',
    metadata: { user_id: 'u_1' },
    auth_config: { object: 'provider_auth_config', id: 'pac_1', provider_id: 'exa' },
  },
});

function headersFor(payload: string, options: { id?: string; timestamp?: number; signature?: string } = {}) {
  const id = options.id ?? 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const timestamp = options.timestamp ?? nowSeconds();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': options.signature ?? `v1,${sign(secretBytes, id, timestamp, payload)}`,
  };
}

async function rejection(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WebhookVerificationError);
  expect(error).toBeInstanceOf(GatehouseError);
  return error as WebhookVerificationError;
}

describe('verifyWebhookSignature', () => {
  it('accepts the Standard Webhooks vector from the spec', async () => {
    // The example of the Standard Webhooks specification: secret, id, timestamp, body and signature.
    const specSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const timestamp = 1614265330;
    const payload = '{"test": 2432232314}';
    const expected = sign(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'), id, timestamp, payload);
    expect(expected).toBe('g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const realNow = Date.now;
    Date.now = () => timestamp * 1000;
    try {
      await expect(
        verifyWebhookSignature({
          payload,
          headers: { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${expected}` },
          secret: specSecret,
        }),
      ).rejects.toMatchObject({ code: 'invalid_payload' }); // a valid signature; the body is not a Gatehouse event
    } finally {
      Date.now = realNow;
    }
  });

  it('accepts a valid delivery and returns the event in SDK form with the webhook id', async () => {
    const event: WebhookEvent = await verifyWebhookSignature({ payload: body, headers: headersFor(body), secret });
    expect(event).toEqual({
      id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      type: 'setup_session.completed',
      timestamp: '2025-01-31T12:00:00.000Z',
      data: {
        object: 'provider_setup_session',
        id: 'pas_1',
        status: 'completed',
        metadata: { user_id: 'u_1' },
        authConfig: { object: 'provider_auth_config', id: 'pac_1', providerId: 'exa' },
      },
    });
    if (event.type === 'setup_session.completed') expect(event.data.authConfig?.id).toBe('pac_1');
  });

  it('reads a fetch Headers object and header names in any case', async () => {
    const raw = headersFor(body);
    await expect(verifyWebhookSignature({ payload: body, headers: new Headers(raw), secret })).resolves.toMatchObject({ type: 'setup_session.completed' });
    const shouted = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key.toUpperCase(), value]));
    await expect(verifyWebhookSignature({ payload: body, headers: shouted, secret })).resolves.toMatchObject({ id: raw['webhook-id'] });
  });

  it('accepts any one of several space-separated signatures, ignoring unknown versions', async () => {
    const timestamp = nowSeconds();
    const good = sign(secretBytes, 'msg_1', timestamp, body);
    const other = sign(randomBytes(32), 'msg_1', timestamp, body);
    const headers = headersFor(body, { id: 'msg_1', timestamp, signature: `v1a,${good} v1,${other} v1,not-base64!! v1,${good}` });
    await expect(verifyWebhookSignature({ payload: body, headers, secret })).resolves.toMatchObject({ id: 'msg_1' });
  });

  it('rejects a wrong signature, a tampered body, another secret, and a signature of another id', async () => {
    const headers = headersFor(body);
    expect((await rejection(verifyWebhookSignature({ payload: body.replace('pas_1', 'pas_2'), headers, secret }))).code).toBe('invalid_signature');
    const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;
    expect((await rejection(verifyWebhookSignature({ payload: body, headers, secret: otherSecret }))).code).toBe('invalid_signature');
    const timestamp = nowSeconds();
    const forOtherId = { ...headersFor(body, { id: 'msg_a', timestamp }), 'webhook-id': 'msg_b' };
    expect((await rejection(verifyWebhookSignature({ payload: body, headers: forOtherId, secret }))).code).toBe('invalid_signature');
    const v2Only = headersFor(body, { signature: `v2,${sign(secretBytes, 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', nowSeconds(), body)}` });
    expect((await rejection(verifyWebhookSignature({ payload: body, headers: v2Only, secret }))).code).toBe('invalid_signature');
  });

  it('rejects missing headers', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const headers: Record<string, string> = headersFor(body);
      delete headers[name];
      expect((await rejection(verifyWebhookSignature({ payload: body, headers, secret }))).code).toBe('missing_headers');
    }
  });

  it('rejects a timestamp outside the tolerance either way, even with a valid signature', async () => {
    const old = nowSeconds() - 301;
    expect((await rejection(verifyWebhookSignature({ payload: body, headers: headersFor(body, { timestamp: old }), secret }))).code).toBe('timestamp_too_old');
    const future = nowSeconds() + 301;
    expect((await rejection(verifyWebhookSignature({ payload: body, headers: headersFor(body, { timestamp: future }), secret }))).code).toBe(
      'timestamp_too_new',
    );
    await expect(
      verifyWebhookSignature({ payload: body, headers: headersFor(body, { timestamp: old }), secret, toleranceSeconds: 600 }),
    ).resolves.toMatchObject({ type: 'setup_session.completed' });
    const notANumber = { ...headersFor(body), 'webhook-timestamp': '12e5' };
    expect((await rejection(verifyWebhookSignature({ payload: body, headers: notANumber, secret }))).code).toBe('invalid_timestamp');
  });

  it('rejects a secret that is not base64, and a signed body that is not an event', async () => {
    expect((await rejection(verifyWebhookSignature({ payload: body, headers: headersFor(body), secret: 'whsec_%%%' }))).code).toBe('invalid_secret');
    const notJson = 'not json';
    expect((await rejection(verifyWebhookSignature({ payload: notJson, headers: headersFor(notJson), secret }))).code).toBe('invalid_payload');
  });

  it('never puts the secret in an error message', async () => {
    const error = await rejection(verifyWebhookSignature({ payload: body, headers: headersFor(body, { signature: 'v1,AAAA' }), secret }));
    expect(error.message).not.toContain(secret.slice('whsec_'.length));
  });
});

describe('gatehouse.webhooks', () => {
  it('calls the REST paths in snake_case and answers in camelCase', async () => {
    const requests: Array<{ method: string; url: string; body: unknown }> = [];
    const fetch = async (input: string, init: RequestInit) => {
      requests.push({ method: init.method ?? 'GET', url: input, body: init.body ? JSON.parse(String(init.body)) : undefined });
      const answer = input.includes('/deliveries')
        ? { data: [{ object: 'webhook_delivery', id: 'whd_1', event_type: 'setup_session.completed', last_status_code: 200 }], next_cursor: null }
        : { object: 'webhook_endpoint', id: 'whe_1', event_types: ['setup_session.completed'], secret: 'whsec_x' };
      return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const gatehouse = new Gatehouse({ apiKey: 'ghk_test', baseUrl: 'http://gatehouse.test', fetch });
    const created = await gatehouse.webhooks.create({ url: 'https://app.test/hook', eventTypes: ['setup_session.completed'] });
    expect(created).toMatchObject({ id: 'whe_1', eventTypes: ['setup_session.completed'], secret: 'whsec_x' });
    await gatehouse.webhooks.update('whe_1', { status: 'disabled' });
    await gatehouse.webhooks.rotateSecret('whe_1');
    const deliveries = await gatehouse.webhooks.deliveries.list('whe_1', { status: 'succeeded' });
    expect(deliveries.data[0]).toMatchObject({ eventType: 'setup_session.completed', lastStatusCode: 200 });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST http://gatehouse.test/v1/webhooks',
      'PATCH http://gatehouse.test/v1/webhooks/whe_1',
      'POST http://gatehouse.test/v1/webhooks/whe_1/rotate-secret',
      'GET http://gatehouse.test/v1/webhooks/whe_1/deliveries?status=succeeded',
    ]);
    expect(requests[0]?.body).toEqual({ url: 'https://app.test/hook', event_types: ['setup_session.completed'] });
  });
});
