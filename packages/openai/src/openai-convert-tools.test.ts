import type OpenAI from 'openai';
import type { SessionTool } from '@gatehouse/sdk';
import { describe, expect, it } from 'vitest';
import { sessionTool } from '../../../test/support/in-memory-provider-session.js';
import { toChatCompletionTools, toResponsesTools } from './openai-convert-tools.js';

describe('toChatCompletionTools', () => {
  it('keeps name, description and the schema exactly, property names included', () => {
    const schema = {
      type: 'object' as const,
      properties: { user_id: { type: 'string', description: 'The user' }, includeRepos: { type: 'boolean' } },
      required: ['user_id'],
      additionalProperties: false,
      $defs: { page_info: { type: 'object' } },
    };
    const tools: OpenAI.ChatCompletionTool[] = toChatCompletionTools([sessionTool('github', 'get_user', { description: 'Gets a user.', inputSchema: schema })]);
    expect(tools).toEqual([{ type: 'function', function: { name: 'github__get_user', description: 'Gets a user.', parameters: schema } }]);
  });

  it("always sets parameters.type to 'object' and adds properties when missing (OpenAI refuses an object schema without them)", () => {
    const tools = [
      sessionTool('acme', 'no_args', { inputSchema: { type: 'object' } }),
      sessionTool('acme', 'no_type', { inputSchema: { properties: { a: { type: 'string' } } } as unknown as SessionTool['inputSchema'] }),
      sessionTool('acme', 'null_schema', { inputSchema: null as unknown as SessionTool['inputSchema'] }),
      sessionTool('acme', 'string_type', { inputSchema: { type: 'string' } as unknown as SessionTool['inputSchema'] }),
    ];
    expect(toChatCompletionTools(tools).map((tool) => tool.function.parameters)).toEqual([
      { type: 'object', properties: {} },
      { type: 'object', properties: { a: { type: 'string' } } },
      { type: 'object', properties: {} },
      { type: 'object', properties: {} },
    ]);
  });

  it('leaves out a missing or empty description and strict, and does not touch its input', () => {
    const tools = [sessionTool('exa', 'search', { description: null }), sessionTool('exa', 'find', { description: '' })];
    const before = structuredClone(tools);
    const converted = toChatCompletionTools(tools);
    expect(converted.map((tool) => 'description' in tool.function || 'strict' in tool.function)).toEqual([false, false]);
    expect(tools).toEqual(before);
    expect(converted[0]?.function.parameters).not.toBe(tools[0]?.inputSchema);
  });

  it('keeps the order of the tools', () => {
    const names = ['slack__post', 'github__create_issue', 'exa__search'];
    const tools = toChatCompletionTools(names.map((name) => ({ ...sessionTool('x', 'y'), name })));
    expect(tools.map((tool) => tool.function.name)).toEqual(names);
  });
});

describe('toResponsesTools', () => {
  it('gives flat function tools with the same names, descriptions and schemas, strict off', () => {
    const schema = { type: 'object' as const, properties: { query: { type: 'string' } }, required: ['query'] };
    const tools: OpenAI.Responses.Tool[] = toResponsesTools([
      sessionTool('exa', 'web_search', { description: 'Searches the web.', inputSchema: schema }),
      sessionTool('github', 'whoami', { description: null, inputSchema: { type: 'object' } }),
    ]);
    expect(tools).toEqual([
      { type: 'function', name: 'exa__web_search', description: 'Searches the web.', parameters: schema, strict: false },
      { type: 'function', name: 'github__whoami', parameters: { type: 'object', properties: {} }, strict: false },
    ]);
  });
});
