/**
 * Encryption key rotation (REFERENCE §3 "encryption key rotation"): secrets sealed under key A stay
 * readable while servers run with the keyring `B,A`, `gatehouse keys rotate-encryption` moves every
 * one of them to B while tool calls that decrypt the user's credentials keep succeeding, and a server
 * with only B then serves everything. A ciphertext copied onto another row never decrypts (AAD), and
 * the rotation names that row instead of skipping it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse, type ToolCall } from '@gatehouse/sdk';
import { createLogger } from '../../packages/server/src/logger.js';
import { credentialsAad } from '../../packages/server/src/services/auth-configs.js';
import { webhookSecretAad } from '../../packages/server/src/services/webhooks.js';
import { openEmbeddedStore, openPostgresStore, type Database, type Store } from '../../packages/server/src/store/database.js';
import { authConfigs, webhookEndpoints } from '../../packages/server/src/store/schema.js';
import { Keyring } from '../../packages/server/src/vault/keyring.js';
import {
  encryptionKeyUsage,
  rotateEncryption,
  type RotationKeyring,
  type RotationProgress,
} from '../../packages/server/src/vault/rotate-encryption.js';
import {
  createTestDatabase,
  GATEHOUSE_BIN,
  spawnGatehouse,
  startInProcessGatehouse,
  tempDir,
  TEST_DATABASE_URL,
  testEncryptionKeys,
  type GatehouseProcess,
  type InProcessGatehouse,
} from '../support/gatehouse.js';
import { startToolServer, type ToolServer } from '../support/mcp-tool-server.js';
import { createPublicToolProvider } from '../support/session-fixtures.js';
import { startAttemptOverHttp } from '../support/setup-flow.js';

/** Creating ~100 secrets over HTTP and starting servers takes seconds; more on a busy CI machine. */
const SETUP_TIMEOUT_MS = 120_000;
const keyIdOf = (entry: string) => entry.split(':')[0]!;
const textOf = (toolCall: ToolCall) => ((toolCall.content as Array<{ text?: string }>) ?? []).map((block) => block.text ?? '').join('');
/** The tool server answers `whoami` with `api-key:<last 4 characters>`; these end in a distinct number. */
const userKey = (index: number) => `uk_${randomBytes(8).toString('hex')}_${String(index).padStart(4, '0')}`;
const subjectOf = (apiKey: string) => `api-key:${apiKey.slice(-4)}`;

interface User {
  apiKey: string;
  authConfigId: string;
  sessionId: string;
}

/** A provider whose tool server accepts exactly the keys in `validKeys` (users paste theirs). */
async function createUserKeyProvider(gatehouse: Gatehouse, validKeys: string[], operatorKey: string) {
  const toolServer = await startToolServer({ name: 'userkeys', auth: { type: 'api-key', header: 'x-api-key', validKeys } });
  await gatehouse.providers.create({
    id: 'userkeys',
    name: 'User Keys',
    authMethods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }],
    mcpServer: { url: toolServer.url },
  });
  // The operator's own key, sealed on the deployment (used by sessions that name no auth config).
  const deployment = await gatehouse.providers.deployments.create({ providerId: 'userkeys', credentials: { apiKey: operatorKey } });
  return { toolServer, deploymentId: deployment.id };
}

