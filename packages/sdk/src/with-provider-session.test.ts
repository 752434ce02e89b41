import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { FakeGatehouse, sendError, startFakeGatehouse, TEST_API_KEY } from '../test/fake-gatehouse.js';
import {
  BadRequestError,
  Gatehouse,
  InternalServerError,
  NotFoundError,
  type ProviderSession,
  type ProviderSessionAdapter,
} from './index.js';

let fake: FakeGatehouse;
let gatehouse: Gatehouse;

beforeEach(async () => {
  fake = await startFakeGatehouse();
  gatehouse = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl, maxRetries: 0 });
  fake.addSessionTool({
    provider_id: 'github',
    provider_deployment_id: 'pde_github',
    original_name: 'get_user',
    input_schema: { type: 'object', properties: { user_id: { type: 'string' } } },
  });
  fake.addSessionTool({ provider_id: 'exa', provider_deployment_id: 'pde_exa', original_name: 'web_search' });
});
afterEach(() => fake.close());

/** An adapter that hands the provider session through, recording what it was given. */
const received: ProviderSession[] = [];
const passThrough: ProviderSessionAdapter<ProviderSession> = {
  createSession(providerSession) {
    received.push(providerSession);
    return providerSession;
  },
};
afterEach(() => {
  received.length = 0;
});

const init = {
  providers: [{ providerDeploymentId: 'pde_github', providerAuthConfigId: 'pac_github' }, { providerDeploymentId: 'pde_exa' }],
};

function closeRequests(): string[] {
  return fake.requests.filter((request) => request.path.endsWith('/close')).map((request) => request.path);
}

function onlySessionId(): string {
  const [id] = fake.sessions.keys();
  if (!id) throw new Error('no session was created');
  return id;
}

