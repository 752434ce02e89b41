import { describe, expect, it } from 'vitest';
import { camelToSnakeKey, fromWireCase, snakeToCamelKey, toWireCase } from './case.js';

describe('case conversion', () => {
  it('converts keys both ways', () => {
    expect(camelToSnakeKey('providerAuthMethodId')).toBe('provider_auth_method_id');
    expect(snakeToCamelKey('provider_auth_method_id')).toBe('providerAuthMethodId');
    expect(snakeToCamelKey('next_cursor')).toBe('nextCursor');
    expect(camelToSnakeKey('id')).toBe('id');
  });

  it('converts nested objects and arrays to the wire form, leaving metadata contents untouched', () => {
    const wire = toWireCase({
      providerId: 'slack',
      authMethods: [{ id: 'oauth', authorizationUrl: 'https://a', revocationUrl: null, scopes: ['a:b'] }],
      mcpServer: { url: 'https://m' },
      metadata: { userId: 'u_1', plan_tier: 'pro', nestedThing: { innerKey: 'x' } },
      skipped: undefined,
    });
    expect(wire).toEqual({
      provider_id: 'slack',
      auth_methods: [{ id: 'oauth', authorization_url: 'https://a', revocation_url: null, scopes: ['a:b'] }],
      mcp_server: { url: 'https://m' },
      metadata: { userId: 'u_1', plan_tier: 'pro', nestedThing: { innerKey: 'x' } },
    });
  });

  it('converts wire JSON to camelCase, leaving metadata contents untouched at any depth', () => {
    const sdk = fromWireCase({
      data: [
        {
          provider_auth_method_id: 'oauth',
          metadata: { user_id: 'u_1', camelKey: 'y' },
          auth_config: { access_token_expires_at: null, metadata: { team_id: 'T1' } },
        },
      ],
      next_cursor: null,
    });
    expect(sdk).toEqual({
      data: [
        {
          providerAuthMethodId: 'oauth',
          metadata: { user_id: 'u_1', camelKey: 'y' },
          authConfig: { accessTokenExpiresAt: null, metadata: { team_id: 'T1' } },
        },
      ],
      nextCursor: null,
    });
  });

  it('round-trips metadata keys of every style', () => {
    const metadata = { user_id: '1', userId: '2', 'with-dash': '3', UPPER: '4' };
    expect((fromWireCase(toWireCase({ metadata })) as { metadata: unknown }).metadata).toEqual(metadata);
  });

  it('keeps tool schemas, arguments, annotations and MCP content exactly as they are, converting only the keys that hold them', () => {
    const wire = {
      data: [
        {
          tool_name: 'github__get_user',
          input_schema: { type: 'object', properties: { user_id: { type: 'string' } }, required: ['user_id'] },
          annotations: { readOnlyHint: true, custom_hint: 1 },
          content: [
            { type: 'image', data: 'AAAA', mimeType: 'image/png', _meta: { trace_id: 't' } },
            { type: 'resource', resource: { uri: 'file:///x', mimeType: 'text/plain', text: 'hi' } },
          ],
          structured_content: { total_count: 1 },
          is_error: false,
        },
      ],
    };
    const sdk = fromWireCase(wire);
    expect(sdk).toEqual({
      data: [
        {
          toolName: 'github__get_user',
          inputSchema: wire.data[0]?.input_schema,
          annotations: wire.data[0]?.annotations,
          content: wire.data[0]?.content,
          structuredContent: wire.data[0]?.structured_content,
          isError: false,
        },
      ],
    });
    expect(toWireCase(sdk)).toEqual(wire);
    expect(toWireCase({ name: 't', arguments: { user_id: 'u', repoName: 'r', nested_thing: { innerKey: 1 } } })).toEqual({
      name: 't',
      arguments: { user_id: 'u', repoName: 'r', nested_thing: { innerKey: 1 } },
    });
  });
});
