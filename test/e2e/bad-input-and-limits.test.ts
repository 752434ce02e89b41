/**
 * REFERENCE §3 "bad bodies" and "API key guessing", and the per-project limits, against a real
 * `gatehouse serve` (in this process on the embedded store, and two child processes on one
 * PostgreSQL):
 *
 * - a 10 MB JSON body (with a Content-Length, and streamed chunked without one) answers 413, a
 *   100 000-deep body 400, a wrong content type 415, an unknown field 400 naming it; nothing is
 *   created and the server serves on;
 * - wrong API keys from one client answer 401 up to GATEHOUSE_RATE_LIMIT_AUTH_FAILURES, then 429 with
 *   Retry-After, even for the right key from that client; another client is unaffected; 100 wrong keys
 *   at once get at most the limit of 401s, on PostgreSQL across two processes too;
 * - API keys are stored as hashes only;
 * - GATEHOUSE_RATE_LIMIT_SETUP_SESSIONS and GATEHOUSE_RATE_LIMIT_TOOL_CALLS refuse the (limit+1)th
 *   with 429 and Retry-After, per project, across processes.
 *
 * Client addresses are chosen with `X-Forwarded-For` (GATEHOUSE_TRUST_PROXY=true). Every window
 * starts on a fresh minute (a fake clock in process, a wait away from the minute's edge for child
 * processes), so a window boundary never falls inside a test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { startToolServer, type ToolServer } from '../support/mcp-tool-server.js';
import { RawApi, runCli, type ApiAnswer } from '../support/security.js';

const MINUTE_MS = 60_000;
const TEN_MB = 10 * 1024 * 1024;

/** Moves a fake clock to just after the start of the next minute: a fresh window with 59 s to go. */
function startFreshWindow(clock: FakeClock): void {
  const now = clock.now().getTime();
  clock.advance(MINUTE_MS - (now % MINUTE_MS) + 200);
}

/** For child processes (real clocks): waits until at least 20 s of the current minute are left. */
async function awayFromWindowEdge(): Promise<void> {
  const left = MINUTE_MS - (Date.now() % MINUTE_MS);
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 200));
}

const wrongKey = () => `ghk_${randomBytes(32).toString('base64url')}`;

/** `/v1` as one client address (the proxy's `X-Forwarded-For`), with one key. */
function asClient(baseUrl: string, apiKey: string, address: string) {
  const api = new RawApi(baseUrl, apiKey);
  return (method: string, path: string, body?: unknown) => api.request(method, path, body, { 'x-forwarded-for': address });
}

function expectRateLimited(answer: ApiAnswer) {
  expect(answer.status).toBe(429);
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(answer.json).toMatchObject({ error: { code: 'rate_limited', message: expect.stringMatching(/Retry after \d+ s/) } });
}

