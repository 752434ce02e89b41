import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGatehouse, sendError, startFakeGatehouse, TEST_API_KEY } from '../../test/fake-gatehouse.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  Gatehouse,
  InternalServerError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  UnsupportedMediaTypeError,
  VERSION,
} from '../index.js';
import { encodeQuery, retryAfterMs } from './http.js';

let fake: FakeGatehouse;
let gatehouse: Gatehouse;

beforeEach(async () => {
  fake = await startFakeGatehouse();
  gatehouse = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl });
});
afterEach(() => fake.close());

/** Every way an error can be looked at by a user or a logger. */
function renderings(error: unknown): string[] {
  const err = error as Error;
  return [err.message, String(err), err.stack ?? '', JSON.stringify(err), JSON.stringify((err as APIError).error ?? null)];
}

describe('request headers', () => {
  it('sends the bearer key, Accept, the SDK header, and Content-Type only with a body', async () => {
    await gatehouse.providers.get('slack');
    await gatehouse.providers.setupSessions.create({ providerId: 'slack', providerAuthMethodId: 'oauth' });
    const [get, post] = fake.requests;
    expect(get?.headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    expect(get?.headers.accept).toBe('application/json');
    expect(get?.headers['x-gatehouse-sdk']).toBe(`js/${VERSION}`);
    expect(get?.headers['content-type']).toBeUndefined();
    expect(post?.headers['content-type']).toBe('application/json');
  });

  it('merges default and per-call headers; null removes one', async () => {
    const client = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl, defaultHeaders: { 'X-App': 'a', 'x-gatehouse-sdk': null } });
    await client.providers.get('slack', { headers: { 'x-call': 'c' } });
    const [request] = fake.requests;
    expect(request?.headers['x-app']).toBe('a');
    expect(request?.headers['x-call']).toBe('c');
    expect(request?.headers['x-gatehouse-sdk']).toBeUndefined();
  });
});

describe('errors', () => {
  const cases = [
    [400, 'invalid_request', BadRequestError],
    [401, 'unauthorized', AuthenticationError],
    [403, 'forbidden', PermissionDeniedError],
    [404, 'not_found', NotFoundError],
    [409, 'conflict', ConflictError],
    [413, 'payload_too_large', PayloadTooLargeError],
    [415, 'unsupported_media_type', UnsupportedMediaTypeError],
    [429, 'rate_limited', RateLimitError],
    [500, 'internal_error', InternalServerError],
    [503, 'service_unavailable', InternalServerError],
  ] as const;

  for (const [status, code, ErrorClass] of cases) {
    it(`turns ${status} ${code} into ${ErrorClass.name} with status, code and requestId`, async () => {
      fake.intercept = (_request, response) => {
        sendError(response, status, code, `Something about ${code}.`, { requestId: `req_${status}` });
        return true;
      };
      const error = await gatehouse.providers.get('slack', { maxRetries: 0 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ErrorClass);
      expect(error).toBeInstanceOf(APIError);
      const apiError = error as APIError;
      expect(apiError.status).toBe(status);
      expect(apiError.code).toBe(code);
      expect(apiError.requestId).toBe(`req_${status}`);
      expect(apiError.message).toBe(`${status} ${code}: Something about ${code}.`);
      expect(apiError.name).toBe(ErrorClass.name);
    });
  }

  it('carries validation details', async () => {
    const error = await gatehouse.providers.setupSessions
      .create({ providerAuthMethodId: 'oauth' } as never)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).details).toEqual([{ path: 'provider_id', message: 'Required.' }]);
  });

  it('takes the request id from the x-request-id header when the body has none', async () => {
    fake.intercept = (_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html', 'x-request-id': 'req_from_header' });
      response.end('<html>Bad gateway</html>');
      return true;
    };
    const error = (await gatehouse.providers.get('slack', { maxRetries: 0 }).catch((caught: unknown) => caught)) as APIError;
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error.status).toBe(502);
    expect(error.code).toBeUndefined();
    expect(error.requestId).toBe('req_from_header');
    expect(error.message).toContain('Bad gateway');
  });

  it('answers a wrong API key with AuthenticationError', async () => {
    const client = new Gatehouse({ apiKey: 'gh_wrong', baseUrl: fake.baseUrl });
    await expect(client.providers.list()).rejects.toBeInstanceOf(AuthenticationError);
  });
});

