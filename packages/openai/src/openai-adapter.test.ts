import type OpenAI from 'openai';
import type { Gatehouse, ProviderSessionAdapter, ToolCall } from '@gatehouse/sdk';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { inMemoryProviderSession, sessionTool, toolCall } from '../../../test/support/in-memory-provider-session.js';
import { gatehouseOpenAI, type OpenAIProviderSession } from './openai-adapter.js';
import { errorToolMessage, toFunctionCallOutput, toToolMessage } from './openai-convert-results.js';
import { toChatCompletionTools, toResponsesTools } from './openai-convert-tools.js';

const createIssue = sessionTool('github', 'create_issue', {
  inputSchema: {
    type: 'object',
    properties: { owner: { type: 'string' }, repo: { type: 'string' }, title: { type: 'string' }, user_id: { type: 'string' } },
    required: ['owner', 'repo', 'title'],
  },
});
const webSearch = sessionTool('exa', 'web_search', { inputSchema: { type: 'object', properties: { query: { type: 'string' } } } });

function functionCall(id: string, name: string, args: unknown): OpenAI.ChatCompletionMessageFunctionToolCall {
  return { id, type: 'function', function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) } };
}

function responsesCall(callId: string, name: string, args: unknown): OpenAI.Responses.ResponseFunctionToolCall {
  return { type: 'function_call', id: `fc_${callId}`, call_id: callId, name, arguments: JSON.stringify(args), status: 'completed' };
}

async function openAISession(
  run?: Parameters<typeof inMemoryProviderSession>[1],
): Promise<{ session: OpenAIProviderSession; calls: ReturnType<typeof inMemoryProviderSession>['calls'] }> {
  const providerSession = inMemoryProviderSession([createIssue, webSearch], run);
  const session = await gatehouseOpenAI.createSession(providerSession);
  return { session, calls: providerSession.calls };
}

describe('types: the outputs are what the real openai SDK accepts', () => {
  it('gives Chat Completions tools and tool messages that go straight into chat.completions.create', async () => {
    const { session } = await openAISession();
    // Assignments, checked by tsc against the installed SDK's own types.
    const tools: OpenAI.ChatCompletionTool[] = session.tools;
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Open an issue.' }];
    const assistant: OpenAI.ChatCompletionMessage = {
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [functionCall('call_1', 'github__create_issue', { owner: 'acme', repo: 'app', title: 'Crash' })],
    };
    messages.push(assistant);
    const answer = await session.callTools(assistant.tool_calls);
    messages.push(...answer);
    const params: OpenAI.ChatCompletionCreateParamsNonStreaming = { model: 'gpt-4.1', tools: session.tools, messages };

    expectTypeOf(answer).toEqualTypeOf<OpenAI.ChatCompletionToolMessageParam[]>();
    expectTypeOf(session.tools).toEqualTypeOf<OpenAI.ChatCompletionFunctionTool[]>();
    expectTypeOf(gatehouseOpenAI).toEqualTypeOf<ProviderSessionAdapter<OpenAIProviderSession>>();
    expectTypeOf(toChatCompletionTools).returns.toEqualTypeOf<OpenAI.ChatCompletionFunctionTool[]>();
    expectTypeOf(toToolMessage).returns.toEqualTypeOf<OpenAI.ChatCompletionToolMessageParam>();
    expectTypeOf(errorToolMessage).returns.toEqualTypeOf<OpenAI.ChatCompletionToolMessageParam>();
    expectTypeOf<OpenAI.ChatCompletionMessage['tool_calls']>().toExtend<Parameters<typeof session.callTools>[0]>();
    expectTypeOf<OpenAI.ChatCompletionAssistantMessageParam['tool_calls']>().toExtend<Parameters<typeof session.callTools>[0]>();

    expect(tools).toHaveLength(2);
    expect(params.tools).toBe(session.tools);
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
  });

  it('gives Responses API tools and function_call_output items that go straight into responses.create', async () => {
    const { session } = await openAISession();
    const tools: OpenAI.Responses.Tool[] = session.responsesTools;
    const output: OpenAI.Responses.ResponseOutputItem[] = [responsesCall('call_1', 'exa__web_search', { query: 'x' })];
    const outputs = await session.callResponsesTools(output);
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'Search.' }, ...outputs];
    const params: OpenAI.Responses.ResponseCreateParamsNonStreaming = { model: 'gpt-4.1', input, tools: session.responsesTools };

    expectTypeOf(outputs).toEqualTypeOf<OpenAI.Responses.ResponseInputItem.FunctionCallOutput[]>();
    expectTypeOf(session.responsesTools).toEqualTypeOf<OpenAI.Responses.FunctionTool[]>();
    expectTypeOf(toResponsesTools).returns.toEqualTypeOf<OpenAI.Responses.FunctionTool[]>();
    expectTypeOf(toFunctionCallOutput).returns.toEqualTypeOf<OpenAI.Responses.ResponseInputItem.FunctionCallOutput>();
    expectTypeOf<OpenAI.Responses.Response['output']>().toExtend<Parameters<typeof session.callResponsesTools>[0]>();
    expectTypeOf<OpenAI.Responses.ResponseInputItem[]>().toExtend<Parameters<typeof session.callResponsesTools>[0]>();

    expect(tools).toHaveLength(2);
    expect(params.tools).toBe(session.responsesTools);
    expect(outputs).toHaveLength(1);
  });

  it('types the withProviderSession callback as the OpenAI session', () => {
    // Never run: this only makes tsc check the README's call shape against the SDK's signature.
    const readmeShape = (gatehouse: Gatehouse, githubAuthConfigId: string): Promise<void> =>
      gatehouse.withProviderSession(
        gatehouseOpenAI,
        { providers: [{ providerDeploymentId: 'pde_github', providerAuthConfigId: githubAuthConfigId }, { providerDeploymentId: 'pde_exa' }] },
        async (session) => {
          expectTypeOf(session).toEqualTypeOf<OpenAIProviderSession>();
        },
      );
    expect(typeof readmeShape).toBe('function');
  });
});

