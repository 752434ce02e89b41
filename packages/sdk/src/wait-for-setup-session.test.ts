import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGatehouse, sendError, startFakeGatehouse, TEST_API_KEY, until } from '../test/fake-gatehouse.js';
import {
  APIUserAbortError,
  AuthenticationError,
  Gatehouse,
  GatehouseError,
  NotFoundError,
  SetupSessionError,
  SetupSessionExpiredError,
  SetupSessionFailedError,
  WaitTimeoutError,
  type ProviderSetupSession,
} from './index.js';

const WAIT_PATH = '/v1/providers/setup-sessions/wait';

let fake: FakeGatehouse;
let gatehouse: Gatehouse;

beforeEach(async () => {
  fake = await startFakeGatehouse();
  gatehouse = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl });
});
afterEach(() => fake.close());

const waits = (): number => fake.requestsTo(WAIT_PATH).length;
const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('waitForSetupSession', () => {
  it('resolves with the completed session, carrying its auth config, when the long-poll is woken', async () => {
    const setupSession = await gatehouse.providers.setupSessions.create({
      providerId: 'slack',
      providerAuthMethodId: 'oauth',
      metadata: { user_id: 'u_1' },
    });
    const waiting = gatehouse.waitForSetupSession([setupSession]);
    await until(() => waits() === 1);
    fake.completeSetupSession(setupSession.id);

    const completed = await waiting;
    expect(completed.id).toBe(setupSession.id);
    expect(completed.status).toBe('completed');
    expect(completed.authConfig?.id).toMatch(/^pac_/);
    expect(completed.authConfig?.metadata).toEqual({ user_id: 'u_1' });
    expect(waits()).toBe(1);
    const [request] = fake.requestsTo(WAIT_PATH);
    expect(request?.query.get('ids')).toBe(setupSession.id);
    expect(request?.query.get('timeout_ms')).toBe('25000');
  });

  it('accepts ids as well as session objects', async () => {
    const setupSession = fake.addSetupSession();
    fake.completeSetupSession(setupSession.id as string);
    const completed = await gatehouse.waitForSetupSession([setupSession.id as string]);
    expect(completed.authConfig).not.toBeNull();
  });

  it('polls again after a timeout answer with everything still pending', async () => {
    const setupSession = fake.addSetupSession();
    const waiting = gatehouse.waitForSetupSession([setupSession.id as string], { pollTimeoutMs: 50 });
    await until(() => waits() >= 3);
    fake.completeSetupSession(setupSession.id as string);
    const completed = await waiting;
    expect(completed.status).toBe('completed');
    for (const request of fake.requestsTo(WAIT_PATH)) expect(request.query.get('timeout_ms')).toBe('50');
  });

  it('rejects at once with SetupSessionFailedError when the session fails, and polls no more', async () => {
    const setupSession = fake.addSetupSession();
    const waiting = gatehouse.waitForSetupSession([setupSession.id as string], { pollTimeoutMs: 50 });
    await until(() => waits() === 1);
    fake.failSetupSession(setupSession.id as string, 'access_denied', 'The user denied access.');

    const error = await waiting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SetupSessionFailedError);
    expect(error).toBeInstanceOf(SetupSessionError);
    const failed = error as SetupSessionFailedError;
    expect(failed.code).toBe('access_denied');
    expect(failed.reason).toBe('The user denied access.');
    expect(failed.message).toContain('access_denied');
    expect(failed.setupSession.status).toBe('failed');
    expect(failed.setupSession.error).toEqual({ code: 'access_denied', message: 'The user denied access.' });
    const count = waits();
    await settle();
    expect(waits()).toBe(count);
  });

  it('rejects at once with SetupSessionExpiredError when the session expires, and polls no more', async () => {
    const setupSession = fake.addSetupSession();
    const waiting = gatehouse.waitForSetupSession([setupSession.id as string], { pollTimeoutMs: 50 });
    await until(() => waits() === 1);
    fake.expireSetupSession(setupSession.id as string);

    const error = await waiting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SetupSessionExpiredError);
    expect((error as SetupSessionExpiredError).setupSession.id).toBe(setupSession.id);
    const count = waits();
    await settle();
    expect(waits()).toBe(count);
  });

  it('rejects with NotFoundError for an unknown or deleted session', async () => {
    await expect(gatehouse.waitForSetupSession(['pas_missing'])).rejects.toBeInstanceOf(NotFoundError);
    const setupSession = fake.addSetupSession();
    const waiting = gatehouse.waitForSetupSession([setupSession.id as string], { pollTimeoutMs: 30 });
    await until(() => waits() >= 2);
    fake.deleteSetupSession(setupSession.id as string);
    await expect(waiting).rejects.toBeInstanceOf(NotFoundError);
  });

  it('retries a dropped connection and a 503 without counting them against maxRetries', async () => {
    const client = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl, maxRetries: 0 });
    const setupSession = fake.addSetupSession();
    let calls = 0;
    fake.intercept = (request, response) => {
      if (request.path !== WAIT_PATH) return false;
      calls += 1;
      if (calls === 1) {
        response.socket?.destroy();
        return true;
      }
      if (calls === 2) {
        sendError(response, 503, 'service_unavailable', 'Restarting.');
        return true;
      }
      return false;
    };
    const waiting = client.waitForSetupSession([setupSession.id as string]);
    await until(() => calls === 3);
    fake.completeSetupSession(setupSession.id as string);
    expect((await waiting).status).toBe('completed');
    expect(calls).toBe(3);
  });

  it('does not retry an authentication error', async () => {
    const client = new Gatehouse({ apiKey: 'gh_wrong', baseUrl: fake.baseUrl });
    await expect(client.waitForSetupSession(['pas_x'])).rejects.toBeInstanceOf(AuthenticationError);
    expect(waits()).toBe(1);
  });

  it('rejects with WaitTimeoutError after timeoutMs, even in the middle of a long-poll', async () => {
    const setupSession = fake.addSetupSession();
    const startedAt = Date.now();
    const error = await gatehouse.waitForSetupSession([setupSession.id as string], { timeoutMs: 200 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).setupSessionIds).toEqual([setupSession.id]);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    // The server is never asked to hold a poll longer than the time left.
    expect(Number(fake.requestsTo(WAIT_PATH)[0]?.query.get('timeout_ms'))).toBeLessThanOrEqual(200);
  });

  it('rejects with APIUserAbortError when the signal aborts', async () => {
    const setupSession = fake.addSetupSession();
    const controller = new AbortController();
    const waiting = gatehouse.waitForSetupSession([setupSession.id as string], { signal: controller.signal });
    await until(() => waits() === 1);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(APIUserAbortError);
  });

  it('waits across a 5xx storm only until timeoutMs', async () => {
    fake.intercept = (request, response) => {
      if (request.path !== WAIT_PATH) return false;
      sendError(response, 500, 'internal_error', 'Down.');
      return true;
    };
    const setupSession = fake.addSetupSession();
    const error = await gatehouse.waitForSetupSession([setupSession.id as string], { timeoutMs: 1_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(waits()).toBeGreaterThan(1);
  });

  describe('with several sessions', () => {
    it('resolves with the first one to complete', async () => {
      const slack = fake.addSetupSession();
      const github = fake.addSetupSession({ provider_id: 'github' });
      const waiting = gatehouse.waitForSetupSession([slack.id as string, github.id as string]);
      await until(() => waits() === 1);
      expect(fake.requestsTo(WAIT_PATH)[0]?.query.get('ids')).toBe(`${slack.id},${github.id}`);
      fake.completeSetupSession(github.id as string);
      const completed = await waiting;
      expect(completed.id).toBe(github.id);
      expect(completed.providerId).toBe('github');
    });

    it('drops a failed session and keeps waiting for the others', async () => {
      const failing = fake.addSetupSession();
      const succeeding = fake.addSetupSession();
      const waiting = gatehouse.waitForSetupSession([failing.id as string, succeeding.id as string]);
      await until(() => waits() === 1);
      fake.failSetupSession(failing.id as string);
      await until(() => waits() === 2);
      expect(fake.requestsTo(WAIT_PATH)[1]?.query.get('ids')).toBe(succeeding.id);
      fake.completeSetupSession(succeeding.id as string);
      expect((await waiting).id).toBe(succeeding.id);
    });

    it('rejects once every session has failed or expired, with the last one to end', async () => {
      const first = fake.addSetupSession();
      const second = fake.addSetupSession();
      const waiting = gatehouse.waitForSetupSession([first.id as string, second.id as string]);
      await until(() => waits() === 1);
      fake.expireSetupSession(first.id as string);
      await until(() => waits() === 2);
      fake.failSetupSession(second.id as string, 'invalid_grant', 'The code was rejected.');
      const error = await waiting.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SetupSessionFailedError);
      expect((error as SetupSessionFailedError).setupSession.id).toBe(second.id);
    });

    it('prefers a completed session over a failed one in the same answer', async () => {
      const failed = fake.addSetupSession({ status: 'failed', error: { code: 'x', message: 'y' } });
      const completed = fake.addSetupSession();
      fake.completeSetupSession(completed.id as string);
      const result: ProviderSetupSession = await gatehouse.waitForSetupSession([failed.id as string, completed.id as string]);
      expect(result.id).toBe(completed.id);
    });
  });

  it('refuses an empty list', async () => {
    await expect(gatehouse.waitForSetupSession([])).rejects.toBeInstanceOf(GatehouseError);
  });

  it('keeps the API key out of every error it rejects with', async () => {
    const failing = fake.addSetupSession();
    fake.failSetupSession(failing.id as string);
    const errors = [
      await gatehouse.waitForSetupSession([failing.id as string]).catch((caught: unknown) => caught),
      await gatehouse.waitForSetupSession(['pas_missing']).catch((caught: unknown) => caught),
      await gatehouse.waitForSetupSession([fake.addSetupSession().id as string], { timeoutMs: 50 }).catch((caught: unknown) => caught),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(GatehouseError);
      for (const text of [(error as Error).message, JSON.stringify(error), (error as Error).stack ?? '']) {
        expect(text).not.toContain(TEST_API_KEY);
      }
    }
  });
});
