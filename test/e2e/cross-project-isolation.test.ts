/**
 * REFERENCE §3 "cross-project access": project A's API key on project B's ids, in every endpoint.
 *
 * Project B is made with the CLI (`gatehouse projects create`, `gatehouse keys create --project`)
 * before the server starts on the same data folder; project A is the bootstrap project. B gets one
 * object of every kind (custom provider, deployment, setup sessions pending and completed, auth
 * config, session, tool call, webhook endpoint). Then the Hono app's own route table is walked: every
 * route must be classified below, every `:param` is replaced by B's id of that kind (an unknown
 * parameter name fails the test), and A's key must get 404 everywhere, list endpoints must never show
 * B's objects, ids of B inside request bodies must answer exactly like ids that do not exist, and B's
 * objects (read back with B's key) must be exactly as before.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspectRoutes } from 'hono/dev';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '@gatehouse/server';
import { startInProcessGatehouse, tempDir, type InProcessGatehouse } from '../support/gatehouse.js';
import { startToolServer, type ToolServer } from '../support/mcp-tool-server.js';
import { RawApi, runCli, submitApiKeyForm } from '../support/security.js';

const B_USER_KEY = 'b-user-key-0123456789abcdef';

type RouteCase =
  /** Path parameters get B's ids; A's key must get 404 and change nothing. */
  | { kind: 'by-id'; body?: unknown; query?: string }
  /** No id in the path: checked by a dedicated assertion (lists, creates that reference ids). */
  | { kind: 'collection'; check: string }
  /** The session MCP endpoint: A's key on B's session must be refused (401 or 404) and reach nothing. */
  | { kind: 'mcp' }
  /** Not behind an API key: the id in the URL is the capability (hosted pages, OAuth callback), or public. */
  | { kind: 'no-api-key'; why: string };

/**
 * Every route of the app. A route that is not here fails `covers every route of the app` until it is
 * added: a new endpoint is not "probably scoped", it is tested.
 */
const ROUTE_CASES: Record<string, RouteCase> = {
  'GET /healthz': { kind: 'no-api-key', why: 'public health check, no project data' },
  'GET /assets/gatehouse.css': { kind: 'no-api-key', why: 'static stylesheet' },
  'GET /setup/:setupSessionId': { kind: 'no-api-key', why: 'hosted page: the setup session id is the capability' },
  'GET /setup/:setupSessionId/authorize': { kind: 'no-api-key', why: 'hosted page: the setup session id is the capability' },
  'POST /setup/:setupSessionId/api-key': { kind: 'no-api-key', why: 'hosted form post, bound to the browser by a CSRF cookie' },
  'GET /oauth/callback/:deploymentId': { kind: 'no-api-key', why: 'OAuth redirect URI: bound by state and the browser cookie' },

  'GET /v1/providers': { kind: 'collection', check: 'lists' },
  'POST /v1/providers': { kind: 'collection', check: 'provider ids are per project' },
  'GET /v1/providers/:providerId': { kind: 'by-id' },
  'DELETE /v1/providers/:providerId': { kind: 'by-id' },

  'POST /v1/providers/deployments': { kind: 'collection', check: 'body references' },
  'GET /v1/providers/deployments': { kind: 'collection', check: 'lists' },
  'GET /v1/providers/deployments/:deploymentId': { kind: 'by-id' },
  'PATCH /v1/providers/deployments/:deploymentId': { kind: 'by-id', body: { name: 'taken over', credentials: { api_key: 'attacker-key' } } },
  'DELETE /v1/providers/deployments/:deploymentId': { kind: 'by-id' },

  'POST /v1/providers/setup-sessions': { kind: 'collection', check: 'body references' },
  'GET /v1/providers/setup-sessions': { kind: 'collection', check: 'lists' },
  'GET /v1/providers/setup-sessions/wait': { kind: 'collection', check: 'wait' },
  'GET /v1/providers/setup-sessions/:setupSessionId': { kind: 'by-id' },

  'GET /v1/providers/auth-configs': { kind: 'collection', check: 'lists' },
  'GET /v1/providers/auth-configs/:authConfigId': { kind: 'by-id' },
  'DELETE /v1/providers/auth-configs/:authConfigId': { kind: 'by-id' },
  'GET /v1/providers/auth-configs/:authConfigId/events': { kind: 'by-id' },

  'POST /v1/sessions': { kind: 'collection', check: 'body references' },
  'GET /v1/sessions': { kind: 'collection', check: 'lists' },
  'GET /v1/sessions/:sessionId': { kind: 'by-id' },
  'POST /v1/sessions/:sessionId/close': { kind: 'by-id' },
  'GET /v1/sessions/:sessionId/tools': { kind: 'by-id' },
  'POST /v1/sessions/:sessionId/tool-calls': { kind: 'by-id', body: { name: 'b-tools__add_note', arguments: { text: 'written by project A' } } },
  'GET /v1/sessions/:sessionId/tool-calls': { kind: 'by-id' },

  'POST /v1/webhooks': { kind: 'collection', check: 'webhooks are per project' },
  'GET /v1/webhooks': { kind: 'collection', check: 'lists' },
  'GET /v1/webhooks/:webhookId': { kind: 'by-id' },
  'PATCH /v1/webhooks/:webhookId': { kind: 'by-id', body: { status: 'disabled' } },
  'DELETE /v1/webhooks/:webhookId': { kind: 'by-id' },
  'POST /v1/webhooks/:webhookId/rotate-secret': { kind: 'by-id' },
  'GET /v1/webhooks/:webhookId/deliveries': { kind: 'by-id' },
  'POST /v1/webhooks/:webhookId/test': { kind: 'by-id' },

  'ALL /mcp/sessions/:sessionId': { kind: 'mcp' },
};

