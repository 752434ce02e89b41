import type Anthropic from '@anthropic-ai/sdk';
import type { Gatehouse, ProviderSessionAdapter, ToolCall } from '@gatehouse/sdk';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { inMemoryProviderSession, sessionTool, toolCall } from '../../../test/support/in-memory-provider-session.js';
import { gatehouseAnthropic, type AnthropicProviderSession, type AnthropicToolResultMessage } from './anthropic-adapter.js';
import { errorResultBlock, toToolResultBlock } from './anthropic-convert-results.js';
import { toAnthropicTools } from './anthropic-convert-tools.js';

const createIssue = sessionTool('github', 'create_issue', {
  inputSchema: {
    type: 'object',
    properties: { owner: { type: 'string' }, repo: { type: 'string' }, title: { type: 'string' }, user_id: { type: 'string' } },
    required: ['owner', 'repo', 'title'],
  },
  annotations: { destructiveHint: false },
});
const webSearch = sessionTool('exa', 'web_search', { inputSchema: { type: 'object', properties: { query: { type: 'string' } } } });

function toolUseBlock(id: string, name: string, input: unknown): Anthropic.ToolUseBlock {
  return { type: 'tool_use', id, name, input, caller: { type: 'direct' } };
}

async function anthropicSession(
  run?: Parameters<typeof inMemoryProviderSession>[1],
): Promise<{ session: AnthropicProviderSession; calls: ReturnType<typeof inMemoryProviderSession>['calls'] }> {
  const providerSession = inMemoryProviderSession([createIssue, webSearch], run);
  const session = await gatehouseAnthropic.createSession(providerSession);
  return { session, calls: providerSession.calls };
}

describe('types: the outputs are what the real @anthropic-ai/sdk accepts', () => {
  it('gives tools that go straight into messages.create, and a message that goes straight onto messages', async () => {
    const { session } = await anthropicSession();
    // Assignments, checked by tsc against the installed SDK's own types.
    const tools: Anthropic.Tool[] = session.tools;
    const toolUnion: Anthropic.ToolUnion[] = session.tools;
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Open an issue.' }];
    const params: Anthropic.MessageCreateParamsNonStreaming = { model: 'claude-sonnet-4-5', max_tokens: 1024, tools: session.tools, messages };
    const content: Anthropic.ContentBlock[] = [
      { type: 'text', text: 'Opening it.', citations: null },
      toolUseBlock('toolu_1', 'github__create_issue', { owner: 'acme', repo: 'app', title: 'Crash' }),
    ];
    const answer = await session.callTools(content);
    const asMessage: Anthropic.MessageParam = answer;
    messages.push(await session.callTools(content));
    const blocks: Anthropic.ContentBlockParam[] = answer.content;

    expectTypeOf(answer).toEqualTypeOf<AnthropicToolResultMessage>();
    expectTypeOf(answer.content).toEqualTypeOf<Anthropic.ToolResultBlockParam[]>();
    expectTypeOf(session.tools).toEqualTypeOf<Anthropic.Tool[]>();
    expectTypeOf(gatehouseAnthropic).toEqualTypeOf<ProviderSessionAdapter<AnthropicProviderSession>>();
    expectTypeOf(toAnthropicTools).returns.toEqualTypeOf<Anthropic.Tool[]>();
    expectTypeOf(toToolResultBlock).returns.toEqualTypeOf<Anthropic.ToolResultBlockParam>();
    expectTypeOf(errorResultBlock).returns.toEqualTypeOf<Anthropic.ToolResultBlockParam>();

    expect(tools).toHaveLength(2);
    expect(toolUnion).toBe(tools);
    expect(params.tools).toBe(session.tools);
    expect(asMessage.role).toBe('user');
    expect(blocks).toHaveLength(1);
    expect(messages).toHaveLength(2);
  });

  it('accepts every shape a tool_use list comes in', async () => {
    const { session } = await anthropicSession();
    const fromResponse: Anthropic.Message['content'] = [toolUseBlock('toolu_1', 'exa__web_search', { query: 'x' })];
    const toolUseBlocks: Anthropic.ToolUseBlock[] = [toolUseBlock('toolu_2', 'exa__web_search', { query: 'y' })];
    const toolUseParams: Anthropic.ToolUseBlockParam[] = [{ type: 'tool_use', id: 'toolu_3', name: 'exa__web_search', input: {} }];
    const assistantParams: Anthropic.ContentBlockParam[] = [{ type: 'text', text: 'hm' }, ...toolUseParams];
    for (const input of [fromResponse, toolUseBlocks, toolUseParams, assistantParams]) {
      expect((await session.callTools(input)).content).toHaveLength(1);
    }
  });

  it('types the withProviderSession callback as the Anthropic session', () => {
    // Never run: this only makes tsc check the seed's call shape against the SDK's signature.
    const seedShape = (gatehouse: Gatehouse, githubAuthConfigId: string): Promise<void> =>
      gatehouse.withProviderSession(
        gatehouseAnthropic,
        {
          providers: [
            { providerDeploymentId: 'pde_github', providerAuthConfigId: githubAuthConfigId },
            { providerDeploymentId: 'pde_exa' },
          ],
        },
        async (session) => {
          expectTypeOf(session).toEqualTypeOf<AnthropicProviderSession>();
          expectTypeOf<Anthropic.Message['content']>().toExtend<Parameters<typeof session.callTools>[0]>();
          expectTypeOf<Array<Anthropic.ToolUseBlock | Anthropic.ToolUseBlockParam>>().toExtend<Parameters<typeof session.callTools>[0]>();
        },
      );
    expect(typeof seedShape).toBe('function');
  });
});

