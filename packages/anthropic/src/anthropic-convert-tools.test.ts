import type Anthropic from '@anthropic-ai/sdk';
import type { SessionTool } from '@gatehouse/sdk';
import { describe, expect, it } from 'vitest';
import { sessionTool } from '../../../test/support/in-memory-provider-session.js';
import { toAnthropicTools } from './anthropic-convert-tools.js';

describe('toAnthropicTools', () => {
  it('keeps name, description and the schema exactly, property names included', () => {
    const schema = {
      type: 'object' as const,
      properties: { user_id: { type: 'string', description: 'The user' }, includeRepos: { type: 'boolean' } },
      required: ['user_id'],
      additionalProperties: false,
      $defs: { page_info: { type: 'object' } },
    };
    const tools: Anthropic.Tool[] = toAnthropicTools([sessionTool('github', 'get_user', { description: 'Gets a user.', inputSchema: schema })]);
    expect(tools).toEqual([{ name: 'github__get_user', description: 'Gets a user.', input_schema: schema }]);
  });

  it("always sets input_schema.type to 'object', even for a non-conforming server", () => {
    const broken = [
      sessionTool('acme', 'no_type', { inputSchema: { properties: { a: { type: 'string' } } } as unknown as SessionTool['inputSchema'] }),
      sessionTool('acme', 'null_schema', { inputSchema: null as unknown as SessionTool['inputSchema'] }),
      sessionTool('acme', 'string_type', { inputSchema: { type: 'string' } as unknown as SessionTool['inputSchema'] }),
    ];
    expect(toAnthropicTools(broken).map((tool) => tool.input_schema)).toEqual([
      { type: 'object', properties: { a: { type: 'string' } } },
      { type: 'object' },
      { type: 'object' },
    ]);
  });

  it('leaves out a missing or empty description, and does not touch its input', () => {
    const tools = [sessionTool('exa', 'search', { description: null }), sessionTool('exa', 'find', { description: '' })];
    const before = structuredClone(tools);
    const converted = toAnthropicTools(tools);
    expect(converted.map((tool) => 'description' in tool)).toEqual([false, false]);
    expect(tools).toEqual(before);
    expect(converted[0]?.input_schema).not.toBe(tools[0]?.inputSchema);
  });

  it('keeps the order of the tools', () => {
    const names = ['slack__post', 'github__create_issue', 'exa__search'];
    expect(toAnthropicTools(names.map((name) => ({ ...sessionTool('x', 'y'), name }))).map((tool) => tool.name)).toEqual(names);
  });
});
