/**
 * The README's agent loop end to end: `gatehouse.withProviderSession(gatehouseOpenAI, …)` against a real
 * Gatehouse server whose providers are real MCP tool servers, with the real `openai` SDK client talking to
 * a local stub of the OpenAI API. Proves that `session.tools` and `session.callTools(message.tool_calls)`
 * survive the real client's serialization, that the tool server's output reaches the model, and that a
 * failing tool, an unknown tool and unparsable arguments become `Error:` tool messages while the loop goes on.
 */
import OpenAI from 'openai';
import { Gatehouse } from '@gatehouse/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessGatehouse, type InProcessGatehouse } from '../../../test/support/gatehouse.js';
import { startOpenAIStub, toolOutputsOf, toolsOf, type OpenAIStub, type StubScript } from '../../../test/support/openai-stub.js';
import { createApiKeyToolProvider, createPublicToolProvider } from '../../../test/support/session-fixtures.js';
import { gatehouseOpenAI } from '../src/index.js';

const OPERATOR_API_KEY = 'search-operator-key-7788';

/** First turn: the scripted calls; second turn (the tool messages arrived): their outputs, one per line. */
function callThenSummarize(calls: Array<{ name: string; arguments: string }>): StubScript {
  return (request) => {
    const outputs = toolOutputsOf(request);
    if (outputs.length > 0) return { text: outputs.map((output) => output.output).join('\n') };
    return { functionCalls: calls };
  };
}

describe('an OpenAI agent loop over a Gatehouse session', () => {
  let server: InProcessGatehouse;
  let gatehouse: Gatehouse;
  let publicTools: Awaited<ReturnType<typeof createPublicToolProvider>>;
  let search: Awaited<ReturnType<typeof createApiKeyToolProvider>>;
  let stub: OpenAIStub | undefined;

  beforeAll(async () => {
    server = await startInProcessGatehouse();
    gatehouse = new Gatehouse({ apiKey: server.apiKey, baseUrl: server.url });
    publicTools = await createPublicToolProvider(gatehouse, 'public-tools');
    search = await createApiKeyToolProvider(gatehouse, 'search', OPERATOR_API_KEY);
  });

  afterAll(async () => {
    await stub?.close();
    await publicTools?.toolServer.close();
    await search?.toolServer.close();
    await server?.close();
  });

  const providers = () => [{ providerDeploymentId: publicTools.deploymentId }, { providerDeploymentId: search.deploymentId }];

  it('runs Chat Completions: tool outputs reach the model, failures are Error: tool messages, the loop ends', async () => {
    stub = await startOpenAIStub(
      callThenSummarize([
        { name: 'public-tools__echo', arguments: '{"text":"hello from the tool server"}' },
        { name: 'search__whoami', arguments: '{}' },
        { name: 'public-tools__fail', arguments: '{"message":"the disk is full"}' },
        { name: 'public-tools__echo', arguments: '{"text": "cut off' },
        { name: 'github__delete_repo', arguments: '{}' },
      ]),
    );
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: stub.url, maxRetries: 0 });

    const answer = await gatehouse.withProviderSession(gatehouseOpenAI, { providers: providers() }, async (session) => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Echo, tell me who I am, then fail.' }];
      for (let turn = 0; turn < 5; turn += 1) {
        const completion = await openai.chat.completions.create({ model: 'gpt-test', tools: session.tools, messages });
        const message = completion.choices[0]!.message;
        messages.push(message);
        if (!message.tool_calls?.length) return message.content;
        messages.push(...(await session.callTools(message.tool_calls)));
      }
      throw new Error('the loop did not end');
    });

    const requests = stub.requests();
    expect(requests.map((request) => [request.api, request.status])).toEqual([
      ['chat.completions', 200],
      ['chat.completions', 200],
    ]);
    expect(requests[0]!.headers.authorization).toBe('Bearer sk-test');
    // The model saw every tool of both providers as function tools, with the servers' schemas.
    const tools = toolsOf(requests[0]!);
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['public-tools__echo', 'public-tools__fail', 'search__whoami']));
    expect(tools.find((tool) => tool.name === 'public-tools__echo')?.parameters).toMatchObject({
      type: 'object',
      properties: { text: { type: 'string' } },
      required: ['text'],
    });
    expect(tools.find((tool) => tool.name === 'search__whoami')?.parameters).toMatchObject({ type: 'object', properties: {} });

    // Every tool call was answered, in order, with what the tool servers said.
    const assistant = (requests[1]!.body.messages as OpenAI.ChatCompletionMessageParam[]).at(-6) as OpenAI.ChatCompletionAssistantMessageParam;
    const outputs = toolOutputsOf(requests[1]!);
    expect(outputs.map((output) => output.callId)).toEqual(assistant.tool_calls!.map((call) => call.id));
    expect(outputs.map((output) => output.output)).toEqual([
      'hello from the tool server',
      'api-key:7788',
      'Error: the disk is full',
      expect.stringMatching(/^Error: The arguments of tool "public-tools__echo" are not valid JSON/),
      'Error: Tool "github__delete_repo" is not available in this session; use only the tools you were given.',
    ]);
    expect(answer).toBe(outputs.map((output) => output.output).join('\n'));

    // Only the well-formed calls reached the tool servers, with their arguments untouched.
    expect(publicTools.toolServer.calls().map((call) => [call.tool, call.args])).toEqual([
      ['echo', { text: 'hello from the tool server' }],
      ['fail', { message: 'the disk is full' }],
    ]);
    expect(search.toolServer.calls().map((call) => call.tool)).toEqual(['whoami']);
    // withProviderSession closed the session when the loop ended.
    expect((await gatehouse.sessions.list()).data[0]!.status).toBe('closed');
  });

  it('runs the Responses API: function_call items answered with function_call_output items', async () => {
    await stub?.close();
    stub = await startOpenAIStub(
      callThenSummarize([
        { name: 'public-tools__echo', arguments: '{"text":"via responses"}' },
        { name: 'public-tools__fail', arguments: '{}' },
      ]),
    );
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: stub.url, maxRetries: 0 });

    const answer = await gatehouse.withProviderSession(gatehouseOpenAI, { providers: providers() }, async (session) => {
      let response = await openai.responses.create({ model: 'gpt-test', tools: session.responsesTools, input: 'Echo, then fail.' });
      for (let turn = 0; turn < 5; turn += 1) {
        const outputs = await session.callResponsesTools(response.output);
        if (outputs.length === 0) return response.output_text;
        response = await openai.responses.create({ model: 'gpt-test', tools: session.responsesTools, previous_response_id: response.id, input: outputs });
      }
      throw new Error('the loop did not end');
    });

    const requests = stub.requests();
    expect(requests.map((request) => [request.api, request.status])).toEqual([
      ['responses', 200],
      ['responses', 200],
    ]);
    expect(toolsOf(requests[0]!).map((tool) => tool.name)).toEqual(expect.arrayContaining(['public-tools__echo', 'search__whoami']));
    expect(toolOutputsOf(requests[1]!).map((output) => output.output)).toEqual(['via responses', 'Error: the tool failed on purpose']);
    expect(requests[1]!.body.previous_response_id).toMatch(/^resp_/);
    expect(answer).toBe('via responses\nError: the tool failed on purpose');
  });
});
