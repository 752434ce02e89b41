import type OpenAI from 'openai';
import type { McpContentBlock } from '@gatehouse/sdk';
import { describe, expect, it } from 'vitest';
import { toolCall } from '../../../test/support/in-memory-provider-session.js';
import {
  errorFunctionCallOutput,
  errorToolMessage,
  TOOL_ERROR_PREFIX,
  toFunctionCallOutput,
  toolCallErrorText,
  toolCallOutputText,
  toToolMessage,
  toToolOutputText,
} from './openai-convert-results.js';

describe('toToolOutputText', () => {
  it('joins texts and text resources by newlines, dropping empty texts', () => {
    const content: McpContentBlock[] = [
      { type: 'text', text: 'hello' },
      { type: 'text', text: '' },
      { type: 'resource', resource: { uri: 'file:///notes.md', mimeType: 'text/markdown', text: '# Notes' } },
      { type: 'text', text: 'bye' },
    ];
    expect(toToolOutputText(content)).toBe('hello\n# Notes\nbye');
  });

  it('names images and audio in a short note, since tool outputs carry text only', () => {
    const text = toToolOutputText([
      { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
      { type: 'audio', data: 'UklGR', mimeType: 'audio/wav' },
    ]);
    expect(text.split('\n')).toEqual([
      '[An image of type image/png omitted: tool outputs carry text only.]',
      '[Audio of type audio/wav omitted: tool outputs carry text only.]',
    ]);
    expect(text).not.toContain('iVBORw0KGgo=');
  });

  it('shows anything else as JSON with long base64 elided', () => {
    const content = [
      { type: 'resource', resource: { uri: 'file:///a.zip', mimeType: 'application/zip', blob: 'B'.repeat(1000) } },
      { type: 'resource_link', uri: 'file:///big.csv', name: 'big.csv', mimeType: 'text/csv' },
      { type: 'hologram', frames: 3 },
    ] as unknown as McpContentBlock[];
    expect(toToolOutputText(content).split('\n')).toEqual([
      JSON.stringify({ type: 'resource', resource: { uri: 'file:///a.zip', mimeType: 'application/zip', blob: '[1000 base64 characters omitted]' } }),
      JSON.stringify(content[1]),
      '{"type":"hologram","frames":3}',
    ]);
  });

  it('gives an empty string for no content, and tolerates a non-array', () => {
    expect(toToolOutputText([])).toBe('');
    expect(toToolOutputText(null as unknown as McpContentBlock[])).toBe('');
  });
});

describe('toolCallOutputText', () => {
  it('is the content of a successful call, never empty', () => {
    expect(toolCallOutputText(toolCall({ content: [{ type: 'text', text: 'created #12' }] }))).toBe('created #12');
    expect(toolCallOutputText(toolCall({ content: [], structuredContent: { open_issues: 3 } }))).toBe('{"open_issues":3}');
    expect(toolCallOutputText(toolCall({ content: [{ type: 'text', text: '' }] }))).toBe('The tool returned no content.');
  });

  it('starts a failed call with the error prefix, then its own content', () => {
    expect(TOOL_ERROR_PREFIX).toBe('Error: ');
    expect(toolCallOutputText(toolCall({ isError: true, content: [{ type: 'text', text: 'Repository not found' }] }))).toBe('Error: Repository not found');
    const withCode = toolCall({ status: 'failed', isError: true, content: [{ type: 'text', text: 'rate limited' }], error: { code: 'tool_server_error', message: 'x' } });
    expect(toolCallOutputText(withCode)).toBe('Error: rate limited');
    expect(toolCallOutputText(toolCall({ isError: true, content: [] }))).toContain('Error: The tool github__create_issue reported an error without details.');
  });

  it.each([
    ['reauthorization_required', 'The user must re-authorize github; ask the app to start a new setup session for this auth config.'],
    ['tool_timeout', 'The action may or may not have happened'],
    ['tool_server_unavailable', 'could not be reached'],
    ['tool_result_too_large', 'narrow the query'],
    ['unknown_tool', 'use only the tools you were given'],
    ['tool_server_error', 'tool server failed'],
    ['tool_forbidden', 'do not repeat it'],
    ['token_refresh_failed', 'could not be renewed right now'],
    ['cancelled', 'cancelled before it finished'],
  ])('explains a failed %s call without content: code, message and what to do', (code, guidance) => {
    const text = toolCallOutputText(toolCall({ status: 'failed', isError: true, content: [], error: { code, message: 'Upstream said no' } }));
    expect(text.startsWith(`Error: Tool call failed (${code}): Upstream said no.`)).toBe(true);
    expect(text).toContain(guidance);
  });

  it('names an unknown code with its message', () => {
    const unknownCode = toolCall({ status: 'failed', isError: true, content: [], error: { code: 'quota_exceeded', message: 'Monthly quota used up!' } });
    expect(toolCallErrorText(unknownCode)).toBe('Tool call failed (quota_exceeded): Monthly quota used up!');
  });
});

describe('the tool message and function_call_output shapes', () => {
  it('answers the tool call id with the output text', () => {
    const message: OpenAI.ChatCompletionMessageParam = toToolMessage('call_1', toolCall({ content: [{ type: 'text', text: 'created #12' }] }));
    expect(message).toEqual({ role: 'tool', tool_call_id: 'call_1', content: 'created #12' });
    const item: OpenAI.Responses.ResponseInputItem = toFunctionCallOutput('call_2', toolCall({ isError: true, content: [{ type: 'text', text: 'nope' }] }));
    expect(item).toEqual({ type: 'function_call_output', call_id: 'call_2', output: 'Error: nope' });
  });

  it('answers a call that could not be made with the prefixed message, never empty', () => {
    expect(errorToolMessage('call_9', 'boom')).toEqual({ role: 'tool', tool_call_id: 'call_9', content: 'Error: boom' });
    expect(errorToolMessage('call_9', '').content).toBe('Error: The tool call failed.');
    expect(errorFunctionCallOutput('call_8', 'boom')).toEqual({ type: 'function_call_output', call_id: 'call_8', output: 'Error: boom' });
  });
});