describe('gatehouseOpenAI', () => {
  it('converts the session tools for both APIs and keeps the provider session', async () => {
    const providerSession = inMemoryProviderSession([createIssue, webSearch]);
    const session = await gatehouseOpenAI.createSession(providerSession);
    expect(session.providerSession).toBe(providerSession);
    expect(session.tools).toEqual([
      { type: 'function', function: { name: 'github__create_issue', description: 'create_issue on github', parameters: createIssue.inputSchema } },
      { type: 'function', function: { name: 'exa__web_search', description: 'web_search on exa', parameters: webSearch.inputSchema } },
    ]);
    expect(session.responsesTools.map((tool) => [tool.name, tool.strict])).toEqual([
      ['github__create_issue', false],
      ['exa__web_search', false],
    ]);
  });

  it('tells which providers could not be listed, next to the tools of those that could', async () => {
    const down = { providerId: 'slack', providerDeploymentId: 'pde_slack', error: { code: 'tool_server_unavailable', message: 'The slack tool server could not be reached.' } };
    const session = await gatehouseOpenAI.createSession(inMemoryProviderSession([createIssue], undefined, [down]));
    expect(session.tools.map((tool) => tool.function.name)).toEqual(['github__create_issue']);
    expect(session.unavailable).toEqual([down]);
    expect((await gatehouseOpenAI.createSession(inMemoryProviderSession([createIssue]))).unavailable).toEqual([]);
  });

  it('runs every tool call with its parsed arguments and answers each with a tool message, in order', async () => {
    const { session, calls } = await openAISession((name, args) =>
      toolCall({ toolName: name, content: [{ type: 'text', text: `${name} got ${JSON.stringify(args)}` }] }),
    );
    const messages = await session.callTools([
      functionCall('call_search', 'exa__web_search', { query: 'gatehouse' }),
      functionCall('call_issue', 'github__create_issue', { owner: 'acme', repo: 'app', title: 'Bug', user_id: 'u_1' }),
    ]);
    expect(calls).toEqual([
      { name: 'exa__web_search', args: { query: 'gatehouse' } },
      { name: 'github__create_issue', args: { owner: 'acme', repo: 'app', title: 'Bug', user_id: 'u_1' } },
    ]);
    expect(messages).toEqual([
      { role: 'tool', tool_call_id: 'call_search', content: 'exa__web_search got {"query":"gatehouse"}' },
      { role: 'tool', tool_call_id: 'call_issue', content: 'github__create_issue got {"owner":"acme","repo":"app","title":"Bug","user_id":"u_1"}' },
    ]);
  });

  it('runs the calls in parallel and keeps the order of the tool calls', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const delays: Record<string, number> = { call_slow: 60, call_medium: 30, call_fast: 0 };
    const { session } = await openAISession(async (name, args) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delays[String(args?.id)] ?? 0));
      inFlight -= 1;
      return toolCall({ toolName: name, content: [{ type: 'text', text: String(args?.id) }] });
    });
    const ids = ['call_slow', 'call_medium', 'call_fast'];
    const messages = await session.callTools(ids.map((id) => functionCall(id, 'exa__web_search', { id })));
    expect(maxInFlight).toBe(3);
    expect(messages.map((message) => [message.tool_call_id, message.content])).toEqual(ids.map((id) => [id, id]));
  });

  it('answers an unknown tool, a custom tool call and bad arguments with error messages and no call', async () => {
    const { session, calls } = await openAISession();
    const custom: OpenAI.ChatCompletionMessageCustomToolCall = { id: 'call_custom', type: 'custom', custom: { name: 'grammar_tool', input: 'x' } };
    const messages = await session.callTools([
      functionCall('call_ghost', 'github__delete_repo', { repo: 'app' }),
      custom,
      functionCall('call_broken', 'exa__web_search', '{"query": "x"'),
      functionCall('call_array', 'exa__web_search', '["x"]'),
      functionCall('call_ok', 'exa__web_search', ''),
    ]);
    expect(calls).toEqual([{ name: 'exa__web_search', args: {} }]);
    expect(messages.map((message) => message.tool_call_id)).toEqual(['call_ghost', 'call_custom', 'call_broken', 'call_array', 'call_ok']);
    const contents = messages.map((message) => String(message.content));
    expect(contents[0]).toBe('Error: Tool "github__delete_repo" is not available in this session; use only the tools you were given.');
    expect(contents[1]).toContain('Error: Tool "grammar_tool" is not a function tool of this session');
    expect(contents[2]).toContain('Error: The arguments of tool "exa__web_search" are not valid JSON');
    expect(contents[3]).toBe('Error: The arguments of tool "exa__web_search" must be a JSON object.');
    expect(contents[4]).toBe('ok');
  });

  it('turns a thrown error (network, 5xx) into an error message with a short text, never a rejection', async () => {
    const { session } = await openAISession((name) => {
      if (name === 'exa__web_search') throw new Error(`503 service_unavailable: ${'busy '.repeat(200)}`);
      return toolCall();
    });
    const [failed, succeeded] = await session.callTools([
      functionCall('call_1', 'exa__web_search', { query: 'x' }),
      functionCall('call_2', 'github__create_issue', { owner: 'a', repo: 'b', title: 'c' }),
    ]);
    expect(String(failed?.content)).toMatch(/^Error: Gatehouse could not run tool "exa__web_search": 503 service_unavailable: busy/);
    expect(String(failed?.content).length).toBeLessThan(450);
    expect(succeeded).toEqual({ role: 'tool', tool_call_id: 'call_2', content: 'ok' });

    const rejecting = await openAISession(() => Promise.reject('not even an Error'));
    const [result] = await rejecting.session.callTools([functionCall('call_3', 'exa__web_search', {})]);
    expect(String(result?.content)).toContain('not even an Error');
  });

  it('answers a failed call with the error code, the message and what to do', async () => {
    const failedCall: ToolCall = toolCall({
      status: 'failed',
      isError: true,
      content: [],
      error: { code: 'reauthorization_required', message: 'GitHub rejected the refresh token.' },
    });
    const { session } = await openAISession(() => failedCall);
    expect(await session.callTools([functionCall('call_1', 'github__create_issue', { owner: 'a', repo: 'b', title: 'c' })])).toEqual([
      {
        role: 'tool',
        tool_call_id: 'call_1',
        content:
          'Error: Tool call failed (reauthorization_required): GitHub rejected the refresh token. ' +
          'The user must re-authorize github; ask the app to start a new setup session for this auth config.',
      },
    ]);
  });

  it('answers missing tool_calls with no messages', async () => {
    const { session, calls } = await openAISession();
    expect(await session.callTools(undefined)).toEqual([]);
    expect(await session.callTools(null)).toEqual([]);
    expect(await session.callTools([])).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('runs the function_call items of a Responses output, skipping messages and reasoning', async () => {
    const { session, calls } = await openAISession((name) =>
      name === 'exa__web_search' ? toolCall({ content: [{ type: 'text', text: 'found 3' }] }) : toolCall({ isError: true, content: [{ type: 'text', text: 'no repo' }] }),
    );
    const output: OpenAI.Responses.ResponseOutputItem[] = [
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Looking.', annotations: [] }] },
      responsesCall('call_a', 'exa__web_search', { query: 'gatehouse' }),
      responsesCall('call_b', 'github__create_issue', { owner: 'a', repo: 'b', title: 'c' }),
      responsesCall('call_c', 'github__delete_repo', {}),
    ];
    const outputs = await session.callResponsesTools(output);
    expect(calls.map((call) => call.name)).toEqual(['exa__web_search', 'github__create_issue']);
    expect(calls[0]?.args).toEqual({ query: 'gatehouse' });
    expect(outputs).toEqual([
      { type: 'function_call_output', call_id: 'call_a', output: 'found 3' },
      { type: 'function_call_output', call_id: 'call_b', output: 'Error: no repo' },
      { type: 'function_call_output', call_id: 'call_c', output: expect.stringContaining('Error: Tool "github__delete_repo" is not available') },
    ]);
    expect(await session.callResponsesTools(undefined as unknown as OpenAI.Responses.ResponseOutputItem[])).toEqual([]);
  });
});