describe('gatehouseAnthropic', () => {
  it('converts the session tools and keeps the provider session', async () => {
    const providerSession = inMemoryProviderSession([createIssue, webSearch]);
    const session = await gatehouseAnthropic.createSession(providerSession);
    expect(session.providerSession).toBe(providerSession);
    expect(session.tools).toEqual([
      {
        name: 'github__create_issue',
        description: 'create_issue on github',
        input_schema: createIssue.inputSchema,
      },
      { name: 'exa__web_search', description: 'web_search on exa', input_schema: webSearch.inputSchema },
    ]);
  });

  it('tells which providers could not be listed, next to Anthropic tools of those that could', async () => {
    const down = { providerId: 'slack', providerDeploymentId: 'pde_slack', error: { code: 'tool_server_unavailable', message: 'The slack tool server could not be reached.' } };
    const session = await gatehouseAnthropic.createSession(inMemoryProviderSession([createIssue], undefined, [down]));
    const tools: Anthropic.Tool[] = session.tools;
    expect(tools.map((tool) => tool.name)).toEqual(['github__create_issue']);
    expect(session.unavailable).toEqual([down]);
    expect((await gatehouseAnthropic.createSession(inMemoryProviderSession([createIssue]))).unavailable).toEqual([]);
  });

  it('runs the tool_use blocks of a whole response, skipping text and thinking, with the input as arguments', async () => {
    const { session, calls } = await anthropicSession((name, args) =>
      toolCall({ toolName: name, content: [{ type: 'text', text: `${name} got ${JSON.stringify(args)}` }] }),
    );
    const response: Anthropic.ContentBlock[] = [
      { type: 'thinking', thinking: 'I should search.', signature: 'sig' },
      { type: 'text', text: 'Let me look.', citations: null },
      toolUseBlock('toolu_search', 'exa__web_search', { query: 'gatehouse' }),
      { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'x' }, caller: { type: 'direct' } },
      toolUseBlock('toolu_issue', 'github__create_issue', { owner: 'acme', repo: 'app', title: 'Bug', user_id: 'u_1' }),
    ];
    const message = await session.callTools(response);
    expect(calls).toEqual([
      { name: 'exa__web_search', args: { query: 'gatehouse' } },
      { name: 'github__create_issue', args: { owner: 'acme', repo: 'app', title: 'Bug', user_id: 'u_1' } },
    ]);
    expect(message).toEqual({
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 'toolu_search',
          is_error: false,
          content: [{ type: 'text', text: 'exa__web_search got {"query":"gatehouse"}' }],
        },
        {
          type: 'tool_result',
          tool_use_id: 'toolu_issue',
          is_error: false,
          content: [{ type: 'text', text: 'github__create_issue got {"owner":"acme","repo":"app","title":"Bug","user_id":"u_1"}' }],
        },
      ],
    });
  });

  it('runs the calls in parallel and keeps the order of the tool_use blocks', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const delays: Record<string, number> = { toolu_slow: 60, toolu_medium: 30, toolu_fast: 0 };
    const { session } = await anthropicSession(async (name, args) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delays[String(args?.id)] ?? 0));
      inFlight -= 1;
      return toolCall({ toolName: name, content: [{ type: 'text', text: String(args?.id) }] });
    });
    const ids = ['toolu_slow', 'toolu_medium', 'toolu_fast'];
    const message = await session.callTools(ids.map((id) => toolUseBlock(id, 'exa__web_search', { id })));
    expect(maxInFlight).toBe(3);
    expect(message.content.map((block) => block.tool_use_id)).toEqual(ids);
    expect(message.content.map((block) => (block.content as Anthropic.TextBlockParam[])[0]?.text)).toEqual(ids);
  });

  it('answers an unknown tool with an error result and no call', async () => {
    const { session, calls } = await anthropicSession();
    const message = await session.callTools([
      toolUseBlock('toolu_1', 'github__delete_repo', { repo: 'app' }),
      toolUseBlock('toolu_2', 'exa__web_search', { query: 'x' }),
    ]);
    expect(calls.map((call) => call.name)).toEqual(['exa__web_search']);
    expect(message.content[0]).toEqual({
      type: 'tool_result',
      tool_use_id: 'toolu_1',
      is_error: true,
      content: [{ type: 'text', text: expect.stringContaining('"github__delete_repo" is not available in this session') }],
    });
    expect(message.content[1]?.is_error).toBe(false);
  });

  it('turns a thrown error (network, 5xx) into an error result with a short message, never a rejection', async () => {
    const { session } = await anthropicSession((name) => {
      if (name === 'exa__web_search') throw new Error(`503 service_unavailable: ${'busy '.repeat(200)}`);
      return toolCall();
    });
    const message = await session.callTools([
      toolUseBlock('toolu_1', 'exa__web_search', { query: 'x' }),
      toolUseBlock('toolu_2', 'github__create_issue', { owner: 'a', repo: 'b', title: 'c' }),
    ]);
    const [failed, succeeded] = message.content;
    expect(failed).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true });
    const text = (failed?.content as Anthropic.TextBlockParam[])[0]?.text ?? '';
    expect(text).toContain('Gatehouse could not run tool "exa__web_search": 503 service_unavailable: busy');
    expect(text.length).toBeLessThan(450);
    expect(succeeded).toMatchObject({ tool_use_id: 'toolu_2', is_error: false });

    const rejecting = await anthropicSession(() => Promise.reject('not even an Error'));
    const [result] = (await rejecting.session.callTools([toolUseBlock('toolu_3', 'exa__web_search', {})])).content;
    expect(result).toMatchObject({ is_error: true, content: [{ type: 'text', text: expect.stringContaining('not even an Error') }] });
  });

  it('answers a failed call with the error code, the message and what to do', async () => {
    const failedCall: ToolCall = toolCall({
      status: 'failed',
      isError: true,
      content: [],
      error: { code: 'reauthorization_required', message: 'GitHub rejected the refresh token.' },
    });
    const { session } = await anthropicSession(() => failedCall);
    const message = await session.callTools([toolUseBlock('toolu_1', 'github__create_issue', { owner: 'a', repo: 'b', title: 'c' })]);
    expect(message.content).toEqual([
      {
        type: 'tool_result',
        tool_use_id: 'toolu_1',
        is_error: true,
        content: [
          {
            type: 'text',
            text:
              'Tool call failed (reauthorization_required): GitHub rejected the refresh token. ' +
              'The user must re-authorize github; ask the app to start a new setup session for this auth config.',
          },
        ],
      },
    ]);
  });

  it('maps image results to Anthropic image blocks', async () => {
    const { session } = await anthropicSession(() =>
      toolCall({
        content: [
          { type: 'text', text: 'Here is the chart:' },
          { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
        ],
      }),
    );
    const message = await session.callTools([toolUseBlock('toolu_1', 'exa__web_search', {})]);
    expect(message.content[0]?.content).toEqual([
      { type: 'text', text: 'Here is the chart:' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
    ]);
  });

  it('answers an input that is not an object with an error result, and a missing input as {}', async () => {
    const { session, calls } = await anthropicSession();
    const message = await session.callTools([
      toolUseBlock('toolu_1', 'exa__web_search', 'query=x'),
      toolUseBlock('toolu_2', 'exa__web_search', null),
    ]);
    expect(message.content[0]).toMatchObject({ is_error: true });
    expect(calls).toEqual([{ name: 'exa__web_search', args: {} }]);
  });

  it('answers no tool_use blocks with an empty user message, and tolerates a non-array', async () => {
    const { session, calls } = await anthropicSession();
    expect(await session.callTools([{ type: 'text', text: 'Done.', citations: null }])).toEqual({ role: 'user', content: [] });
    expect(await session.callTools(undefined as unknown as Anthropic.ContentBlock[])).toEqual({ role: 'user', content: [] });
    expect(calls).toEqual([]);
  });
});
