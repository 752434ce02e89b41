/**
 * The seed's flow end to end, on the client side: `gatehouse.withProviderSession(gatehouseAnthropic, …)`
 * against the SDK's fake Gatehouse server, with the real `@anthropic-ai/sdk` client talking to a local
 * stub of the Messages API. Proves that `session.tools` and `session.callTools(response.content)` survive
 * the real client's serialization, and that the session is closed afterwards.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { Gatehouse } from '@gatehouse/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGatehouse, startFakeGatehouse, TEST_API_KEY } from '../../sdk/test/fake-gatehouse.js';
import { gatehouseAnthropic } from '../src/index.js';

type MessagesRequest = Anthropic.MessageCreateParamsNonStreaming;

/** A stub of `POST /v1/messages` answering with the scripted replies, in order, and recording the requests. */
async function startMessagesStub(replies: Array<Pick<Anthropic.Message, 'content' | 'stop_reason'>>): Promise<{
  url: string;
  requests: MessagesRequest[];
  close: () => Promise<void>;
}> {
  const requests: MessagesRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesRequest;
      requests.push(body);
      const reply = replies[requests.length - 1];
      if (request.url !== '/v1/messages' || !reply) {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'unexpected request' } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${requests.length}` });
      response.end(
        JSON.stringify({
          id: `msg_${requests.length}`,
          type: 'message',
          role: 'assistant',
          model: body.model,
          stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 10 },
          ...reply,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

let fake: FakeGatehouse;
let gatehouse: Gatehouse;

beforeEach(async () => {
  fake = await startFakeGatehouse();
  gatehouse = new Gatehouse({ apiKey: TEST_API_KEY, baseUrl: fake.baseUrl });
  fake.addSessionTool(
    {
      provider_id: 'github',
      provider_deployment_id: 'pde_github',
      original_name: 'create_issue',
      description: 'Creates an issue.',
      input_schema: { type: 'object', properties: { repo_name: { type: 'string' }, title: { type: 'string' } }, required: ['repo_name', 'title'] },
    },
    (args) => ({ content: [{ type: 'text', text: `Created issue #7 in ${(args as { repo_name: string }).repo_name}` }] }),
  );
  fake.addSessionTool({ provider_id: 'slack', provider_deployment_id: 'pde_slack', original_name: 'post_message' }, () => ({
    error: { code: 'reauthorization_required', message: 'Slack revoked the token.' },
  }));
  fake.addSessionTool(
    { provider_id: 'exa', provider_deployment_id: 'pde_exa', original_name: 'web_search' },
    () => ({ content: [{ type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' }] }),
  );
});
afterEach(() => fake.close());

describe('an Anthropic agent loop over a Gatehouse session', () => {
  it('runs the seed example: tools to the model, tool results back, session closed', async () => {
    const stub = await startMessagesStub([
      {
        stop_reason: 'tool_use',
        content: [
          { type: 'text', text: 'On it.', citations: null },
          { type: 'tool_use', id: 'toolu_issue', name: 'github__create_issue', input: { repo_name: 'app', title: 'Crash' }, caller: { type: 'direct' } },
          { type: 'tool_use', id: 'toolu_slack', name: 'slack__post_message', input: { channel: '#dev' }, caller: { type: 'direct' } },
          { type: 'tool_use', id: 'toolu_search', name: 'exa__web_search', input: { query: 'crash' }, caller: { type: 'direct' } },
          { type: 'tool_use', id: 'toolu_ghost', name: 'github__delete_repo', input: {}, caller: { type: 'direct' } },
        ],
      },
      { stop_reason: 'end_turn', content: [{ type: 'text', text: 'Done: issue #7.', citations: null }] },
    ]);
    try {
      const anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: stub.url, maxRetries: 0 });
      const githubAuthConfigId = 'pac_github';
      const slackAuthConfigId = 'pac_slack';

      const answer = await gatehouse.withProviderSession(
        gatehouseAnthropic,
        {
          providers: [
            { providerDeploymentId: 'pde_github', providerAuthConfigId: githubAuthConfigId },
            { providerDeploymentId: 'pde_slack', providerAuthConfigId: slackAuthConfigId },
            { providerDeploymentId: 'pde_exa' },
          ],
        },
        async (session) => {
          const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'File the crash and tell #dev.' }];
          for (let turn = 0; turn < 5; turn += 1) {
            const response = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, tools: session.tools, messages });
            messages.push({ role: 'assistant', content: response.content });
            if (response.stop_reason !== 'tool_use') return response.content;
            messages.push(await session.callTools(response.content));
          }
          throw new Error('the loop did not end');
        },
      );

      expect(answer).toEqual([{ type: 'text', text: 'Done: issue #7.', citations: null }]);
      expect(stub.requests[0]?.tools).toEqual([
        {
          name: 'github__create_issue',
          description: 'Creates an issue.',
          input_schema: { type: 'object', properties: { repo_name: { type: 'string' }, title: { type: 'string' } }, required: ['repo_name', 'title'] },
        },
        { name: 'slack__post_message', input_schema: { type: 'object', properties: {} } },
        { name: 'exa__web_search', input_schema: { type: 'object', properties: {} } },
      ]);
      const toolResults = stub.requests[1]?.messages.at(-1);
      expect(toolResults?.role).toBe('user');
      expect(toolResults?.content).toEqual([
        { type: 'tool_result', tool_use_id: 'toolu_issue', is_error: false, content: [{ type: 'text', text: 'Created issue #7 in app' }] },
        {
          type: 'tool_result',
          tool_use_id: 'toolu_slack',
          is_error: true,
          content: [
            {
              type: 'text',
              text:
                'Tool call failed (reauthorization_required): Slack revoked the token. ' +
                'The user must re-authorize slack; ask the app to start a new setup session for this auth config.',
            },
          ],
        },
        {
          type: 'tool_result',
          tool_use_id: 'toolu_search',
          is_error: false,
          content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }],
        },
        {
          type: 'tool_result',
          tool_use_id: 'toolu_ghost',
          is_error: true,
          content: [{ type: 'text', text: expect.stringContaining('"github__delete_repo" is not available') }],
        },
      ]);

      // The unknown tool never reached Gatehouse; the arguments reached it untouched; the session is closed.
      const toolCallBodies = fake.requests.filter((request) => request.path.endsWith('/tool-calls')).map((request) => request.body);
      expect(toolCallBodies).toEqual([
        { name: 'github__create_issue', arguments: { repo_name: 'app', title: 'Crash' } },
        { name: 'slack__post_message', arguments: { channel: '#dev' } },
        { name: 'exa__web_search', arguments: { query: 'crash' } },
      ]);
      const [session] = fake.sessions.values();
      expect(session?.status).toBe('closed');
      expect(session?.providers).toEqual([
        { provider_id: 'github', provider_deployment_id: 'pde_github', provider_auth_config_id: 'pac_github' },
        { provider_id: 'slack', provider_deployment_id: 'pde_slack', provider_auth_config_id: 'pac_slack' },
        { provider_id: 'exa', provider_deployment_id: 'pde_exa', provider_auth_config_id: null },
      ]);
    } finally {
      await stub.close();
    }
  });

  it('keeps the agent loop alive when Gatehouse fails mid-call, and still closes the session', async () => {
    fake.intercept = (request, response) => {
      if (!request.path.endsWith('/tool-calls')) return false;
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html>Bad Gateway</html>');
      return true;
    };
    const result = await gatehouse.withProviderSession(gatehouseAnthropic, { providers: [{ providerDeploymentId: 'pde_exa' }] }, (session) =>
      session.callTools([{ type: 'tool_use', id: 'toolu_1', name: 'exa__web_search', input: { query: 'x' } }]),
    );
    expect(result.content).toEqual([
      {
        type: 'tool_result',
        tool_use_id: 'toolu_1',
        is_error: true,
        content: [{ type: 'text', text: expect.stringMatching(/^Gatehouse could not run tool "exa__web_search": 502 .*Bad Gateway/) }],
      },
    ]);
    expect(fake.requests.filter((request) => request.path.endsWith('/tool-calls'))).toHaveLength(1);
    expect([...fake.sessions.values()][0]?.status).toBe('closed');
  });
});
