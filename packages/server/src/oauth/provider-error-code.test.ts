import { describe, expect, it } from 'vitest';
import { providerErrorCode } from './provider-error-code.js';

describe('providerErrorCode', () => {
  it('passes RFC 6749 codes and provider-specific words through', () => {
    for (const code of ['invalid_grant', 'access_denied', 'token_revoked', 'urn:ietf:params:oauth:error:x', 'bad.verification-code']) {
      expect(providerErrorCode(code, 'fallback')).toBe(code);
    }
  });

  it('replaces sentences, markup, quoted tokens and non-strings with the fallback', () => {
    const refused = ['refresh token rt-canary-123 is revoked', '<b>x</b>', 'a'.repeat(65), '', 42, undefined, { error: 'x' }];
    for (const value of refused) expect(providerErrorCode(value, 'provider_error')).toBe('provider_error');
  });
});