describe('withProviderSession', () => {
  it('opens the session, gives the adapter its tools, returns the callback value and then closes the session', async () => {
    const result = await gatehouse.withProviderSession(passThrough, init, async (session) => {
      expect(closeRequests()).toEqual([]);
      const toolCall = await session.callTool('github__get_user', { user_id: 'u_1' });
      return { tools: session.tools.map((tool) => tool.name), text: toolCall.content[0] };
    });
    expectTypeOf(result.tools).toEqualTypeOf<string[]>();
    expect(result).toEqual({ tools: ['github__get_user', 'exa__web_search'], text: { type: 'text', text: '{"user_id":"u_1"}' } });

    const sessionId = onlySessionId();
    const [providerSession] = received;
    expect(providerSession).toMatchObject({
      id: sessionId,
      mcpUrl: `${fake.baseUrl}/mcp/sessions/${sessionId}`,
      session: { id: sessionId, status: 'active', mcp: { secret: `gms_secret_${sessionId}` } },
    });
    expect(providerSession?.tools[0]?.inputSchema).toEqual({ type: 'object', properties: { user_id: { type: 'string' } } });
    expect(providerSession?.unavailable).toEqual([]);
    expect(fake.requests.map((request) => `${request.method} ${request.path.replace(sessionId, ':id')}`)).toEqual([
      'POST /v1/sessions',
      'GET /v1/sessions/:id/tools',
      'POST /v1/sessions/:id/tool-calls',
      'POST /v1/sessions/:id/close',
    ]);
    expect(fake.sessions.get(sessionId)?.status).toBe('closed');
  });

  it("hands the adapter the providers whose tools could not be listed, with the server's reason", async () => {
    const down = { provider_id: 'exa', provider_deployment_id: 'pde_exa', error: { code: 'reauthorization_required', message: 'The user must authorize again.' } };
    fake.unavailableProviders.push(down);
    const unavailable = await gatehouse.withProviderSession(passThrough, init, (session) => session.unavailable);
    expect(unavailable).toEqual([{ providerId: 'exa', providerDeploymentId: 'pde_exa', error: down.error }]);
  });

  it('infers the adapter session and the result types', async () => {
    const adapter: ProviderSessionAdapter<{ toolNames: string[] }> = {
      createSession: async (providerSession) => ({ toolNames: providerSession.tools.map((tool) => tool.name) }),
    };
    const count = await gatehouse.withProviderSession(adapter, init, (session) => {
      expectTypeOf(session).toEqualTypeOf<{ toolNames: string[] }>();
      return session.toolNames.length;
    });
    expectTypeOf(count).toEqualTypeOf<number>();
    expect(count).toBe(2);
  });

  it('closes the session when the callback throws, and rethrows that very error', async () => {
    const failure = new Error('the agent loop broke');
    await expect(
      gatehouse.withProviderSession(passThrough, init, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(closeRequests()).toEqual([`/v1/sessions/${onlySessionId()}/close`]);
    expect(fake.sessions.get(onlySessionId())?.status).toBe('closed');
  });

  it("keeps the callback's error when closing fails too", async () => {
    fake.intercept = (request, response) => {
      if (!request.path.endsWith('/close')) return false;
      sendError(response, 500, 'internal_error', 'close failed');
      return true;
    };
    const failure = new TypeError('bad tool input');
    await expect(
      gatehouse.withProviderSession(passThrough, init, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(closeRequests()).toHaveLength(1);
  });

  it('rejects with the close error when only the close fails, since the session may still be open', async () => {
    fake.intercept = (request, response) => {
      if (!request.path.endsWith('/close')) return false;
      sendError(response, 500, 'internal_error', 'close failed');
      return true;
    };
    await expect(gatehouse.withProviderSession(passThrough, init, () => 'done')).rejects.toBeInstanceOf(InternalServerError);
  });

  it('counts a 409 on close (already closed) as closed', async () => {
    fake.intercept = (request, response) => {
      if (!request.path.endsWith('/close')) return false;
      sendError(response, 409, 'conflict', 'Session is already closed.');
      return true;
    };
    await expect(gatehouse.withProviderSession(passThrough, init, () => 'done')).resolves.toBe('done');
  });

  it('closes the session when listing its tools or building the adapter session fails, without calling back', async () => {
    let calls = 0;
    fake.intercept = (request, response) => {
      if (!request.path.endsWith('/tools')) return false;
      sendError(response, 400, 'invalid_request', 'nope');
      return true;
    };
    await expect(gatehouse.withProviderSession(passThrough, init, () => (calls += 1))).rejects.toBeInstanceOf(BadRequestError);
    expect(closeRequests()).toHaveLength(1);

    fake.intercept = undefined;
    const broken: ProviderSessionAdapter<never> = {
      createSession: async () => {
        throw new Error('adapter failed');
      },
    };
    await expect(gatehouse.withProviderSession(broken, init, () => (calls += 1))).rejects.toThrow('adapter failed');
    expect(closeRequests()).toHaveLength(2);
    expect(calls).toBe(0);
  });

  it('does not call back or close anything when the session cannot be created', async () => {
    fake.intercept = (request, response) => {
      if (request.path !== '/v1/sessions') return false;
      sendError(response, 404, 'not_found', 'No provider deployment pde_github.');
      return true;
    };
    let called = false;
    await expect(
      gatehouse.withProviderSession(passThrough, init, () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(called).toBe(false);
    expect(closeRequests()).toEqual([]);
  });

  it('still closes the session when the run is aborted through its signal', async () => {
    const controller = new AbortController();
    await expect(
      gatehouse.withProviderSession(
        passThrough,
        init,
        async () => {
          controller.abort();
          throw new Error('aborted by the user');
        },
        { signal: controller.signal },
      ),
    ).rejects.toThrow('aborted by the user');
    expect(fake.sessions.get(onlySessionId())?.status).toBe('closed');
  });

  it('runs the seed example shape: several providers, one without an auth config', async () => {
    await gatehouse.withProviderSession(
      passThrough,
      {
        providers: [
          { providerDeploymentId: 'pde_github', providerAuthConfigId: 'pac_github' },
          { providerDeploymentId: 'pde_exa' },
        ],
      },
      async (session) => {
        expect(session.session.providers.map((provider) => provider.providerAuthConfigId)).toEqual(['pac_github', null]);
      },
    );
    expect(fake.requestsTo('/v1/sessions', 'POST')[0]?.body).toEqual({
      providers: [{ provider_deployment_id: 'pde_github', provider_auth_config_id: 'pac_github' }, { provider_deployment_id: 'pde_exa' }],
    });
  });
});
