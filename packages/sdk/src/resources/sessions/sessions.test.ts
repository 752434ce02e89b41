import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGatehouse, sendError, startFakeGatehouse, TEST_API_KEY } from '../../../test/fake-gatehouse.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  BadRequestError,
  ConflictError,
  Gatehouse,
  GatehouseError,
  InternalServerError,
  NotFoundError,
  type ToolCall,
} from '../../index.js';

let fake: FakeGatehouse;
let gatehouse: Gatehouse;

beforeEach(async () => {
  fake = await startFakeGatehouse();
  gatehouse = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl, maxRetries: 2 });
});
afterEach(() => fake.close());

function addGithubTools(): void {
  fake.addSessionTool({
    provider_id: 'github',
    provider_deployment_id: 'pde_github',
    original_name: 'get_user',
    description: 'Fetches a user.',
    input_schema: {
      type: 'object',
      properties: { user_id: { type: 'string' }, includeRepos: { type: 'boolean' }, filter_opts: { type: 'object', properties: { max_count: { type: 'integer' } } } },
      required: ['user_id'],
      additionalProperties: false,
    },
    annotations: { title: 'Get user', readOnlyHint: true, openWorldHint: false },
  });
  fake.addSessionTool({ provider_id: 'exa', provider_deployment_id: 'pde_exa', original_name: 'web_search' });
}

async function createSession(): Promise<string> {
  const session = await gatehouse.sessions.create({
    providers: [{ providerDeploymentId: 'pde_github', providerAuthConfigId: 'pac_1' }, { providerDeploymentId: 'pde_exa' }],
  });
  return session.id;
}

