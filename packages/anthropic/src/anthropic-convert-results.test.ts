import type Anthropic from '@anthropic-ai/sdk';
import type { McpContentBlock } from '@gatehouse/sdk';
import { describe, expect, it } from 'vitest';
import { toolCall } from '../../../test/support/in-memory-provider-session.js';
import {
  errorResultBlock,
  MAX_IMAGE_BASE64_LENGTH,
  toAnthropicImageMediaType,
  toolCallErrorText,
  toToolResultBlock,
  toToolResultContent,
} from './anthropic-convert-results.js';

function texts(block: Anthropic.ToolResultBlockParam): string[] {
  return (block.content as Anthropic.TextBlockParam[]).map((item) => item.text);
}

describe('toToolResultContent', () => {
  it('maps text, supported images and text resources; drops empty text', () => {
    const content: McpContentBlock[] = [
      { type: 'text', text: 'hello' },
      { type: 'text', text: '' },
      { type: 'image', data: 'R0lGODlh', mimeType: 'image/gif' },
      { type: 'image', data: '/9j/4AAQ', mimeType: 'image/jpg' },
      { type: 'image', data: 'data:image/webp;base64,UklGRg==', mimeType: 'IMAGE/WEBP; charset=binary' },
      { type: 'resource', resource: { uri: 'file:///notes.md', mimeType: 'text/markdown', text: '# Notes' } },
    ];
    expect(toToolResultContent(content)).toEqual([
      { type: 'text', text: 'hello' },
      { type: 'image', source: { type: 'base64', media_type: 'image/gif', data: 'R0lGODlh' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklGRg==' } },
      { type: 'text', text: '# Notes' },
    ]);
  });

  it('turns images Anthropic cannot take (type, size, no data) and audio into short text notes', () => {
    const content: McpContentBlock[] = [
      { type: 'image', data: 'PHN2Zz4=', mimeType: 'image/svg+xml' },
      { type: 'image', data: 'A'.repeat(MAX_IMAGE_BASE64_LENGTH + 1), mimeType: 'image/png' },
      { type: 'image', data: '', mimeType: 'image/png' },
      { type: 'audio', data: 'UklGR', mimeType: 'audio/wav' },
    ];
    const blocks = toToolResultContent(content);
    expect(blocks.map((block) => block.type)).toEqual(['text', 'text', 'text', 'text']);
    const notes = blocks.map((block) => (block as Anthropic.TextBlockParam).text);
    expect(notes[0]).toContain('image/svg+xml omitted');
    expect(notes[1]).toContain('larger than 5 MB');
    expect(notes[2]).toContain('no data');
    expect(notes[3]).toContain('audio/wav omitted');
    expect(notes.every((note) => note.length < 200)).toBe(true);
  });

  it('maps an image blob resource to an image, and anything else to JSON text with long base64 elided', () => {
    const longBlob = 'B'.repeat(1000);
    const content = [
      { type: 'resource', resource: { uri: 'file:///a.png', mimeType: 'image/png', blob: 'iVBORw0KGgo=' } },
      { type: 'resource', resource: { uri: 'file:///a.zip', mimeType: 'application/zip', blob: longBlob } },
      { type: 'resource_link', uri: 'file:///big.csv', name: 'big.csv', mimeType: 'text/csv' },
      { type: 'hologram', frames: 3 },
    ] as unknown as McpContentBlock[];
    const blocks = toToolResultContent(content);
    expect(blocks[0]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } });
    expect(blocks[1]).toEqual({
      type: 'text',
      text: JSON.stringify({ type: 'resource', resource: { uri: 'file:///a.zip', mimeType: 'application/zip', blob: '[1000 base64 characters omitted]' } }),
    });
    expect(blocks[2]).toEqual({ type: 'text', text: JSON.stringify(content[2]) });
    expect(blocks[3]).toEqual({ type: 'text', text: '{"type":"hologram","frames":3}' });
  });

  it('normalizes media types', () => {
    expect(toAnthropicImageMediaType('image/JPG')).toBe('image/jpeg');
    expect(toAnthropicImageMediaType('image/png;foo=bar')).toBe('image/png');
    expect(toAnthropicImageMediaType('image/bmp')).toBeUndefined();
    expect(toAnthropicImageMediaType(undefined)).toBeUndefined();
  });
});

describe('toToolResultBlock', () => {
  it('answers the tool_use id with the content, and is_error from the call', () => {
    const block: Anthropic.ToolResultBlockParam = toToolResultBlock('toolu_1', toolCall({ content: [{ type: 'text', text: 'created #12' }] }));
    expect(block).toEqual({ type: 'tool_result', tool_use_id: 'toolu_1', is_error: false, content: [{ type: 'text', text: 'created #12' }] });
    const reported = toToolResultBlock('toolu_2', toolCall({ isError: true, content: [{ type: 'text', text: 'Repository not found' }] }));
    expect(reported).toMatchObject({ is_error: true, content: [{ type: 'text', text: 'Repository not found' }] });
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
    const failed = toolCall({ status: 'failed', isError: true, content: [], error: { code, message: 'Upstream said no' } });
    const block = toToolResultBlock('toolu_1', failed);
    expect(block.is_error).toBe(true);
    const [text] = texts(block);
    expect(text).toContain(`(${code})`);
    expect(text).toContain('Upstream said no.');
    expect(text).toContain(guidance);
  });

  it('keeps the content of a failed call that has some, and names an unknown code with its message', () => {
    const withContent = toolCall({ status: 'failed', isError: true, content: [{ type: 'text', text: 'rate limited by GitHub' }], error: { code: 'tool_server_error', message: 'x' } });
    expect(texts(toToolResultBlock('t', withContent))).toEqual(['rate limited by GitHub']);
    const unknownCode = toolCall({ status: 'failed', isError: true, content: [], error: { code: 'quota_exceeded', message: 'Monthly quota used up!' } });
    expect(toolCallErrorText(unknownCode)).toBe('Tool call failed (quota_exceeded): Monthly quota used up!');
    expect(texts(toToolResultBlock('t', toolCall({ isError: true, content: [] })))[0]).toContain('reported an error without details');
  });

  it('is never empty: structured content as JSON, else a note', () => {
    expect(texts(toToolResultBlock('t', toolCall({ content: [], structuredContent: { open_issues: 3 } })))).toEqual(['{"open_issues":3}']);
    expect(texts(toToolResultBlock('t', toolCall({ content: [{ type: 'text', text: '' }] })))).toEqual(['The tool returned no content.']);
  });
});

describe('errorResultBlock', () => {
  it('is an error result with the message as text, never empty', () => {
    expect(errorResultBlock('toolu_9', 'boom')).toEqual({ type: 'tool_result', tool_use_id: 'toolu_9', is_error: true, content: [{ type: 'text', text: 'boom' }] });
    expect(texts(errorResultBlock('toolu_9', ''))).toEqual(['The tool call failed.']);
  });
});
