/**
 * Webhooks end to end: a real receiver on 127.0.0.1 gets Standard Webhooks-signed events when setup
 * sessions complete or expire, retried with backoff from the durable outbox (across a restart, too), and
 * delivered exactly once by two processes on one PostgreSQL.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BadRequestError,
  Gatehouse,
  NotFoundError,
  verifyWebhookSignature,
  WebhookVerificationError,
  type WebhookDelivery,
  type WebhookEndpointWithSecret,
} from '@gatehouse/sdk';
import {
  createTestDatabase,
  FakeClock,
  freePort,
  spawnGatehouse,
  startInProcessGatehouse,
  tempDir,
  TEST_DATABASE_URL,
  testApiKey,
  testEncryptionKeys,
  type GatehouseProcess,
  type InProcessGatehouse,
} from '../support/gatehouse.js';

/** Retries in these tests: 50 ms, 300 ms, 1.2 s, … instead of 5 s, 30 s, 2 min. */
const FAST_RETRIES = { GATEHOUSE_WEBHOOK_RETRY_BASE_MS: '50' };
const WAIT_MS = 20_000;

// --- a webhook receiver -------------------------------------------------------------------------

interface Received {
  headers: Record<string, string>;
  /** The raw body, as signed. */
  body: string;
  json: { type: string; timestamp: string; data: { id: string; [key: string]: unknown } };
  /** The status the receiver answered. */
  answered: number;
}

interface Receiver {
  url: string;
  received: Received[];
  /** Resolves with the first request (past or future) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (request: Received) => boolean, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

/**
 * An HTTP server that records every POST. `answer` picks the status from the request and how many
 * earlier requests carried the same `webhook-id`.
 */
async function startReceiver(answer: (request: Omit<Received, 'answered'>, earlierAttempts: number) => number = () => 204): Promise<Receiver> {
  const received: Received[] = [];
  const events = new EventEmitter();
  const server = createServer(async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, String(value)]));
    const partial = { headers, body, json: JSON.parse(body) as Received['json'] };
    const earlier = received.filter((entry) => entry.headers['webhook-id'] === headers['webhook-id']).length;
    const status = answer(partial, earlier);
    const entry: Received = { ...partial, answered: status };
    received.push(entry);
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'receiver says no: secret-ish body that must not be stored');
    events.emit('request', entry);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/gatehouse`,
    received,
    waitFor(predicate, timeoutMs = WAIT_MS) {
      const found = received.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const listener = (entry: Received) => {
          if (!predicate(entry)) return;
          clearTimeout(timer);
          events.off('request', listener);
          resolve(entry);
        };
        const timer = setTimeout(() => {
          events.off('request', listener);
          const seen = received.map((entry) => `${entry.json.type} ${entry.json.data.id} -> ${entry.answered}`).join('; ');
          reject(new Error(`no matching webhook within ${timeoutMs} ms (received: ${seen || 'nothing'})`));
        }, timeoutMs);
        events.on('request', listener);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Probes until `probe` returns something other than `undefined`; fails after `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The delivery of `eventId` in an endpoint's log, once `accept` says it is the state awaited. */
function deliveryOf(gatehouse: Gatehouse, endpointId: string, eventId: string, accept: (delivery: WebhookDelivery) => boolean = () => true) {
  return eventually(`the delivery of ${eventId} to ${endpointId}`, async () => {
    for await (const delivery of gatehouse.webhooks.deliveries.list(endpointId)) {
      if (delivery.eventId === eventId) return accept(delivery) ? delivery : undefined;
    }
    return undefined;
  });
}