describe('sessions', () => {
  it('creates a session in snake_case and answers in camelCase, with the MCP secret shown once', async () => {
    addGithubTools();
    const session = await gatehouse.sessions.create({
      providers: [{ providerDeploymentId: 'pde_github', providerAuthConfigId: 'pac_1' }, { providerDeploymentId: 'pde_exa' }],
      metadata: { userId: 'u_1', run_id: 'r_1' },
    });
    expect(fake.requestsTo('/v1/sessions', 'POST')[0]?.body).toEqual({
      providers: [{ provider_deployment_id: 'pde_github', provider_auth_config_id: 'pac_1' }, { provider_deployment_id: 'pde_exa' }],
      metadata: { userId: 'u_1', run_id: 'r_1' },
    });
    expect(session).toEqual({
      object: 'session',
      id: expect.stringMatching(/^ses_/),
      status: 'active',
      providers: [
        { providerId: 'github', providerDeploymentId: 'pde_github', providerAuthConfigId: 'pac_1' },
        { providerId: 'exa', providerDeploymentId: 'pde_exa', providerAuthConfigId: null },
      ],
      metadata: { userId: 'u_1', run_id: 'r_1' },
      mcp: { url: `${fake.baseUrl}/mcp/sessions/${session.id}`, secret: `gms_secret_${session.id}` },
      createdAt: expect.any(String),
      closedAt: null,
    });

    const fetched = await gatehouse.sessions.get(session.id);
    expect(fetched.mcp).toEqual({ url: session.mcp.url });
    expect(fetched.providers).toEqual(session.providers);
  });

  it('lists sessions with a status filter, and closes them idempotently', async () => {
    const first = await createSession();
    const second = await createSession();
    const closed = await gatehouse.sessions.close(first);
    expect(closed).toMatchObject({ id: first, status: 'closed', closedAt: expect.any(String) });
    expect(fake.requestsTo(`/v1/sessions/${first}/close`, 'POST')).toHaveLength(1);
    expect((await gatehouse.sessions.close(first)).status).toBe('closed');

    const active = await gatehouse.sessions.list({ status: 'active' });
    expect(active.data.map((session) => session.id)).toEqual([second]);
    expect(fake.requests.at(-1)?.query.get('status')).toBe('active');
    const all: string[] = [];
    for await (const session of gatehouse.sessions.list({ limit: 1 })) all.push(session.id);
    expect(all).toEqual([second, first]);
  });

  it('rejects an unknown session with NotFoundError, an invalid body with BadRequestError, and an empty id at once', async () => {
    await expect(gatehouse.sessions.get('ses_missing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(gatehouse.sessions.close('ses_missing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(gatehouse.sessions.create({ providers: [] })).rejects.toBeInstanceOf(BadRequestError);
    expect(() => gatehouse.sessions.get('')).toThrow(GatehouseError);
    expect(() => gatehouse.sessions.toolCalls.list('')).toThrow(GatehouseError);
  });

  it('retries a close after a 503, as closing twice is the same as closing once', async () => {
    const sessionId = await createSession();
    let failures = 0;
    fake.intercept = (request, response) => {
      if (request.path.endsWith('/close') && failures < 1) {
        failures += 1;
        sendError(response, 503, 'service_unavailable', 'Try again.', { headers: { 'retry-after': '0' } });
        return true;
      }
      return false;
    };
    expect((await gatehouse.sessions.close(sessionId)).status).toBe('closed');
    expect(fake.requestsTo(`/v1/sessions/${sessionId}/close`)).toHaveLength(2);
  });
});

describe('session tools', () => {
  it("lists a session's tools with their schemas and annotations exactly as the tool servers declared them", async () => {
    addGithubTools();
    fake.addSessionTool({ provider_id: 'slack', provider_deployment_id: 'pde_slack', original_name: 'post_message' });
    const sessionId = await createSession();
    const { tools, unavailable } = await gatehouse.sessions.tools.list(sessionId);
    expect(unavailable).toEqual([]);
    expect(fake.requests.at(-1)?.path).toBe(`/v1/sessions/${sessionId}/tools`);
    expect(tools.map((tool) => tool.name)).toEqual(['github__get_user', 'exa__web_search']);
    expect(tools[0]).toEqual({
      name: 'github__get_user',
      description: 'Fetches a user.',
      inputSchema: {
        type: 'object',
        properties: { user_id: { type: 'string' }, includeRepos: { type: 'boolean' }, filter_opts: { type: 'object', properties: { max_count: { type: 'integer' } } } },
        required: ['user_id'],
        additionalProperties: false,
      },
      providerId: 'github',
      providerDeploymentId: 'pde_github',
      originalName: 'get_user',
      annotations: { title: 'Get user', readOnlyHint: true, openWorldHint: false },
    });
  });
  it('reports the providers whose tools could not be listed, instead of dropping them silently', async () => {
    addGithubTools();
    fake.unavailableProviders.push({
      provider_id: 'exa',
      provider_deployment_id: 'pde_exa',
      error: { code: 'tool_server_unavailable', message: 'The exa tool server could not be reached; try again later.' },
    });
    const sessionId = await createSession();
    const { tools, unavailable } = await gatehouse.sessions.tools.list(sessionId);
    expect(tools.map((tool) => tool.name)).toEqual(['github__get_user', 'exa__web_search']);
    expect(unavailable).toEqual([
      {
        providerId: 'exa',
        providerDeploymentId: 'pde_exa',
        error: { code: 'tool_server_unavailable', message: 'The exa tool server could not be reached; try again later.' },
      },
    ]);
  });
});

describe('tool calls', () => {
  it('sends the arguments and returns the MCP content and structured content exactly as they are on the wire', async () => {
    addGithubTools();
    const seen: unknown[] = [];
    const content = [
      { type: 'text', text: 'found', _meta: { trace_id: 't1' } },
      { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'file:///a_b.txt', mimeType: 'text/plain', text: 'hello' } },
    ];
    fake.addSessionTool({ provider_id: 'github', provider_deployment_id: 'pde_github', original_name: 'search_issues' }, (args) => {
      seen.push(args);
      return { content, structured_content: { total_count: 2, items: [{ html_url: 'https://x' }] } };
    });
    const sessionId = await createSession();
    const toolCall = await gatehouse.sessions.toolCalls.create(sessionId, {
      name: 'github__search_issues',
      arguments: { user_id: 'u_1', repoName: 'app', filter_opts: { max_count: 5, sortBy: 'created_at' } },
    });
    expect(fake.requestsTo(`/v1/sessions/${sessionId}/tool-calls`, 'POST')[0]?.body).toEqual({
      name: 'github__search_issues',
      arguments: { user_id: 'u_1', repoName: 'app', filter_opts: { max_count: 5, sortBy: 'created_at' } },
    });
    expect(seen).toEqual([{ user_id: 'u_1', repoName: 'app', filter_opts: { max_count: 5, sortBy: 'created_at' } }]);
    expect(toolCall).toEqual({
      object: 'tool_call',
      id: expect.stringMatching(/^tcl_/),
      sessionId,
      toolName: 'github__search_issues',
      providerId: 'github',
      originalName: 'search_issues',
      status: 'succeeded',
      isError: false,
      content,
      structuredContent: { total_count: 2, items: [{ html_url: 'https://x' }] },
      error: null,
      durationMs: expect.any(Number),
      createdAt: expect.any(String),
    } satisfies Record<keyof ToolCall, unknown>);
  });

  it('resolves with a failed ToolCall, without throwing, when the tool fails', async () => {
    fake.addSessionTool({ provider_id: 'github', provider_deployment_id: 'pde_github', original_name: 'create_issue' }, () => ({
      error: { code: 'reauthorization_required', message: 'GitHub rejected the refresh token.' },
    }));
    const sessionId = await createSession();
    const failed = await gatehouse.sessions.toolCalls.create(sessionId, { name: 'github__create_issue', arguments: {} });
    expect(failed).toMatchObject({
      status: 'failed',
      isError: true,
      content: [],
      error: { code: 'reauthorization_required', message: 'GitHub rejected the refresh token.' },
    });
    const unknown = await gatehouse.sessions.toolCalls.create(sessionId, { name: 'github__nope' });
    expect(unknown).toMatchObject({ status: 'failed', isError: true, error: { code: 'unknown_tool' } });
  });

  it('never retries a tool call: not after a 503, not with an Idempotency-Key, not after a dropped connection', async () => {
    addGithubTools();
    const sessionId = await createSession();
    const path = `/v1/sessions/${sessionId}/tool-calls`;
    let drop = false;
    fake.intercept = (request, response) => {
      if (request.path !== path || request.method !== 'POST') return false;
      if (drop) response.socket?.destroy();
      else sendError(response, 503, 'service_unavailable', 'Busy.', { headers: { 'retry-after': '0' } });
      return true;
    };
    await expect(gatehouse.sessions.toolCalls.create(sessionId, { name: 'exa__web_search', arguments: { q: 'x' } })).rejects.toBeInstanceOf(
      InternalServerError,
    );
    expect(fake.requestsTo(path, 'POST')).toHaveLength(1);

    await expect(
      gatehouse.sessions.toolCalls.create(sessionId, { name: 'exa__web_search' }, { maxRetries: 5, headers: { 'Idempotency-Key': 'k1' } }),
    ).rejects.toBeInstanceOf(InternalServerError);
    expect(fake.requestsTo(path, 'POST')).toHaveLength(2);

    drop = true;
    await expect(gatehouse.sessions.toolCalls.create(sessionId, { name: 'exa__web_search' })).rejects.toBeInstanceOf(APIConnectionError);
    expect(fake.requestsTo(path, 'POST')).toHaveLength(3);
  });

  it("waits past the client's timeout for a tool call, so the server's own tool timeout answers first; an explicit timeout is kept", async () => {
    fake.addSessionTool({ provider_id: 'slow', provider_deployment_id: 'pde_slow', original_name: 'work' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { content: [{ type: 'text', text: 'done' }] };
    });
    const session = await gatehouse.sessions.create({ providers: [{ providerDeploymentId: 'pde_slow' }] });
    const impatient = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl, timeout: 100 });
    expect((await impatient.sessions.toolCalls.create(session.id, { name: 'slow__work' })).status).toBe('succeeded');
    await expect(impatient.sessions.toolCalls.create(session.id, { name: 'slow__work' }, { timeout: 50 })).rejects.toBeInstanceOf(
      APIConnectionTimeoutError,
    );
    expect(fake.requestsTo(`/v1/sessions/${session.id}/tool-calls`, 'POST')).toHaveLength(2);
  });

  it('refuses a call on a closed session with ConflictError', async () => {
    addGithubTools();
    const sessionId = await createSession();
    await gatehouse.sessions.close(sessionId);
    await expect(gatehouse.sessions.toolCalls.create(sessionId, { name: 'exa__web_search' })).rejects.toBeInstanceOf(ConflictError);
  });

  it("lists a session's tool calls, newest first, across pages", async () => {
    addGithubTools();
    const sessionId = await createSession();
    const otherSessionId = await createSession();
    for (const query of ['a', 'b', 'c']) {
      await gatehouse.sessions.toolCalls.create(sessionId, { name: 'exa__web_search', arguments: { query } });
    }
    await gatehouse.sessions.toolCalls.create(otherSessionId, { name: 'exa__web_search', arguments: { query: 'other' } });
    const page = await gatehouse.sessions.toolCalls.list(sessionId, { limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.hasNextPage()).toBe(true);
    const texts: string[] = [];
    for await (const toolCall of gatehouse.sessions.toolCalls.list(sessionId, { limit: 2 })) {
      const [block] = toolCall.content;
      texts.push(block?.type === 'text' ? block.text : '');
    }
    expect(texts).toEqual(['{"query":"c"}', '{"query":"b"}', '{"query":"a"}']);
  });
});