describe('retries', () => {
  it('retries a GET after a 503 and then succeeds', async () => {
    let calls = 0;
    fake.intercept = (_request, response) => {
      calls += 1;
      if (calls > 1) return false;
      sendError(response, 503, 'service_unavailable', 'Starting up.');
      return true;
    };
    const provider = await gatehouse.providers.get('slack');
    expect(provider.id).toBe('slack');
    expect(fake.requestsTo('/v1/providers/slack')).toHaveLength(2);
  });

  it('retries a GET after a dropped connection', async () => {
    let calls = 0;
    fake.intercept = (_request, response) => {
      calls += 1;
      if (calls > 2) return false;
      // No answer at all: what a crashed process or a proxy cutting the connection looks like.
      response.socket?.destroy();
      return true;
    };
    const provider = await gatehouse.providers.get('slack');
    expect(provider.authMethods[0]).toMatchObject({ type: 'oauth2', authorizationUrl: 'https://slack.com/oauth/v2/authorize' });
    expect(calls).toBe(3);
  });

  it('does not retry a POST after a 503', async () => {
    fake.intercept = (_request, response) => {
      sendError(response, 503, 'service_unavailable', 'Try later.');
      return true;
    };
    const error = await gatehouse.providers.setupSessions
      .create({ providerId: 'slack', providerAuthMethodId: 'oauth' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(fake.requestsTo('/v1/providers/setup-sessions', 'POST')).toHaveLength(1);
  });

  it('retries a POST that carries an Idempotency-Key', async () => {
    let calls = 0;
    fake.intercept = (_request, response) => {
      calls += 1;
      if (calls > 1) return false;
      sendError(response, 503, 'service_unavailable', 'Try later.');
      return true;
    };
    const setupSession = await gatehouse.providers.setupSessions.create(
      { providerId: 'slack', providerAuthMethodId: 'oauth' },
      { headers: { 'Idempotency-Key': 'create-once' } },
    );
    expect(setupSession.status).toBe('pending');
    const posts = fake.requestsTo('/v1/providers/setup-sessions', 'POST');
    expect(posts).toHaveLength(2);
    expect(posts.map((request) => request.headers['idempotency-key'])).toEqual(['create-once', 'create-once']);
  });

  it('does not retry a 409 or a 404', async () => {
    fake.intercept = (_request, response) => {
      sendError(response, 409, 'conflict', 'Busy.');
      return true;
    };
    await expect(gatehouse.providers.delete('acme')).rejects.toBeInstanceOf(ConflictError);
    expect(fake.requests).toHaveLength(1);
    fake.intercept = undefined;
    await expect(gatehouse.providers.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(fake.requests).toHaveLength(2);
  });

  it('gives up after maxRetries and throws the last error', async () => {
    fake.intercept = (_request, response) => {
      sendError(response, 500, 'internal_error', 'Broken.', { requestId: 'req_last' });
      return true;
    };
    const error = (await gatehouse.providers.list({}, { maxRetries: 1 }).catch((caught: unknown) => caught)) as APIError;
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error.requestId).toBe('req_last');
    expect(fake.requests).toHaveLength(2);
  });

  it('honours Retry-After in seconds on a 429', async () => {
    let calls = 0;
    fake.intercept = (_request, response) => {
      calls += 1;
      if (calls > 1) return false;
      sendError(response, 429, 'rate_limited', 'Slow down.', { headers: { 'retry-after': '1' } });
      return true;
    };
    await gatehouse.providers.get('slack');
    const [first, second] = fake.requests;
    expect(fake.requests).toHaveLength(2);
    // The default backoff would retry after at most 300 ms; Retry-After asks for a full second.
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('honours Retry-After as an HTTP date', async () => {
    let calls = 0;
    let retryAt = 0;
    fake.intercept = (_request, response) => {
      calls += 1;
      if (calls > 1) return false;
      retryAt = (Math.floor(Date.now() / 1000) + 2) * 1000;
      sendError(response, 503, 'service_unavailable', 'Later.', { headers: { 'retry-after': new Date(retryAt).toUTCString() } });
      return true;
    };
    await gatehouse.providers.get('slack');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]?.receivedAt ?? 0).toBeGreaterThanOrEqual(retryAt - 50);
  });

  it('does not wait for a Retry-After beyond a minute: it throws instead', async () => {
    fake.intercept = (_request, response) => {
      sendError(response, 429, 'rate_limited', 'Come back tomorrow.', { headers: { 'retry-after': '86400' } });
      return true;
    };
    await expect(gatehouse.providers.get('slack')).rejects.toBeInstanceOf(RateLimitError);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('connection failures', () => {
  it('times out a hanging request with APIConnectionTimeoutError', async () => {
    fake.intercept = () => true; // never answers
    const error = await gatehouse.providers.get('slack', { timeout: 100, maxRetries: 0 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expect(error).toBeInstanceOf(APIConnectionError);
  });

  it('retries a timed-out GET', async () => {
    let calls = 0;
    fake.intercept = () => {
      calls += 1;
      return calls === 1; // the first request hangs
    };
    const provider = await gatehouse.providers.get('slack', { timeout: 200 });
    expect(provider.id).toBe('slack');
    expect(fake.requests).toHaveLength(2);
  });

  it('rejects with APIUserAbortError when the caller aborts, without retrying', async () => {
    fake.intercept = () => true;
    const controller = new AbortController();
    const pending = gatehouse.providers.get('slack', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects with APIConnectionError when nothing listens', async () => {
    const closed = await startFakeGatehouse();
    await closed.close();
    const client = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: closed.baseUrl, maxRetries: 1 });
    const error = await client.providers.get('slack').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as APIConnectionError).status).toBeUndefined();
  });
});

describe('the API key never leaks into errors', () => {
  it('redacts a key echoed by the server in an error message and details', async () => {
    fake.intercept = (request, response) => {
      const echoed = String(request.headers.authorization);
      sendError(response, 400, 'invalid_request', `Bad header ${echoed}`, { details: [{ path: 'authorization', message: echoed }] });
      return true;
    };
    const error = await gatehouse.providers.get('slack').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('[redacted]');
    for (const text of renderings(error)) expect(text).not.toContain(TEST_API_KEY);
  });

  it('redacts a key echoed in a non-JSON error body', async () => {
    fake.intercept = (request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`crash while handling ${String(request.headers.authorization)}`);
      return true;
    };
    const error = await gatehouse.providers.get('slack', { maxRetries: 0 }).catch((caught: unknown) => caught);
    for (const text of renderings(error)) expect(text).not.toContain(TEST_API_KEY);
  });

  it('keeps it out of authentication, timeout, connection and abort errors', async () => {
    const errors: unknown[] = [];
    errors.push(await new Gatehouse({ apiKey: 'gh_wrong_key', baseUrl: fake.baseUrl }).providers.get('x').catch((caught: unknown) => caught));
    fake.intercept = () => true;
    errors.push(await gatehouse.providers.get('slack', { timeout: 50, maxRetries: 0 }).catch((caught: unknown) => caught));
    const controller = new AbortController();
    controller.abort();
    errors.push(await gatehouse.providers.get('slack', { signal: controller.signal }).catch((caught: unknown) => caught));
    const dead = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: 'http://127.0.0.1:1', maxRetries: 0 });
    errors.push(await dead.providers.get('slack').catch((caught: unknown) => caught));
    expect(errors.map((error) => (error as Error).name)).toEqual([
      'AuthenticationError',
      'APIConnectionTimeoutError',
      'APIUserAbortError',
      'APIConnectionError',
    ]);
    for (const error of errors) {
      for (const text of renderings(error)) {
        expect(text).not.toContain(TEST_API_KEY);
        expect(text).not.toContain('gh_wrong_key');
      }
    }
  });
});

describe('helpers', () => {
  it('encodes query parameters for the wire', () => {
    expect(encodeQuery({ providerId: 'slack', limit: 10, cursor: undefined, ids: ['pas_a', 'pas_b'], metadata: { userId: 'u 1' } })).toBe(
      'provider_id=slack&limit=10&ids=pas_a%2Cpas_b&metadata%5BuserId%5D=u+1',
    );
  });

  it('parses Retry-After forms', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150' }))).toBe(150);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 1970 00:00:00 GMT' }))).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});
