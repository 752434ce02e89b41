/**
 * How a setup session ends, seen through the SDK against the real server (embedded store): the
 * rules of `waitForSetupSession` for one and for several sessions, and what deleting a deployment
 * does to the sessions and auth configs that depend on it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingFetch, WAIT_PATH } from '../../../test/support/counting-fetch.js';
import { pasteApiKey } from './paste-api-key.js';
import { FakeClock, startInProcessGatehouse, type InProcessGatehouse } from '../../../test/support/gatehouse.js';
import { startToolServer, type ToolServer } from '../../../test/support/mcp-tool-server.js';
import {
  ConflictError,
  Gatehouse,
  NotFoundError,
  SetupSessionExpiredError,
  SetupSessionFailedError,
  type ProviderSetupSession,
} from '../src/index.js';

/** An id in the server's format that no session has. */
const UNKNOWN_ID = 'pas_000000000000000000000000000';

let server: InProcessGatehouse;
let gatehouse: Gatehouse;
let toolServer: ToolServer;
const clock = new FakeClock();

beforeAll(async () => {
  server = await startInProcessGatehouse({ clock });
  gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
  toolServer = await startToolServer({ name: 'notes', auth: { type: 'none' } });
  await gatehouse.providers.create({
    id: 'keyed-notes',
    name: 'Keyed Notes',
    authMethods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }],
    mcpServer: { url: toolServer.url },
  });
});
afterAll(async () => {
  await server?.close();
  await toolServer?.close();
});

async function newDeployment(): Promise<string> {
  return (await gatehouse.providers.deployments.create({ providerId: 'keyed-notes' })).id;
}

function newSession(deploymentId: string, expiresInSeconds?: number): Promise<ProviderSetupSession> {
  return gatehouse.providers.setupSessions.create({
    providerId: 'keyed-notes',
    providerAuthMethodId: 'api_key',
    providerDeploymentId: deploymentId,
    ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
  });
}

/** What the end user does on the hosted page: load the form and paste a key. */
function pasteKey(setupSession: ProviderSetupSession, apiKey: string): Promise<void> {
  return pasteApiKey(setupSession.url, apiKey);
}

/** A client whose wait requests are counted. */
function countedClient() {
  const counted = countingFetch();
  return { client: new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0, fetch: counted.fetch }), waits: () => counted.count(WAIT_PATH) };
}

/** Resolves once the server holds a wait (so what the test does next happens during the wait). */
async function untilWaiting(waits: () => number, count = 1): Promise<void> {
  while (waits() < count) await new Promise((resolve) => setTimeout(resolve, 10));
  // The request has been sent; give the server a moment to reach its hold.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('waitForSetupSession with one session', () => {
  it('rejects at once with SetupSessionExpiredError when it has expired', async () => {
    const setupSession = await newSession(await newDeployment(), 60);
    clock.advance(61_000);
    const error = await gatehouse.waitForSetupSession([setupSession]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SetupSessionExpiredError);
    expect((error as SetupSessionExpiredError).setupSession.id).toBe(setupSession.id);
  });

  it('rejects at once with NotFoundError for an id the server does not know', async () => {
    await expect(gatehouse.waitForSetupSession([UNKNOWN_ID])).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('waitForSetupSession with several sessions', () => {
  it('drops an unknown id (404) like any ended session and resolves with the one that completes', async () => {
    const setupSession = await newSession(await newDeployment());
    const { client, waits } = countedClient();
    const waiting = client.waitForSetupSession([UNKNOWN_ID, setupSession]);
    await untilWaiting(waits, 2);
    await pasteKey(setupSession, 'notes-key-1');
    const completed = await waiting;
    expect(completed.id).toBe(setupSession.id);
    expect(completed.authConfig?.status).toBe('active');
  });

  it('rejects with NotFoundError when every id is unknown', async () => {
    await expect(gatehouse.waitForSetupSession([UNKNOWN_ID, 'pas_000000000000000000000000001'])).rejects.toBeInstanceOf(NotFoundError);
  });

  it('goes on past an expired one and rejects with the error of the last to end once none can complete', async () => {
    const deploymentId = await newDeployment();
    const soonExpired = await newSession(deploymentId, 60);
    const failsLater = await newSession(deploymentId);
    clock.advance(61_000);
    const { client, waits } = countedClient();
    const waiting = client.waitForSetupSession([soonExpired, failsLater]).catch((caught: unknown) => caught);
    await untilWaiting(waits, 2);
    expect(await gatehouse.providers.setupSessions.get(soonExpired.id)).toMatchObject({ status: 'expired' });
    await gatehouse.providers.deployments.delete(deploymentId);
    const error = await waiting;
    expect(error).toBeInstanceOf(SetupSessionFailedError);
    expect((error as SetupSessionFailedError).setupSession.id).toBe(failsLater.id);
  });
});

describe('deleting a deployment', () => {
  it('fails its pending setup sessions as deployment_deleted, waking the wait at once', async () => {
    const deploymentId = await newDeployment();
    const [first, second] = [await newSession(deploymentId), await newSession(deploymentId)];
    const { client, waits } = countedClient();
    const waiting = client.waitForSetupSession([first]).catch((caught: unknown) => caught);
    await untilWaiting(waits);

    await gatehouse.providers.deployments.delete(deploymentId);
    const error = await waiting;
    expect(error).toBeInstanceOf(SetupSessionFailedError);
    expect((error as SetupSessionFailedError).code).toBe('deployment_deleted');
    // Woken by the deletion, not found on a later poll.
    expect(waits()).toBe(1);

    const other = await gatehouse.providers.setupSessions.get(second.id);
    expect(other).toMatchObject({ status: 'failed', error: { code: 'deployment_deleted' } });
    await expect(gatehouse.providers.deployments.get(deploymentId)).rejects.toBeInstanceOf(NotFoundError);
    // The user's link says what happened instead of failing at the provider.
    const page = await fetch(first.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('deployment_deleted');
  });

  it('is refused with 409 while an auth config depends on it, naming how many and what deleting them does', async () => {
    const deploymentId = await newDeployment();
    const setupSession = await newSession(deploymentId);
    const waiting = gatehouse.waitForSetupSession([setupSession]);
    await pasteKey(setupSession, 'notes-key-2');
    const authConfigId = (await waiting).authConfig!.id;

    const refused = await gatehouse.providers.deployments.delete(deploymentId).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).message).toMatch(/1 auth config depends on it/);
    expect((refused as ConflictError).message).toMatch(/revokes its tokens at the provider/);
    expect(await gatehouse.providers.deployments.get(deploymentId)).toMatchObject({ id: deploymentId });
    expect(await gatehouse.providers.authConfigs.get(authConfigId)).toMatchObject({ status: 'active' });

    await gatehouse.providers.authConfigs.delete(authConfigId);
    await gatehouse.providers.deployments.delete(deploymentId);
    await expect(gatehouse.providers.deployments.get(deploymentId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('is refused with 409 while an active session uses it, and allowed once the session is closed', async () => {
    await gatehouse.providers.create({ id: 'open-notes', name: 'Open Notes', authMethods: [], mcpServer: { url: toolServer.url } });
    const deploymentId = (await gatehouse.providers.deployments.create({ providerId: 'open-notes' })).id;
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: deploymentId }] });

    const refused = await gatehouse.providers.deployments.delete(deploymentId).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).message).toMatch(/1 active session uses it/);

    await gatehouse.sessions.close(session.id);
    await gatehouse.providers.deployments.delete(deploymentId);
    await expect(gatehouse.providers.deployments.get(deploymentId)).rejects.toBeInstanceOf(NotFoundError);
  });
});