describe('cross-project isolation', () => {
  let server: InProcessGatehouse;
  let toolServer: ToolServer;
  let receiver: Server;
  let receiverUrl: string;
  let a: RawApi;
  let b: RawApi;
  let projectB: string;
  let bSecondKey: string;
  /** Project B's ids by route parameter name; every value is walked. */
  let paramIds: Record<string, string[]>;
  let bIds: string[];
  let aDeploymentId: string;
  let unknownProjectCli: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    const dataDir = tempDir();
    const created = await runCli(['projects', 'create', '--name', 'Project B', '--data-dir', dataDir]);
    expect(created.code, created.stderr).toBe(0);
    projectB = /project: (prj_\w+)/.exec(created.stdout)![1]!;
    const bKey = /api key \(shown once, store it now\): (ghk_\S+)/.exec(created.stdout)![1]!;
    const second = await runCli(['keys', 'create', '--project', projectB, '--data-dir', dataDir]);
    expect(second.code, second.stderr).toBe(0);
    bSecondKey = second.stdout.trim();
    // Before the server starts: while it runs, the embedded data folder is locked to it.
    unknownProjectCli = await runCli(['keys', 'create', '--project', 'prj_doesnotexist', '--data-dir', dataDir]);

    toolServer = await startToolServer({ name: 'b-tools', auth: { type: 'api-key', header: 'x-api-key', validKeys: [B_USER_KEY] } });
    receiver = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

    server = await startInProcessGatehouse({ dataDir });
    a = new RawApi(server.url, server.apiKey);
    b = new RawApi(server.url, bKey);

    // Project A: one provider and deployment of its own (for bodies that mix A's and B's ids).
    const providerBody = (id: string) => ({
      id,
      name: `${id} tools`,
      auth_methods: [{ id: 'api_key', type: 'api_key', label: 'API key', injection: { header: 'x-api-key' } }],
      mcp_server: { url: toolServer.url },
    });
    expect((await a.post('/v1/providers', providerBody('a-tools'))).status).toBe(201);
    aDeploymentId = ((await a.post('/v1/providers/deployments', { provider_id: 'a-tools' })).json as { id: string }).id;

    // Project B: one object of every kind.
    expect((await b.post('/v1/providers', providerBody('b-tools'))).status).toBe(201);
    const deployment = (await b.post('/v1/providers/deployments', { provider_id: 'b-tools', name: 'B tools' })).json as { id: string };
    const completing = (await b.post('/v1/providers/setup-sessions', { provider_id: 'b-tools', provider_auth_method_id: 'api_key' })).json as { id: string; url: string };
    expect((await submitApiKeyForm(completing.url, B_USER_KEY)).status).toBe(200);
    const completed = (await b.get(`/v1/providers/setup-sessions/${completing.id}`)).json as { status: string; auth_config: { id: string } };
    expect(completed.status).toBe('completed');
    const pending = (await b.post('/v1/providers/setup-sessions', { provider_id: 'b-tools', provider_auth_method_id: 'api_key' })).json as { id: string };
    const session = (await b.post('/v1/sessions', { providers: [{ provider_deployment_id: deployment.id, provider_auth_config_id: completed.auth_config.id }] }))
      .json as { id: string };
    const call = await b.post(`/v1/sessions/${session.id}/tool-calls`, { name: 'b-tools__echo', arguments: { text: 'hello from B' } });
    expect(call.json).toMatchObject({ status: 'succeeded' });
    const webhook = (await b.post('/v1/webhooks', { url: receiverUrl })).json as { id: string };

    paramIds = {
      providerId: ['b-tools'],
      deploymentId: [deployment.id],
      setupSessionId: [completing.id, pending.id],
      authConfigId: [completed.auth_config.id],
      sessionId: [session.id],
      webhookId: [webhook.id],
    };
    bIds = [...Object.values(paramIds).flat(), (call.json as { id: string }).id, projectB];
  });

  afterAll(async () => {
    await server?.close();
    await toolServer?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  /** Everything of project B, read with B's key. */
  async function snapshotOfB(): Promise<Record<string, unknown>> {
    const [deploymentId] = paramIds.deploymentId!;
    const [authConfigId] = paramIds.authConfigId!;
    const [sessionId] = paramIds.sessionId!;
    const [webhookId] = paramIds.webhookId!;
    const paths = [
      '/v1/providers',
      '/v1/providers/b-tools',
      '/v1/providers/deployments',
      `/v1/providers/deployments/${deploymentId}`,
      '/v1/providers/setup-sessions',
      ...paramIds.setupSessionId!.map((id) => `/v1/providers/setup-sessions/${id}`),
      '/v1/providers/auth-configs',
      `/v1/providers/auth-configs/${authConfigId}`,
      `/v1/providers/auth-configs/${authConfigId}/events`,
      '/v1/sessions',
      `/v1/sessions/${sessionId}`,
      `/v1/sessions/${sessionId}/tool-calls`,
      '/v1/webhooks',
      `/v1/webhooks/${webhookId}`,
    ];
    const snapshot: Record<string, unknown> = {};
    for (const path of paths) {
      const answer = await b.get(path);
      expect(answer.status, path).toBe(200);
      snapshot[path] = answer.json;
    }
    return snapshot;
  }

  /** The app's own route table (handlers only, no middleware), as `METHOD /path`. */
  function appRoutes(): string[] {
    const routes = inspectRoutes(createApp(server.context))
      .filter((route) => !route.isMiddleware)
      .map((route) => `${route.method} ${route.path}`);
    return [...new Set(routes)];
  }

  function substitute(path: string): string[] {
    let paths = [path];
    for (const [, name] of path.matchAll(/:(\w+)/g)) {
      const ids = paramIds[name!];
      if (!ids) throw new Error(`route parameter :${name} (in ${path}) has no project-B id in the isolation test: add an object of that kind to project B`);
      paths = paths.flatMap((candidate) => ids.map((id) => candidate.replace(`:${name}`, id)));
    }
    return paths;
  }

  it('creates projects and keys with the CLI, and each key opens its own project only', async () => {
    const viaSecondKey = new RawApi(server.url, bSecondKey);
    expect(((await viaSecondKey.get('/v1/providers/b-tools')).json as { id: string }).id).toBe('b-tools');
    expect((await a.get('/v1/providers/b-tools')).status).toBe(404);
    expect(unknownProjectCli.code).not.toBe(0);
    expect(unknownProjectCli.stderr).toContain('no project prj_doesnotexist');
  });

  it('covers every route of the app', () => {
    const uncovered = appRoutes().filter((route) => !(route in ROUTE_CASES));
    expect(uncovered, 'routes without a cross-project case in ROUTE_CASES').toEqual([]);
    const stale = Object.keys(ROUTE_CASES).filter((route) => !appRoutes().includes(route));
    expect(stale, 'cases for routes the app no longer has').toEqual([]);
  });

  it("answers 404 to project A's key on project B's ids in every route, and changes nothing", async () => {
    const before = await snapshotOfB();
    const toolCallsBefore = toolServer.calls().length;
    let walked = 0;
    for (const route of appRoutes()) {
      const routeCase = ROUTE_CASES[route];
      if (routeCase?.kind !== 'by-id') continue;
      const [method, path] = route.split(' ') as [string, string];
      for (const concrete of substitute(path)) {
        const answer = await a.request(method, `${concrete}${routeCase.query ?? ''}`, routeCase.body ?? (method === 'GET' || method === 'DELETE' ? undefined : {}));
        expect(answer.status, `${method} ${concrete}`).toBe(404);
        expect((answer.json as { error: { code: string } }).error.code).toBe('not_found');
        walked++;
      }
    }
    expect(walked).toBeGreaterThanOrEqual(20);
    expect(toolServer.calls().length).toBe(toolCallsBefore);
    expect(await snapshotOfB()).toEqual(before);
  });

  it("refuses A's key on B's session MCP endpoint and reaches none of B's tools", async () => {
    const before = await snapshotOfB();
    const toolCallsBefore = toolServer.calls().length;
    for (const path of substitute('/mcp/sessions/:sessionId')) {
      for (const message of [
        { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'a', version: '1' } } },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'b-tools__add_note', arguments: { text: 'from A' } } },
      ]) {
        const answer = await a.request('POST', path, message, { accept: 'application/json, text/event-stream' });
        expect([401, 404], path).toContain(answer.status);
        expect(answer.text).not.toContain('b-tools__');
      }
    }
    expect(toolServer.calls().length).toBe(toolCallsBefore);
    expect(await snapshotOfB()).toEqual(before);
  });

  it("never lists B's objects to A, not even when A filters by B's ids", async () => {
    const [deploymentId] = paramIds.deploymentId!;
    const lists = [
      '/v1/providers',
      '/v1/providers/deployments',
      '/v1/providers/deployments?provider_id=b-tools',
      '/v1/providers/setup-sessions',
      '/v1/providers/setup-sessions?provider_id=b-tools',
      '/v1/providers/auth-configs',
      `/v1/providers/auth-configs?provider_deployment_id=${deploymentId}`,
      '/v1/providers/auth-configs?provider_id=b-tools',
      '/v1/sessions',
      '/v1/webhooks',
    ];
    const covered = new Set(lists.map((path) => `GET ${path.split('?')[0]}`));
    for (const route of appRoutes()) {
      const routeCase = ROUTE_CASES[route];
      if (routeCase?.kind === 'collection' && routeCase.check === 'lists') expect(covered.has(route), `${route} is a list without a check`).toBe(true);
    }
    for (const path of lists) {
      const answer = await a.get(path);
      expect(answer.status, path).toBe(200);
      for (const id of bIds) expect(answer.text, `${path} shows ${id}`).not.toContain(id);
    }
    // And B's own lists do show them: the check above is not vacuous.
    const own = await b.get('/v1/providers/deployments');
    expect(own.text).toContain(deploymentId);
  });

  it("answers B's ids inside request bodies exactly like ids that do not exist, and creates nothing", async () => {
    const [deploymentId] = paramIds.deploymentId!;
    const [authConfigId] = paramIds.authConfigId!;
    const [setupSessionId] = paramIds.setupSessionId!;
    const before = await snapshotOfB();
    const listsBefore = await Promise.all(['/v1/providers/deployments', '/v1/providers/setup-sessions', '/v1/sessions'].map((path) => a.get(path)));

    const pairs: Array<[string, string, unknown, unknown]> = [
      ['POST', '/v1/providers/deployments', { provider_id: 'b-tools' }, { provider_id: 'no-such-provider' }],
      [
        'POST',
        '/v1/providers/setup-sessions',
        { provider_id: 'b-tools', provider_auth_method_id: 'api_key', provider_deployment_id: deploymentId },
        { provider_id: 'no-such-provider', provider_auth_method_id: 'api_key', provider_deployment_id: 'pde_doesnotexist' },
      ],
      [
        'POST',
        '/v1/providers/setup-sessions',
        { provider_id: 'a-tools', provider_auth_method_id: 'api_key', provider_deployment_id: deploymentId },
        { provider_id: 'a-tools', provider_auth_method_id: 'api_key', provider_deployment_id: 'pde_doesnotexist' },
      ],
      [
        'POST',
        '/v1/providers/setup-sessions',
        { provider_id: 'a-tools', provider_auth_method_id: 'api_key', provider_auth_config_id: authConfigId },
        { provider_id: 'a-tools', provider_auth_method_id: 'api_key', provider_auth_config_id: 'pac_doesnotexist' },
      ],
      ['POST', '/v1/sessions', { providers: [{ provider_deployment_id: deploymentId }] }, { providers: [{ provider_deployment_id: 'pde_doesnotexist' }] }],
      [
        'POST',
        '/v1/sessions',
        { providers: [{ provider_deployment_id: aDeploymentId, provider_auth_config_id: authConfigId }] },
        { providers: [{ provider_deployment_id: aDeploymentId, provider_auth_config_id: 'pac_doesnotexist' }] },
      ],
    ];
    for (const [method, path, withB, withUnknown] of pairs) {
      const foreign = await a.request(method, path, withB);
      const unknown = await a.request(method, path, withUnknown);
      expect(foreign.status, `${path} ${JSON.stringify(withB)}`).toBe(unknown.status);
      expect([400, 404]).toContain(foreign.status);
      expect((foreign.json as { error: { code: string } }).error.code).toBe((unknown.json as { error: { code: string } }).error.code);
    }

    // wait: an id of B is an unknown id.
    expect((await a.get(`/v1/providers/setup-sessions/wait?ids=${setupSessionId}&timeout_ms=0`)).status).toBe(404);

    // Ids of providers and webhooks are per project: A may use the same provider id, and its own
    // provider and webhook endpoint leave B's alone.
    const sameId = await a.post('/v1/providers', {
      id: 'b-tools',
      name: 'A has one too',
      auth_methods: [],
      mcp_server: { url: 'http://127.0.0.1:9/mcp' },
    });
    expect(sameId.status).toBe(201);
    expect((await a.request('DELETE', '/v1/providers/b-tools')).status).toBe(200);
    const aWebhook = await a.post('/v1/webhooks', { url: receiverUrl });
    expect(aWebhook.status).toBe(201);
    expect((await a.request('DELETE', `/v1/webhooks/${(aWebhook.json as { id: string }).id}`)).status).toBe(200);

    const listsAfter = await Promise.all(['/v1/providers/deployments', '/v1/providers/setup-sessions', '/v1/sessions'].map((path) => a.get(path)));
    expect(listsAfter.map((answer) => answer.json)).toEqual(listsBefore.map((answer) => answer.json));
    expect(await snapshotOfB()).toEqual(before);
  });
});