/** The end user pastes an API key on the hosted form (plain HTTP, as a browser would post it). */
async function pasteApiKey(pagesUrl: string, setupSessionId: string, apiKey: string): Promise<void> {
  const url = `${pagesUrl}/setup/${setupSessionId}`;
  const form = await fetch(url);
  expect(form.status).toBe(200);
  const cookie = form.headers
    .getSetCookie()
    .map((value) => value.split(';')[0])
    .join('; ');
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())?.[1];
  expect(csrfToken).toBeDefined();
  const posted = await fetch(`${url}/api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ api_key: apiKey, csrf_token: csrfToken! }),
    redirect: 'manual',
  });
  await posted.text();
  expect(posted.status).toBe(200);
}

const isEvent = (type: string, setupSessionId: string) => (request: Received) =>
  request.json.type === type && request.json.data.id === setupSessionId;

// --- one embedded server ------------------------------------------------------------------------

describe('webhooks (embedded store)', () => {
  const clock = new FakeClock();
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let receiver: Receiver;
  let endpoint: WebhookEndpointWithSecret;
  let expiredOnlyReceiver: Receiver;
  let expiredOnly: WebhookEndpointWithSecret;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    server = await startInProcessGatehouse({ clock, env: FAST_RETRIES });
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    await gatehouse.providers.deployments.create({ providerId: 'exa' });
    receiver = await startReceiver();
    expiredOnlyReceiver = await startReceiver();
    receivers.push(receiver, expiredOnlyReceiver);
    endpoint = await gatehouse.webhooks.create({ url: receiver.url });
    expiredOnly = await gatehouse.webhooks.create({ url: expiredOnlyReceiver.url, eventTypes: ['setup_session.expired'] });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all(receivers.map((entry) => entry.close()));
  });

  it('manages endpoints: the secret is shown on create and rotate only; bad URLs and event types are refused', async () => {
    expect(endpoint).toMatchObject({ object: 'webhook_endpoint', url: receiver.url, eventTypes: [], status: 'enabled' });
    expect(endpoint.id).toMatch(/^whe_/);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const fetched = await gatehouse.webhooks.get(endpoint.id);
    expect(fetched).not.toHaveProperty('secret');
    const listed = await gatehouse.webhooks.list();
    expect(listed.data.map((entry) => entry.id)).toEqual(expect.arrayContaining([endpoint.id, expiredOnly.id]));
    expect(JSON.stringify(listed.data)).not.toContain('whsec_');

    await expect(gatehouse.webhooks.create({ url: 'ftp://127.0.0.1/x' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(gatehouse.webhooks.create({ url: 'http://user:pw@127.0.0.1/x' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(gatehouse.webhooks.create({ url: receiver.url, eventTypes: ['session.nope' as never] })).rejects.toBeInstanceOf(BadRequestError);
    await expect(gatehouse.webhooks.get('whe_missing')).rejects.toBeInstanceOf(NotFoundError);

    const extra = await gatehouse.webhooks.create({ url: `${receiver.url}?extra=1`, eventTypes: ['setup_session.failed'] });
    const updated = await gatehouse.webhooks.update(extra.id, { status: 'disabled', eventTypes: ['setup_session.failed', 'auth_config.deleted'] });
    expect(updated).toMatchObject({ status: 'disabled', eventTypes: ['setup_session.failed', 'auth_config.deleted'] });
    const rotated = await gatehouse.webhooks.rotateSecret(extra.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(extra.secret);
    await expect(gatehouse.webhooks.delete(extra.id)).resolves.toEqual({ id: extra.id, deleted: true });
    await expect(gatehouse.webhooks.get(extra.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('delivers setup_session.completed, signed, without the pasted key, to subscribed endpoints only', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key', metadata: { userId: 'u-9' } });
    await pasteApiKey(server.url, setupSession.id, 'exa-canary-key-webhook-0123456789');
    const completed = await gatehouse.providers.setupSessions.get(setupSession.id);
    expect(completed.status).toBe('completed');

    const request = await receiver.waitFor(isEvent('setup_session.completed', setupSession.id));
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(request.headers['webhook-id']).toMatch(/^msg_/);
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const event = await verifyWebhookSignature({ payload: request.body, headers: request.headers, secret: endpoint.secret });
    expect(event.id).toBe(request.headers['webhook-id']);
    expect(event.type).toBe('setup_session.completed');
    if (event.type !== 'setup_session.completed') throw new Error('narrowing');
    expect(event.data).toMatchObject({ id: setupSession.id, status: 'completed', metadata: { userId: 'u-9' } });
    expect(event.data.authConfig).toMatchObject({ id: completed.authConfig!.id, providerId: 'exa', status: 'active' });

    // No secret in the payload: not the pasted key, not the signing secret.
    expect(request.body).not.toContain('exa-canary-key');
    expect(request.body).not.toContain('whsec_');
    expect(server.logs()).not.toContain(endpoint.secret);
    await expect(verifyWebhookSignature({ payload: request.body, headers: request.headers, secret: expiredOnly.secret })).rejects.toBeInstanceOf(
      WebhookVerificationError,
    );

    const delivery = await deliveryOf(gatehouse, endpoint.id, event.id, (entry) => entry.status !== 'pending');
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 204, lastError: null, eventType: 'setup_session.completed', nextAttemptAt: null });
    // The endpoint subscribed to `setup_session.expired` only got no delivery: written (or not) in the
    // same transaction as the completion, so its absence is final.
    const other = await gatehouse.webhooks.deliveries.list(expiredOnly.id);
    expect(other.data.filter((entry) => entry.eventId === event.id)).toEqual([]);
  });

  it('delivers setup_session.expired when a session expires', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
    clock.advance(31 * 60_000);
    expect((await gatehouse.providers.setupSessions.get(setupSession.id)).status).toBe('expired');

    for (const [target, secret] of [
      [receiver, endpoint.secret],
      [expiredOnlyReceiver, expiredOnly.secret],
    ] as const) {
      const request = await target.waitFor(isEvent('setup_session.expired', setupSession.id));
      const event = await verifyWebhookSignature({ payload: request.body, headers: request.headers, secret });
      expect(event).toMatchObject({ type: 'setup_session.expired', data: { id: setupSession.id, status: 'expired', authConfig: null } });
    }
  });

  it('retries a receiver that fails three times and records four attempts, all with the same webhook-id', async () => {
    const flaky = await startReceiver((_request, earlier) => (earlier < 3 ? 500 : 200));
    receivers.push(flaky);
    const flakyEndpoint = await gatehouse.webhooks.create({ url: flaky.url, eventTypes: ['setup_session.completed'] });
    try {
      const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
      await pasteApiKey(server.url, setupSession.id, 'exa-key-flaky-1');

      const success = await flaky.waitFor((request) => isEvent('setup_session.completed', setupSession.id)(request) && request.answered === 200);
      const attempts = flaky.received.filter((request) => request.headers['webhook-id'] === success.headers['webhook-id']);
      expect(attempts.map((request) => request.answered)).toEqual([500, 500, 500, 200]);
      const event = await verifyWebhookSignature({ payload: success.body, headers: success.headers, secret: flakyEndpoint.secret });
      expect(event).toMatchObject({ type: 'setup_session.completed', data: { id: setupSession.id } });

      const delivery = await deliveryOf(gatehouse, flakyEndpoint.id, event.id, (entry) => entry.status !== 'pending');
      expect(delivery).toMatchObject({ status: 'succeeded', attempts: 4, lastStatusCode: 200, lastError: null });
    } finally {
      await gatehouse.webhooks.delete(flakyEndpoint.id);
    }
  });

  it('records a failing attempt with its status and error class, never the receiver body', async () => {
    const failing = await startReceiver(() => 503);
    receivers.push(failing);
    const failingEndpoint = await gatehouse.webhooks.create({ url: failing.url, eventTypes: ['setup_session.completed'] });
    try {
      const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
      await pasteApiKey(server.url, setupSession.id, 'exa-key-failing-1');
      const first = await failing.waitFor(isEvent('setup_session.completed', setupSession.id));
      const delivery = await deliveryOf(gatehouse, failingEndpoint.id, first.headers['webhook-id']!, (entry) => entry.attempts >= 1);
      expect(delivery).toMatchObject({ status: 'pending', lastStatusCode: 503, lastError: 'http_error' });
      expect(delivery.nextAttemptAt).not.toBeNull();
      expect(JSON.stringify(delivery)).not.toContain('receiver says no');
    } finally {
      await gatehouse.webhooks.delete(failingEndpoint.id);
    }
  });

  it('sends a webhook.test event signed with the rotated secret', async () => {
    const rotated = await gatehouse.webhooks.rotateSecret(endpoint.id);
    const queued = await gatehouse.webhooks.sendTestEvent(endpoint.id);
    expect(queued).toMatchObject({ object: 'webhook_delivery', eventType: 'webhook.test', webhookEndpointId: endpoint.id });
    const request = await receiver.waitFor((entry) => entry.headers['webhook-id'] === queued.eventId);
    await expect(verifyWebhookSignature({ payload: request.body, headers: request.headers, secret: rotated.secret })).resolves.toMatchObject({
      type: 'webhook.test',
      data: { webhookEndpointId: endpoint.id },
    });
    await expect(verifyWebhookSignature({ payload: request.body, headers: request.headers, secret: endpoint.secret })).rejects.toMatchObject({
      code: 'invalid_signature',
    });
  });
});

// --- a restart ----------------------------------------------------------------------------------

describe('webhooks survive a restart (embedded store)', () => {
  let receiver: Receiver;
  let receiverDown = true;
  let servers: InProcessGatehouse[] = [];

  beforeAll(async () => {
    receiver = await startReceiver(() => (receiverDown ? 503 : 200));
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
    servers = [];
    await receiver?.close();
  });

  it('delivers after a restart an event that was still pending when the server stopped', async () => {
    const dataDir = tempDir();
    const first = await startInProcessGatehouse({ dataDir, env: FAST_RETRIES });
    servers.push(first);
    const before = new Gatehouse({ apiKey: first.apiKey, baseUrl: first.url });
    await before.providers.deployments.create({ providerId: 'exa' });
    const endpoint = await before.webhooks.create({ url: receiver.url });
    const setupSession = await before.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
    await pasteApiKey(first.url, setupSession.id, 'exa-key-restart-1');

    const failed = await receiver.waitFor(isEvent('setup_session.completed', setupSession.id));
    expect(failed.answered).toBe(503);
    const eventId = failed.headers['webhook-id']!;
    const pending = await deliveryOf(before, endpoint.id, eventId, (entry) => entry.attempts >= 1);
    expect(pending.status).toBe('pending');
    await first.close();
    servers = [];

    receiverDown = false;
    // Same data folder, same project: the key the first server was bootstrapped with still works.
    const second = await startInProcessGatehouse({ dataDir, env: { ...FAST_RETRIES, GATEHOUSE_BOOTSTRAP_API_KEY: first.apiKey } });
    servers.push(second);
    const after = new Gatehouse({ apiKey: first.apiKey, baseUrl: second.url });

    const delivered = await receiver.waitFor((request) => request.headers['webhook-id'] === eventId && request.answered === 200);
    const event = await verifyWebhookSignature({ payload: delivered.body, headers: delivered.headers, secret: endpoint.secret });
    expect(event).toMatchObject({ id: eventId, type: 'setup_session.completed', data: { id: setupSession.id } });
    const delivery = await deliveryOf(after, endpoint.id, eventId, (entry) => entry.status !== 'pending');
    expect(delivery.status).toBe('succeeded');
    expect(delivery.attempts).toBeGreaterThanOrEqual(2);
  });
});

// --- two processes on PostgreSQL ----------------------------------------------------------------

describe.skipIf(!TEST_DATABASE_URL)('webhooks from two gatehouse processes on one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let processA: GatehouseProcess;
  let processB: GatehouseProcess;
  let viaA: Gatehouse;
  let receiver: Receiver;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Every event's first attempt fails, so its retry is left to whichever process's timer fires first.
    receiver = await startReceiver((_request, earlier) => (earlier === 0 ? 500 : 200));
    const apiKey = testApiKey();
    const env = {
      DATABASE_URL: database.url,
      GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
      GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
      ...FAST_RETRIES,
    };
    const [portA, portB] = [await freePort(), await freePort()];
    [processA, processB] = await Promise.all([spawnGatehouse({ port: portA, env }), spawnGatehouse({ port: portB, env })]);
    viaA = new Gatehouse({ apiKey, baseUrl: processA.url });
  });

  afterAll(async () => {
    await Promise.all([processA?.stop(), processB?.stop()]);
    await receiver?.close();
    await database?.drop();
  });

  it('delivers each event exactly once although both processes are woken and retry', async () => {
    await viaA.providers.deployments.create({ providerId: 'exa' });
    const endpoint = await viaA.webhooks.create({ url: receiver.url, eventTypes: ['setup_session.completed'] });
    const sessions = await Promise.all(
      Array.from({ length: 12 }, () => viaA.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' })),
    );
    // Completions spread over both processes; each wakes the dispatchers of both.
    await Promise.all(sessions.map((session, index) => pasteApiKey((index % 2 === 0 ? processA : processB).url, session.id, `exa-key-pg-${index}`)));

    for (const session of sessions) {
      const delivered = await receiver.waitFor((request) => isEvent('setup_session.completed', session.id)(request) && request.answered === 200);
      await expect(verifyWebhookSignature({ payload: delivered.body, headers: delivered.headers, secret: endpoint.secret })).resolves.toMatchObject({
        data: { id: session.id },
      });
    }
    // Once the log says every delivery is final, nothing is left to send.
    const deliveries = await eventually('every delivery to be final', async () => {
      const page = await viaA.webhooks.deliveries.list(endpoint.id, { limit: 100 });
      return page.data.length === sessions.length && page.data.every((entry) => entry.status !== 'pending') ? page.data : undefined;
    });
    expect(deliveries.every((entry) => entry.status === 'succeeded' && entry.attempts === 2)).toBe(true);
    for (const session of sessions) {
      const requests = receiver.received.filter((request) => request.json.data.id === session.id);
      expect(requests.map((request) => request.answered)).toEqual([500, 200]);
      expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    }
    expect(receiver.received).toHaveLength(sessions.length * 2);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('webhooks survive a killed process (PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let receiver: Receiver;
  const processes: GatehouseProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // The first three attempts of every event fail, as in the issue.
    receiver = await startReceiver((_request, earlier) => (earlier < 3 ? 503 : 204));
  });

  afterAll(async () => {
    for (const gatehouseProcess of processes) await gatehouseProcess.stop();
    await receiver?.close();
    await database?.drop();
  });

  it('delivers an event exactly once, signed, after three failures and a SIGKILL between attempts', async () => {
    const apiKey = testApiKey();
    const env = {
      DATABASE_URL: database.url,
      GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
      GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
      // 300 ms, 1.8 s, 7.2 s: room to kill the process between the first and the second attempt.
      GATEHOUSE_WEBHOOK_RETRY_BASE_MS: '300',
    };
    const first = await spawnGatehouse({ env });
    processes.push(first);
    const viaFirst = new Gatehouse({ apiKey, baseUrl: first.url });
    await viaFirst.providers.deployments.create({ providerId: 'exa' });
    const endpoint = await viaFirst.webhooks.create({ url: receiver.url, eventTypes: ['setup_session.completed'] });
    const setupSession = await viaFirst.providers.setupSessions.create({ providerId: 'exa', providerAuthMethodId: 'api_key' });
    await pasteApiKey(first.url, setupSession.id, 'exa-key-sigkill-1');

    const failed = await receiver.waitFor(isEvent('setup_session.completed', setupSession.id));
    expect(failed.answered).toBe(503);
    const eventId = failed.headers['webhook-id']!;
    await deliveryOf(viaFirst, endpoint.id, eventId, (entry) => entry.attempts >= 1);
    await first.stop('SIGKILL');

    const second = await spawnGatehouse({ env });
    processes.push(second);
    const viaSecond = new Gatehouse({ apiKey, baseUrl: second.url });
    const delivered = await receiver.waitFor((request) => request.headers['webhook-id'] === eventId && request.answered === 204, 30_000);
    await expect(verifyWebhookSignature({ payload: delivered.body, headers: delivered.headers, secret: endpoint.secret })).resolves.toMatchObject({
      id: eventId,
      type: 'setup_session.completed',
      data: { id: setupSession.id },
    });
    const delivery = await deliveryOf(viaSecond, endpoint.id, eventId, (entry) => entry.status !== 'pending');
    expect(delivery.status).toBe('succeeded');

    const attempts = receiver.received.filter((request) => request.json.data.id === setupSession.id);
    expect(new Set(attempts.map((request) => request.headers['webhook-id']))).toEqual(new Set([eventId]));
    // Exactly one successful delivery, after (at least) the three failures.
    expect(attempts.filter((request) => request.answered < 300)).toHaveLength(1);
    expect(attempts.filter((request) => request.answered >= 300).length).toBeGreaterThanOrEqual(3);
    expect(attempts.at(-1)!.answered).toBe(204);
  });
});
