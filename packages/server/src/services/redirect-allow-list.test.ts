import { describe, expect, it } from 'vitest';
import { isRedirectAllowed } from './redirect-allow-list.js';

describe('isRedirectAllowed', () => {
  const allowList = ['https://app.com/oauth', 'http://127.0.0.1:3000'];

  it.each([
    'https://app.com/oauth',
    'https://app.com/oauth/callback?x=1',
    'http://127.0.0.1:3000/done',
  ])('allows %s', (url) => {
    expect(isRedirectAllowed(url, allowList)).toBe(true);
  });

  it.each([
    ['a host that only starts like the allowed one', 'https://app.com.evil.com/oauth'],
    ['a protocol-relative URL', '//evil.com/oauth'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['credentials before the host', 'https://app.com@evil.com/oauth'],
    ['another scheme for the same host', 'http://app.com/oauth'],
    ['a path that only shares a prefix', 'https://app.com/oauthevil'],
    ['another port', 'http://127.0.0.1:3001/done'],
    ['a relative path', '/oauth/callback'],
    ['a data: URL', 'data:text/html,hi'],
  ])('refuses %s', (_why, url) => {
    expect(isRedirectAllowed(url, allowList)).toBe(false);
  });

  it('refuses everything when the allow-list is empty', () => {
    expect(isRedirectAllowed('https://app.com/oauth', [])).toBe(false);
  });
});