/** The end user's side of the API-key setup flow over plain HTTP, as in api-key-setup.test.ts. */
async function pasteApiKey(gatehouse: Gatehouse, apiKey: string): Promise<string> {
  const setupSession = await gatehouse.providers.setupSessions.create({ providerId: 'userkeys', providerAuthMethodId: 'api_key' });
  const form = await fetch(setupSession.url);
  const cookie = form.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(await form.text())![1]!;
  const posted = await fetch(`${setupSession.url}/api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ api_key: apiKey, csrf_token: csrfToken }),
    redirect: 'manual',
  });
  expect(posted.status).toBeLessThan(400);
  const completed = await gatehouse.providers.setupSessions.get(setupSession.id);
  expect(completed.status).toBe('completed');
  return completed.authConfig!.id;
}

/** `count` users who each pasted their own key, each with a session over `userkeys` and `public-tools`. */
async function createUsers(gatehouse: Gatehouse, keys: string[], deployments: { userkeys: string; publicTools: string }): Promise<User[]> {
  const users: User[] = [];
  for (let start = 0; start < keys.length; start += 8) {
    users.push(
      ...(await Promise.all(
        keys.slice(start, start + 8).map(async (apiKey) => {
          const authConfigId = await pasteApiKey(gatehouse, apiKey);
          const session = await gatehouse.sessions.create({
            providers: [
              { providerDeploymentId: deployments.userkeys, providerAuthConfigId: authConfigId },
              { providerDeploymentId: deployments.publicTools },
            ],
          });
          return { apiKey, authConfigId, sessionId: session.id };
        }),
      )),
    );
  }
  return users;
}

/** Deployments with OAuth client secrets, and pending setup sessions holding a sealed PKCE verifier. */
async function createOAuthSecrets(gatehouse: Gatehouse, deploymentCount: number, attemptCount: number): Promise<void> {
  await gatehouse.providers.create({
    id: 'legacy-oauth',
    name: 'Legacy OAuth',
    authMethods: [{ id: 'oauth', type: 'oauth2', authorizationUrl: 'http://127.0.0.1:9/authorize', tokenUrl: 'http://127.0.0.1:9/token', scopes: ['read'] }],
  });
  const deploymentIds: string[] = [];
  for (let index = 0; index < deploymentCount; index++) {
    const deployment = await gatehouse.providers.deployments.create({
      providerId: 'legacy-oauth',
      name: `legacy ${index}`,
      oauthClient: { clientId: `client-${index}`, clientSecret: `client-secret-${randomBytes(12).toString('hex')}` },
    });
    deploymentIds.push(deployment.id);
  }
  await Promise.all(
    Array.from({ length: attemptCount }, async (_, index) => {
      const setupSession = await gatehouse.providers.setupSessions.create({
        providerId: 'legacy-oauth',
        providerAuthMethodId: 'oauth',
        providerDeploymentId: deploymentIds[index % deploymentIds.length]!,
      });
      await startAttemptOverHttp(setupSession.url);
    }),
  );
}

/** Webhook endpoints with a signing secret sealed the way the webhooks service seals it. */
async function insertWebhookEndpoints(db: Database, keyring: RotationKeyring, projectId: string, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const id = `whe_${randomBytes(16).toString('hex')}`;
    const sealed = keyring.seal(`whsec_${randomBytes(24).toString('base64')}`, webhookSecretAad(projectId, id));
    await db.insert(webhookEndpoints).values({ id, projectId, url: `https://hooks.example.com/${index}`, secretCiphertext: sealed.ciphertext, secretKeyId: sealed.keyId });
  }
}

/** Copies one auth config's ciphertext and key id onto another row (a copy-paste attack in the database). */
async function copyCredentials(db: Database, fromId: string, toId: string): Promise<string> {
  const [donor] = await db.select().from(authConfigs).where(eq(authConfigs.id, fromId));
  await db.update(authConfigs).set({ credentialsCiphertext: donor!.credentialsCiphertext, credentialsKeyId: donor!.credentialsKeyId }).where(eq(authConfigs.id, toId));
  return donor!.projectId;
}

