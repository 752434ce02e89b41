import { describe, expect, it } from 'vitest';
import type { OAuth2AuthMethod } from '../catalog/provider-schema.js';
import { parseRefreshResponse } from './refresh-response.js';

const server = { issuer: 'https://provider.test', token_endpoint: 'https://provider.test/token' };
const client = { client_id: 'client' };
const plain = { id: 'oauth', type: 'oauth2', authorizationUrl: 'https://provider.test/a', tokenUrl: 'https://provider.test/token', scopes: [] } as unknown as OAuth2AuthMethod;
const slack = { ...plain, accessTokenPath: 'authed_user.access_token' } as OAuth2AuthMethod;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('parseRefreshResponse', () => {
  it('reads a Slack user token at the top level or under authed_user, with token_type "user"', async () => {
    const top = { ok: true, access_token: 'xoxe.xoxp-1', token_type: 'user', refresh_token: 'xoxe-1-2', expires_in: 43200 };
    await expect(parseRefreshResponse(server, client, slack, json(top))).resolves.toEqual({
      kind: 'tokens', accessToken: 'xoxe.xoxp-1', tokenType: 'user', refreshToken: 'xoxe-1-2', expiresInSeconds: 43200,
    });
    const nested = { ok: true, authed_user: { access_token: 'xoxe.xoxp-3', token_type: 'user', refresh_token: 'xoxe-1-4', expires_in: 60 } };
    await expect(parseRefreshResponse(server, client, slack, json(nested))).resolves.toMatchObject({ kind: 'tokens', accessToken: 'xoxe.xoxp-3', refreshToken: 'xoxe-1-4' });
  });

  it('reads errors sent with HTTP 200 (Slack ok:false, GitHub error) and RFC 6749 errors', async () => {
    await expect(parseRefreshResponse(server, client, slack, json({ ok: false, error: 'invalid_refresh_token' }))).resolves.toEqual({ kind: 'refused', code: 'invalid_refresh_token' });
    await expect(parseRefreshResponse(server, client, plain, json({ error: 'bad_refresh_token', error_description: 'x' }))).resolves.toEqual({ kind: 'refused', code: 'bad_refresh_token' });
    await expect(parseRefreshResponse(server, client, plain, json({ error: 'invalid_grant' }, 400))).resolves.toEqual({ kind: 'refused', code: 'invalid_grant' });
  });

  it('never passes on a provider value that is not a plain code, and refuses malformed tokens', async () => {
    await expect(parseRefreshResponse(server, client, slack, json({ ok: false, error: 'secret <b>token</b> here' }))).resolves.toEqual({ kind: 'refused', code: 'provider_error' });
    await expect(parseRefreshResponse(server, client, slack, json({ ok: true, access_token: 'a', refresh_token: 7 }))).resolves.toEqual({ kind: 'invalid' });
    await expect(parseRefreshResponse(server, client, plain, json([]))).resolves.toEqual({ kind: 'invalid' });
  });
});