/** POSTs `totalBytes` of a JSON body in 64 KiB chunks without a Content-Length (chunked), as a stream. */
function postStreamed(url: string, apiKey: string, totalBytes: number): Promise<{ status: number; body: string; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    let sentBytes = 0;
    let answered = false;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!answered && sentBytes < totalBytes) {
        sentBytes += chunk.length;
        const first = sentBytes === chunk.length;
        const piece = first ? Buffer.concat([Buffer.from('{"metadata":{"x":"'), chunk.subarray(18)]) : chunk;
        if (!request.write(piece)) return void request.once('drain', pump);
      }
      if (!answered) request.end('"}}');
    };
    request.on('response', (response) => {
      answered = true;
      let body = '';
      response.on('data', (data) => (body += String(data)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, sentBytes }));
    });
    // The server may close the connection once it has answered; only an error before that counts.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    pump();
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('bad input, API key guessing and project limits (embedded store)', () => {
  const clock = new FakeClock();
  let server: InProcessGatehouse;
  let toolServer: ToolServer;
  let api: RawApi;
  let apiB: RawApi;
  const AUTH_LIMIT = 5;
  const SETUP_LIMIT = 3;
  const TOOL_LIMIT = 3;
  /** The `keys` deployment of project A, then of project B. */
  const deploymentIds: string[] = [];

  beforeAll(async () => {
    const dataDir = tempDir();
    const created = await runCli(['projects', 'create', '--name', 'Project B', '--data-dir', dataDir]);
    expect(created.code, created.stderr).toBe(0);
    const keyB = /api key \(shown once, store it now\): (ghk_\S+)/.exec(created.stdout)![1]!;
    toolServer = await startToolServer({ name: 'limits-tools' });
    server = await startInProcessGatehouse({
      dataDir,
      clock,
      env: {
        GATEHOUSE_TRUST_PROXY: 'true',
        GATEHOUSE_RATE_LIMIT_AUTH_FAILURES: String(AUTH_LIMIT),
        GATEHOUSE_RATE_LIMIT_SETUP_SESSIONS: String(SETUP_LIMIT),
        GATEHOUSE_RATE_LIMIT_TOOL_CALLS: String(TOOL_LIMIT),
      },
    });
    api = new RawApi(server.url, server.apiKey);
    apiB = new RawApi(server.url, keyB);
    for (const project of [api, apiB]) {
      const provider = {
        id: 'keys',
        name: 'Keys',
        auth_methods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }],
        mcp_server: { url: toolServer.url },
      };
      expect((await project.post('/v1/providers', provider)).status).toBe(201);
      const deployment = await project.post('/v1/providers/deployments', { provider_id: 'keys', credentials: { api_key: 'operator-key' } });
      expect(deployment.status).toBe(201);
      deploymentIds.push((deployment.json as { id: string }).id);
    }
  });

  afterAll(async () => {
    await server?.close();
    await toolServer?.close();
  });

  const setupBody = { provider_id: 'keys', provider_auth_method_id: 'api_key' };
  const listSetupSessions = async () => ((await api.get('/v1/providers/setup-sessions')).json as { data: unknown[] }).data;

  it('refuses a 10 MB body with 413, whether it gives its length or streams, and creates nothing', async () => {
    startFreshWindow(clock);
    const huge = JSON.stringify({ ...setupBody, metadata: { x: 'a'.repeat(TEN_MB) } });
    const withLength = await api.request('POST', '/v1/providers/setup-sessions', huge);
    expect(withLength.status).toBe(413);
    expect(withLength.json).toMatchObject({ error: { code: 'payload_too_large', message: 'The body is larger than 1024 KiB.' } });

    const streamed = await postStreamed(`${server.url}/v1/providers/setup-sessions`, server.apiKey, TEN_MB);
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ error: { code: 'payload_too_large', message: 'The body is larger than 1024 KiB.' } });

    expect(await listSetupSessions()).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('refuses a 100 000-deep body with 400 naming the problem, before parsing it', async () => {
    const deep = `{"provider_id":"keys","provider_auth_method_id":"api_key","metadata":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const answer = await api.request('POST', '/v1/providers/setup-sessions', deep);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      error: { code: 'invalid_request', message: 'The body nests arrays or objects deeper than 64 levels.', details: [{ path: '(body)' }] },
    });
    const deepObjects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    expect((await api.request('POST', '/v1/providers', deepObjects)).status).toBe(400);
    expect(await listSetupSessions()).toEqual([]);
  });

  it('refuses text/plain, a form and no content type with 415', async () => {
    const json = JSON.stringify(setupBody);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['text/plain', { 'content-type': 'text/plain' }, json],
      ['form', { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams(setupBody).toString()],
      ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, `--x\r\nContent-Disposition: form-data; name="provider_id"\r\n\r\nkeys\r\n--x--`],
    ];
    for (const [what, headers, body] of cases) {
      const response = await fetch(`${server.url}/v1/providers/setup-sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiKey}`, ...headers },
        body,
      });
      expect(response.status, what).toBe(415);
      expect(await response.json(), what).toMatchObject({
        error: { code: 'unsupported_media_type', message: 'Send the body as JSON with Content-Type: application/json.' },
      });
    }
    // No content type at all (a Blob without a type makes fetch send none).
    const untyped = await fetch(`${server.url}/v1/providers/setup-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiKey}` },
      body: new Blob([json]),
    });
    expect(untyped.status).toBe(415);
    expect(await listSetupSessions()).toEqual([]);
  });

  it('refuses unknown fields with 400 naming the field, at the top level and nested', async () => {
    const top = await api.post('/v1/providers/setup-sessions', { ...setupBody, is_admin: true });
    expect(top.status).toBe(400);
    expect(top.json).toMatchObject({ error: { code: 'invalid_request', details: [{ path: '(body)', message: 'unknown field(s): is_admin' }] } });
    expect((top.json as { error: { message: string } }).error.message).toContain('is_admin');

    const nested = await api.post('/v1/sessions', { providers: [{ provider_deployment_id: deploymentIds[0], run_as_root: true }] });
    expect(nested.status).toBe(400);
    expect(nested.json).toMatchObject({ error: { code: 'invalid_request', details: [{ path: 'providers.0', message: 'unknown field(s): run_as_root' }] } });
    expect(((await api.get('/v1/sessions')).json as { data: unknown[] }).data).toEqual([]);

    const nestedProvider = await api.post('/v1/providers', {
      id: 'nested-unknown',
      name: 'N',
      auth_methods: [{ id: 'api_key', type: 'api_key', label: 'Key', injection: { header: 'x-api-key' }, run_as_root: true }],
    });
    expect(nestedProvider.status).toBe(400);
    expect(nestedProvider.json).toMatchObject({ error: { code: 'invalid_request', details: [{ path: expect.stringMatching(/^auth_?[mM]ethods\.0$/) }] } });
    expect((await api.get('/v1/providers/nested-unknown')).status).toBe(404);
    expect(await listSetupSessions()).toEqual([]);
  });

  it('still serves after all of it: a good body creates exactly one setup session', async () => {
    const created = await api.post('/v1/providers/setup-sessions', setupBody);
    expect(created.status).toBe(201);
    expect(await listSetupSessions()).toHaveLength(1);
  });

  it('refuses a form post over 64 KiB on the hosted pages with 413, and the setup stays pending', async () => {
    const setup = (await api.post('/v1/providers/setup-sessions', setupBody)).json as { id: string; url: string };
    const response = await fetch(`${server.url}/setup/${setup.id}/api-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: 'k'.repeat(100 * 1024), csrf_token: 'x' }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large', message: 'The body is larger than 64 KiB.' } });
    expect(((await api.get(`/v1/providers/setup-sessions/${setup.id}`)).json as { status: string }).status).toBe('pending');
  });

  it('answers 401 to wrong keys up to the limit, then 429 with Retry-After, even to the right key; other clients are unaffected', async () => {
    startFreshWindow(clock);
    const guesser = '203.0.113.7';
    for (let attempt = 1; attempt <= AUTH_LIMIT; attempt++) {
      const answer = await asClient(server.url, wrongKey(), guesser)('GET', '/v1/providers');
      expect(answer.status, `guess ${attempt}`).toBe(401);
    }
    expectRateLimited(await asClient(server.url, wrongKey(), guesser)('GET', '/v1/providers'));
    // The right key from the same client is refused as well: the answer does not reveal a right guess.
    const right = await asClient(server.url, server.apiKey, guesser)('GET', '/v1/providers');
    expectRateLimited(right);
    // The session MCP endpoint shares the budget.
    const mcp = await fetch(`${server.url}/mcp/sessions/ses_x`, { method: 'POST', headers: { 'x-forwarded-for': guesser, authorization: 'Bearer gms_guess' } });
    expect(mcp.status).toBe(429);

    // Another client, with the right key and with wrong ones of its own, is unaffected.
    const neighbour = '198.51.100.9';
    expect((await asClient(server.url, server.apiKey, neighbour)('GET', '/v1/providers')).status).toBe(200);
    expect((await asClient(server.url, wrongKey(), neighbour)('GET', '/v1/providers')).status).toBe(401);
    expect((await asClient(server.url, server.apiKey, neighbour)('GET', '/v1/providers')).status).toBe(200);
    expect(server.logs()).toContain('too many invalid credentials');

    // IPv6 clients count per /64: another address in the same /64 is the same client, another /64 is not.
    for (let attempt = 0; attempt < AUTH_LIMIT; attempt++) {
      expect((await asClient(server.url, wrongKey(), `2001:db8:1:2::${attempt + 1}`)('GET', '/v1/providers')).status).toBe(401);
    }
    expectRateLimited(await asClient(server.url, server.apiKey, '2001:db8:1:2:ffff::9')('GET', '/v1/providers'));
    expect((await asClient(server.url, server.apiKey, '2001:db8:1:3::1')('GET', '/v1/providers')).status).toBe(200);

    // The next window lets the client in again.
    startFreshWindow(clock);
    expect((await asClient(server.url, server.apiKey, guesser)('GET', '/v1/providers')).status).toBe(200);
  });

  it('answers at most the limit of 401s to 50 wrong keys sent at once', async () => {
    startFreshWindow(clock);
    const answers = await Promise.all(Array.from({ length: 50 }, () => asClient(server.url, wrongKey(), '203.0.113.50')('GET', '/v1/providers')));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(AUTH_LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(50 - AUTH_LIMIT);
    // A burst with the right key from a fresh client is not refused for being concurrent.
    const burst = await Promise.all(Array.from({ length: 20 }, () => asClient(server.url, server.apiKey, '203.0.113.51')('GET', '/v1/providers')));
    expect(burst.map((answer) => answer.status)).toEqual(Array(20).fill(200));
  });

  it('refuses the (limit+1)th setup session and tool call of a project with 429; another project is unaffected', async () => {
    startFreshWindow(clock);
    const before = (await listSetupSessions()).length;
    for (let index = 0; index < SETUP_LIMIT; index++) expect((await api.post('/v1/providers/setup-sessions', setupBody)).status).toBe(201);
    const over = await api.post('/v1/providers/setup-sessions', setupBody);
    expectRateLimited(over);
    expect((over.json as { error: { message: string } }).error.message).toContain('GATEHOUSE_RATE_LIMIT_SETUP_SESSIONS');
    expect(await listSetupSessions()).toHaveLength(before + SETUP_LIMIT);
    expect((await apiB.post('/v1/providers/setup-sessions', setupBody)).status).toBe(201);

    const sessionOf = async (project: RawApi, deploymentId: string) =>
      ((await project.post('/v1/sessions', { providers: [{ provider_deployment_id: deploymentId }] })).json as { id: string }).id;
    const [sessionA, sessionB] = [await sessionOf(api, deploymentIds[0]!), await sessionOf(apiB, deploymentIds[1]!)];
    const call = (project: RawApi, sessionId: string) => project.post(`/v1/sessions/${sessionId}/tool-calls`, { name: 'keys__echo', arguments: { text: 'hi' } });
    for (let index = 0; index < TOOL_LIMIT; index++) expect((await call(api, sessionA)).json).toMatchObject({ status: 'succeeded' });
    const refused = await call(api, sessionA);
    expectRateLimited(refused);
    expect((refused.json as { error: { message: string } }).error.message).toContain('GATEHOUSE_RATE_LIMIT_TOOL_CALLS');
    expect((await call(apiB, sessionB)).json).toMatchObject({ status: 'succeeded' });
    const recorded = (await api.get(`/v1/sessions/${sessionA}/tool-calls`)).json as { data: unknown[] };
    expect(recorded.data).toHaveLength(TOOL_LIMIT);
  });

  it('stores API keys as SHA-256 hashes only: the plaintext is nowhere in the database or the data folder', async () => {
    const dataDir = server.dataDir;
    await server.close();
    const db = await PGlite.create(join(dataDir, 'pgdata'));
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM api_keys');
    await db.close();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.map((row) => row.key_hash)).toContain(createHash('sha256').update(server.apiKey).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(server.apiKey);
    // The rest of the key beyond the short display prefix appears in no file either.
    const secretPart = Buffer.from(server.apiKey.slice(8));
    for (const file of filesUnder(dataDir)) expect(readFileSync(file).includes(secretPart), file).toBe(false);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('API key guessing and project limits across two processes on one PostgreSQL', () => {
  const AUTH_LIMIT = 10;
  const SETUP_LIMIT = 4;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let processA: GatehouseProcess;
  let processB: GatehouseProcess;
  let apiKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    apiKey = testApiKey();
    const env = {
      DATABASE_URL: database.url,
      GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      GATEHOUSE_BOOTSTRAP_API_KEY: apiKey,
      GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true',
      GATEHOUSE_TRUST_PROXY: 'true',
      GATEHOUSE_RATE_LIMIT_AUTH_FAILURES: String(AUTH_LIMIT),
      GATEHOUSE_RATE_LIMIT_SETUP_SESSIONS: String(SETUP_LIMIT),
    };
    [processA, processB] = await Promise.all([spawnGatehouse({ port: await freePort(), env }), spawnGatehouse({ port: await freePort(), env })]);
    const api = new RawApi(processA.url, apiKey);
    const provider = { id: 'keys', name: 'Keys', auth_methods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }] };
    expect((await api.post('/v1/providers', provider)).status).toBe(201);
    expect((await api.post('/v1/providers/deployments', { provider_id: 'keys' })).status).toBe(201);
  });

  afterAll(async () => {
    await Promise.all([processA?.stop(), processB?.stop()]);
    await database?.drop();
  });

  it('counts wrong keys split over both processes together; then both refuse the client, the right key too', async () => {
    await awayFromWindowEdge();
    const guesser = '203.0.113.20';
    for (let attempt = 0; attempt < AUTH_LIMIT; attempt++) {
      const via = attempt % 2 === 0 ? processA : processB;
      expect((await asClient(via.url, wrongKey(), guesser)('GET', '/v1/providers')).status, `guess ${attempt + 1}`).toBe(401);
    }
    for (const via of [processA, processB]) {
      expectRateLimited(await asClient(via.url, wrongKey(), guesser)('GET', '/v1/providers'));
      expectRateLimited(await asClient(via.url, apiKey, guesser)('GET', '/v1/providers'));
      expect((await asClient(via.url, apiKey, '198.51.100.20')('GET', '/v1/providers')).status).toBe(200);
    }
  });

  it('answers at most the limit of 401s to 100 wrong keys sent at once to both processes', async () => {
    await awayFromWindowEdge();
    const client = '203.0.113.21';
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, index) => asClient((index % 2 === 0 ? processA : processB).url, wrongKey(), client)('GET', '/v1/providers')),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(AUTH_LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(100 - AUTH_LIMIT);
    // The shared counter holds exactly the failures that were answered.
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const { rows } = await db.query<{ count: number }>('SELECT count FROM rate_limit_counters WHERE key = $1', [`auth_failures:${client}`]);
    await db.end();
    expect(rows.map((row) => row.count)).toEqual([AUTH_LIMIT]);
  });

  it('holds a project limit across both processes', async () => {
    await awayFromWindowEdge();
    const body = { provider_id: 'keys', provider_auth_method_id: 'api_key' };
    const statuses: number[] = [];
    for (let index = 0; index < SETUP_LIMIT; index++) {
      statuses.push((await new RawApi(index % 2 === 0 ? processA.url : processB.url, apiKey).post('/v1/providers/setup-sessions', body)).status);
    }
    expect(statuses).toEqual(Array(SETUP_LIMIT).fill(201));
    for (const via of [processA, processB]) expectRateLimited(await new RawApi(via.url, apiKey).post('/v1/providers/setup-sessions', body));
    const listed = (await new RawApi(processB.url, apiKey).get('/v1/providers/setup-sessions')).json as { data: unknown[] };
    expect(listed.data).toHaveLength(SETUP_LIMIT);
  });

  it('stores the API key as a hash only', async () => {
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM api_keys');
    await db.end();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key_hash).toBe(createHash('sha256').update(apiKey).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(apiKey);
    expect(JSON.stringify(rows)).not.toContain(apiKey.slice(8));
  });
});