/** Tool calls that need the user's key, back to back from several workers, until stopped. */
function startToolCallLoad(targets: Gatehouse[], users: User[], workers: number) {
  let stopped = false;
  const calls: Array<{ startedAt: number; endedAt: number; ok: boolean; detail: string }> = [];
  const worker = async (offset: number) => {
    for (let index = offset; !stopped; index += workers) {
      const user = users[index % users.length]!;
      const startedAt = performance.now();
      let ok = false;
      let detail = '';
      try {
        const result = await targets[index % targets.length]!.sessions.toolCalls.create(user.sessionId, { name: 'userkeys__whoami', arguments: {} });
        ok = result.status === 'succeeded' && textOf(result) === subjectOf(user.apiKey);
        detail = ok ? '' : `${user.authConfigId}: ${result.status} ${result.error?.code ?? ''} ${result.error?.message ?? textOf(result)}`;
      } catch (error) {
        detail = `${user.authConfigId}: ${String(error)}`;
      }
      calls.push({ startedAt, endedAt: performance.now(), ok, detail });
    }
  };
  const running = Promise.all(Array.from({ length: workers }, (_, offset) => worker(offset)));
  return {
    calls,
    async stop() {
      stopped = true;
      await running;
      return calls;
    },
  };
}

/** Runs the CLI; notes when the first progress line with work in it appeared. Killed after `timeoutMs`. */
async function runCli(args: string[], env: Record<string, string>, options: { onOutput?: (stdout: string) => void } = {}) {
  const child = spawn(process.execPath, [GATEHOUSE_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', GATEHOUSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let firstProgressAt: number | undefined;
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
    if (firstProgressAt === undefined && /^\w+: \d+\/[1-9]\d*$/m.test(stdout)) firstProgressAt = performance.now();
    options.onOutput?.(stdout);
  });
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr, firstProgressAt, exitedAt: performance.now() };
}

/** The progress lines of one table, as `[done, total]`. */
function progressOf(stdout: string, table: string): Array<[number, number]> {
  return [...stdout.matchAll(new RegExp(`^${table}: (\\d+)/(\\d+)$`, 'gm'))].map((match) => [Number(match[1]), Number(match[2])]);
}

describe.skipIf(!TEST_DATABASE_URL)('encryption key rotation on PostgreSQL, while two servers serve tool calls', () => {
  const keyA = testEncryptionKeys();
  const keyB = testEncryptionKeys();
  const operatorKey = `operator_${randomBytes(8).toString('hex')}`;
  const userKeys = Array.from({ length: 48 }, (_, index) => userKey(index + 1));
  const victimKey = userKey(9_999);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let toolServer: ToolServer | undefined;
  let publicToolServer: ToolServer | undefined;
  let apiKey: string;
  let users: User[];
  let victim: User;
  let userkeysDeploymentId: string;
  let processes: GatehouseProcess[] = [];
  let clients: Gatehouse[];
  let baseEnv: Record<string, string>;
  let store: Store;
  let sealedUnderA: Record<string, Record<string, number>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    baseEnv = { DATABASE_URL: database.url, GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true' };

    // Everything is created by a server that knows only key A.
    const before: InProcessGatehouse = await startInProcessGatehouse({ env: { ...baseEnv, GATEHOUSE_ENCRYPTION_KEYS: keyA, GATEHOUSE_LOG_LEVEL: 'warn' } });
    try {
      apiKey = before.apiKey;
      const gatehouse = new Gatehouse({ apiKey, baseUrl: before.url, maxRetries: 0 });
      const userkeys = await createUserKeyProvider(gatehouse, [...userKeys, victimKey, operatorKey], operatorKey);
      toolServer = userkeys.toolServer;
      userkeysDeploymentId = userkeys.deploymentId;
      const publicTools = await createPublicToolProvider(gatehouse, 'public-tools');
      publicToolServer = publicTools.toolServer;
      const deployments = { userkeys: userkeys.deploymentId, publicTools: publicTools.deploymentId };
      users = await createUsers(gatehouse, userKeys, deployments);
      victim = (await createUsers(gatehouse, [victimKey], deployments))[0]!;
      await createOAuthSecrets(gatehouse, 12, 20);
    } finally {
      await before.close();
    }

    store = await openPostgresStore(database.url, createLogger('silent'));
    // The victim's row gets the first user's ciphertext (and key id).
    const projectId = await copyCredentials(store.db, users[0]!.authConfigId, victim.authConfigId);
    await insertWebhookEndpoints(store.db, Keyring.parse(keyA), projectId, 10);
    sealedUnderA = await encryptionKeyUsage(store.db);

    // Two servers that seal with B and still open A (step 1 of a rotation).
    const env = { ...baseEnv, GATEHOUSE_ENCRYPTION_KEYS: `${keyB},${keyA}` };
    processes = await Promise.all([spawnGatehouse({ env }), spawnGatehouse({ env })]);
    clients = processes.map((process) => new Gatehouse({ apiKey, baseUrl: process.url, maxRetries: 0 }));
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await store?.close();
    await Promise.all([toolServer?.close(), publicToolServer?.close()]);
    await database?.drop();
  });

  it('starts with every sealed value under key A', () => {
    expect(sealedUnderA).toEqual({
      provider_deployments: { [keyIdOf(keyA)]: 1 + 12 },
      auth_configs: { [keyIdOf(keyA)]: userKeys.length + 1 },
      setup_sessions: { [keyIdOf(keyA)]: 20 },
      webhook_endpoints: { [keyIdOf(keyA)]: 10 },
    });
  });

  it('refuses a ciphertext copied onto another auth config (AAD): the tool call fails with a clear error', async () => {
    const result = await clients[0]!.sessions.toolCalls.create(victim.sessionId, { name: 'userkeys__whoami', arguments: {} });
    expect(result).toMatchObject({ status: 'failed', isError: true });
    expect(result.error?.message).toMatch(/does not authenticate|bound to another object/);
    expect(JSON.stringify(result)).not.toContain(users[0]!.apiKey);
    expect(toolServer!.calls()).toEqual([]);
  });

  it('re-encrypts every value under B while tool calls keep succeeding on both servers, and names the row it cannot open', async () => {
    const load = startToolCallLoad(clients, users, 8);
    // A concurrent writer too: deployment credentials re-sealed by the servers while the rotation runs.
    let writerStopped = false;
    const writer = (async () => {
      let writes = 0;
      while (!writerStopped) {
        await clients[writes % 2]!.providers.deployments.update(userkeysDeploymentId, { credentials: { apiKey: operatorKey } });
        writes++;
      }
      return writes;
    })();
    // A refresh in progress on one user: it holds that auth config's lock (services/auth-config-lock.ts)
    // until the rotation has been through every other row; the rotation must wait for it, not write under it.
    const refreshing = users.at(-1)!;
    const refresh = new pg.Client({ connectionString: database.url });
    await refresh.connect();
    await refresh.query('BEGIN');
    await refresh.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`auth_config:${refreshing.authConfigId}`]);
    const heldCiphertext = (await store.db.select().from(authConfigs).where(eq(authConfigs.id, refreshing.authConfigId)))[0]!.credentialsCiphertext;
    let heldRowUnchanged: boolean | undefined;
    let released: Promise<unknown> | undefined;
    const allButHeld = new RegExp(`^auth_configs: ${userKeys.length}/${userKeys.length + 1}$`, 'm');
    const rotation = await runCli(['keys', 'rotate-encryption', '--batch-size', '3'], { ...baseEnv, GATEHOUSE_ENCRYPTION_KEYS: `${keyB},${keyA}` }, {
      onOutput: (stdout) => {
        if (released || !allButHeld.test(stdout)) return;
        released = (async () => {
          const [row] = await store.db.select().from(authConfigs).where(eq(authConfigs.id, refreshing.authConfigId));
          heldRowUnchanged = row!.credentialsCiphertext === heldCiphertext;
          await refresh.query('COMMIT');
        })();
      },
    });
    await released;
    await refresh.end();
    writerStopped = true;
    const calls = await load.stop();
    const writes = await writer;

    // Every tool call succeeded as its own user, including those in flight during the rotation.
    expect(calls.filter((call) => !call.ok).map((call) => call.detail)).toEqual([]);
    expect(rotation.firstProgressAt).toBeDefined();
    const during = calls.filter((call) => call.endedAt > rotation.firstProgressAt! && call.startedAt < rotation.exitedAt);
    expect(during.length).toBeGreaterThan(0);
    expect(writes).toBeGreaterThan(0);

    // Exit 1: one value could not be opened; it is named by id and table, never by contents.
    expect(rotation.stderr).toBe('');
    expect(rotation.code).toBe(1);
    expect(rotation.stdout).toContain(`auth_configs ${victim.authConfigId} (credentials, key "${keyIdOf(keyA)}")`);
    expect(rotation.stdout).toMatch(/auth_configs: \d+ re-encrypted, 1 failed \(\d+ written by a server first, picked up again\)/);
    expect(heldRowUnchanged).toBe(true);
    for (const secret of [...userKeys, victimKey, operatorKey, keyA.split(':')[1]!, keyB.split(':')[1]!]) expect(rotation.stdout).not.toContain(secret);

    // Progress was reported in batches, up to the total of each table.
    const authProgress = progressOf(rotation.stdout, 'auth_configs');
    expect(authProgress.length).toBeGreaterThan(userKeys.length / 3);
    expect(authProgress.at(-1)).toEqual([userKeys.length + 1, userKeys.length + 1]);
    expect(progressOf(rotation.stdout, 'setup_sessions').at(-1)).toEqual([20, 20]);
    expect(progressOf(rotation.stdout, 'webhook_endpoints').at(-1)).toEqual([10, 10]);
    const [deploymentsDone, deploymentsTotal] = progressOf(rotation.stdout, 'provider_deployments').at(-1)!;
    expect(deploymentsDone).toBe(deploymentsTotal);

    // Everything is under B, but the row whose ciphertext belongs to another row.
    expect(await encryptionKeyUsage(store.db)).toEqual({
      provider_deployments: { [keyIdOf(keyB)]: 1 + 12 },
      auth_configs: { [keyIdOf(keyA)]: 1, [keyIdOf(keyB)]: userKeys.length },
      setup_sessions: { [keyIdOf(keyB)]: 20 },
      webhook_endpoints: { [keyIdOf(keyB)]: 10 },
    });
    const throughput = /(\d+) values in ([\d.]+) s/.exec(rotation.stdout);
    console.log(`rotation on PostgreSQL (batch 3, under load): ${throughput?.[0]}; ${calls.length} tool calls, ${during.length} during the rotation; ${writes} concurrent deployment writes`);
  });

  it('once that row is gone, a second run has nothing to do and a server with only key B serves every user', async () => {
    await clients[0]!.providers.authConfigs.delete(victim.authConfigId);
    const env = { ...baseEnv, GATEHOUSE_ENCRYPTION_KEYS: `${keyB},${keyA}` };
    const again = await runCli(['keys', 'rotate-encryption'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Every sealed value is under key "${keyIdOf(keyB)}"`);
    const status = await runCli(['keys', 'encryption-status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`auth_configs: ${keyIdOf(keyB)}: ${userKeys.length}`);
    expect(status.stdout).toContain('Every sealed value is under the current key.');
    expect(status.stdout).not.toContain(keyIdOf(keyA));

    await Promise.all(processes.map((process) => process.stop()));
    processes = [await spawnGatehouse({ env: { ...baseEnv, GATEHOUSE_ENCRYPTION_KEYS: keyB } })];
    const onlyB = new Gatehouse({ apiKey, baseUrl: processes[0]!.url, maxRetries: 0 });
    const results = await Promise.all(users.map((user) => onlyB.sessions.toolCalls.create(user.sessionId, { name: 'userkeys__whoami', arguments: {} })));
    expect(results.map((result) => `${result.status} ${textOf(result)}`)).toEqual(users.map((user) => `succeeded ${subjectOf(user.apiKey)}`));
    // The deployment's own key (sealed on the deployment) still opens too.
    const operatorSession = await onlyB.sessions.create({ providers: [{ providerDeploymentId: userkeysDeploymentId }] });
    const operatorCall = await onlyB.sessions.toolCalls.create(operatorSession.id, { name: 'userkeys__whoami', arguments: {} });
    expect(textOf(operatorCall)).toBe(subjectOf(operatorKey));
  });
});

describe('encryption key rotation on the embedded store', () => {
  const keyA = testEncryptionKeys();
  const keyB = testEncryptionKeys();
  const operatorKey = `operator_${randomBytes(8).toString('hex')}`;
  const userKeys = Array.from({ length: 6 }, (_, index) => userKey(index + 1));
  const victimKey = userKey(9_999);
  /** The key a user pastes again while the rotation runs (a writer that still seals with key A). */
  const replacedKey = userKey(8_888);
  const dataDir = tempDir('gatehouse-rotation-');
  let server: InProcessGatehouse | undefined;
  let toolServer: ToolServer | undefined;
  let publicToolServer: ToolServer | undefined;
  let users: User[];
  let victim: User;
  let projectId: string;
  let apiKey: string;

  beforeAll(async () => {
    server = await startInProcessGatehouse({ dataDir, env: { GATEHOUSE_ENCRYPTION_KEYS: keyA, GATEHOUSE_LOG_LEVEL: 'warn' } });
    apiKey = server.apiKey;
    const gatehouse = new Gatehouse({ apiKey, baseUrl: server.url, maxRetries: 0 });
    const userkeys = await createUserKeyProvider(gatehouse, [...userKeys, victimKey, replacedKey, operatorKey], operatorKey);
    toolServer = userkeys.toolServer;
    const publicTools = await createPublicToolProvider(gatehouse, 'public-tools');
    publicToolServer = publicTools.toolServer;
    const deployments = { userkeys: userkeys.deploymentId, publicTools: publicTools.deploymentId };
    users = await createUsers(gatehouse, userKeys, deployments);
    victim = (await createUsers(gatehouse, [victimKey], deployments))[0]!;
    await createOAuthSecrets(gatehouse, 2, 3);
    // The server's own database handle: the embedded store admits one process.
    const db = server.context.db as unknown as Database;
    projectId = await copyCredentials(db, users[0]!.authConfigId, victim.authConfigId);
    await insertWebhookEndpoints(db, Keyring.parse(keyA), projectId, 2);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.close();
    await Promise.all([toolServer?.close(), publicToolServer?.close()]);
  });

  it('refuses to rotate while a server holds the data folder', async () => {
    const refused = await runCli(['keys', 'rotate-encryption', '--data-dir', dataDir], { GATEHOUSE_ENCRYPTION_KEYS: `${keyB},${keyA}` });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/in use by another Gatehouse process/);
    expect(refused.stdout).not.toMatch(/re-encrypted/);
  });

  it('re-encrypts every value, picks up a row a concurrent writer re-sealed under A, and names the row it cannot open', async () => {
    await server!.close();
    server = undefined;
    const store = await openEmbeddedStore(dataDir, createLogger('silent'));
    try {
      const rotated = Keyring.parse(`${keyB},${keyA}`);
      const stale = Keyring.parse(keyA);
      const target = users[1]!;
      // A writer still on keyring A (a process not yet restarted) stores a new key for one user between
      // the rotation's read of that row and its write: the writer must win, and its value be rotated after.
      let concurrentWrite: Promise<unknown> | undefined;
      const racing: RotationKeyring = {
        currentKeyId: rotated.currentKeyId,
        seal: (plaintext, aad) => rotated.seal(plaintext, aad),
        open: (sealed, aad) => {
          if (!concurrentWrite && aad === credentialsAad(projectId, target.authConfigId)) {
            const resealed = stale.seal(JSON.stringify({ type: 'api_key', apiKey: replacedKey }), aad);
            concurrentWrite = store.db
              .update(authConfigs)
              .set({ credentialsCiphertext: resealed.ciphertext, credentialsKeyId: resealed.keyId })
              .where(eq(authConfigs.id, target.authConfigId))
              .execute();
          }
          return rotated.open(sealed, aad);
        },
      };
      const progress: RotationProgress[] = [];
      const result = await rotateEncryption(store.db, racing, { batchSize: 2, onProgress: (event) => progress.push(event) });
      await concurrentWrite;
      target.apiKey = replacedKey;

      expect(result.tables.auth_configs).toEqual({ total: userKeys.length + 1, rotated: userKeys.length, failed: 1, conflicts: 1, remaining: 0 });
      expect(result.tables.provider_deployments).toMatchObject({ total: 1 + 2, rotated: 1 + 2, failed: 0 });
      expect(result.tables.setup_sessions).toMatchObject({ total: 3, rotated: 3, failed: 0 });
      expect(result.tables.webhook_endpoints).toMatchObject({ total: 2, rotated: 2, failed: 0 });
      expect(result.incomplete).toBe(false);
      expect(result.failures).toEqual([
        { table: 'auth_configs', column: 'credentials', id: victim.authConfigId, keyId: keyIdOf(keyA), reason: expect.stringMatching(/does not authenticate/) },
      ]);
      const authProgress = progress.filter((event) => event.table === 'auth_configs');
      expect(authProgress.length).toBeGreaterThan(3);
      expect(authProgress.at(-1)).toEqual({ table: 'auth_configs', done: userKeys.length + 1, total: userKeys.length + 1 });
      expect(await encryptionKeyUsage(store.db)).toEqual({
        provider_deployments: { [keyIdOf(keyB)]: 3 },
        auth_configs: { [keyIdOf(keyA)]: 1, [keyIdOf(keyB)]: userKeys.length },
        setup_sessions: { [keyIdOf(keyB)]: 3 },
        webhook_endpoints: { [keyIdOf(keyB)]: 2 },
      });
      // Only the ciphertext changed: the credentials did not, so neither did their version.
      expect((await store.db.select().from(authConfigs)).map((row) => row.credentialsVersion)).toEqual(Array(userKeys.length + 1).fill(1));
      const [targetRow] = await store.db.select().from(authConfigs).where(eq(authConfigs.id, target.authConfigId));
      expect(JSON.parse(rotated.open({ keyId: targetRow!.credentialsKeyId, ciphertext: targetRow!.credentialsCiphertext }, credentialsAad(projectId, target.authConfigId)))).toEqual({
        type: 'api_key',
        apiKey: replacedKey,
      });
      await store.db.delete(authConfigs).where(eq(authConfigs.id, victim.authConfigId));
    } finally {
      await store.close();
    }
  });

  it('a server with only key B then serves every user, the public tools and the deployment key', async () => {
    server = await startInProcessGatehouse({ dataDir, env: { GATEHOUSE_ENCRYPTION_KEYS: keyB, GATEHOUSE_LOG_LEVEL: 'warn' } });
    const gatehouse = new Gatehouse({ apiKey, baseUrl: server.url, maxRetries: 0 });
    for (const user of users) {
      const result = await gatehouse.sessions.toolCalls.create(user.sessionId, { name: 'userkeys__whoami', arguments: {} });
      expect(`${result.status} ${textOf(result)}`).toBe(`succeeded ${subjectOf(user.apiKey)}`);
    }
    const echo = await gatehouse.sessions.toolCalls.create(users[0]!.sessionId, { name: 'public-tools__echo', arguments: { text: 'still here' } });
    expect(textOf(echo)).toBe('still here');
    const deployment = (await gatehouse.sessions.get(users[0]!.sessionId)).providers[0]!.providerDeploymentId;
    const operatorSession = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: deployment }] });
    expect(textOf(await gatehouse.sessions.toolCalls.create(operatorSession.id, { name: 'userkeys__whoami', arguments: {} }))).toBe(subjectOf(operatorKey));
  });
});
