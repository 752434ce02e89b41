import { describe, expect, it } from 'vitest';
import { DecryptionError, Keyring, KeyringError } from './keyring.js';

describe('Keyring', () => {
  const older = Keyring.generateEntry();
  const newer = Keyring.generateEntry();

  it('opens what it sealed, and the ciphertext does not contain the plaintext', () => {
    const keyring = Keyring.parse(newer);
    const sealed = keyring.seal('canary-token-123', 'prj_a:pac_1');
    expect(sealed.ciphertext).not.toContain('canary');
    expect(Buffer.from(sealed.ciphertext, 'base64url').toString('latin1')).not.toContain('canary');
    expect(keyring.open(sealed, 'prj_a:pac_1')).toBe('canary-token-123');
  });

  it('refuses a ciphertext moved to another object (AAD binding)', () => {
    const keyring = Keyring.parse(newer);
    const sealed = keyring.seal('secret', 'prj_a:pac_1');
    expect(() => keyring.open(sealed, 'prj_a:pac_2')).toThrow(DecryptionError);
    expect(() => keyring.open(sealed, 'prj_b:pac_1')).toThrow(DecryptionError);
  });

  it('seals with the newest key and still opens rows sealed with an older one', () => {
    const before = Keyring.parse(older);
    const sealedBefore = before.seal('old secret', 'aad');
    const rotated = Keyring.parse(`${newer},${older}`);
    expect(rotated.open(sealedBefore, 'aad')).toBe('old secret');
    expect(rotated.seal('x', 'aad').keyId).toBe(newer.split(':')[0]);
  });

  it('names the problem in a malformed keyring without echoing key material', () => {
    expect(() => Keyring.parse('nokey')).toThrow(KeyringError);
    expect(() => Keyring.parse('k1:c2hvcnQ=')).toThrow(/32 bytes/);
    try {
      Keyring.parse('k1:c2hvcnQ=');
    } catch (error) {
      expect(String(error)).not.toContain('c2hvcnQ');
    }
  });

  it('refuses an unknown key id', () => {
    const sealed = Keyring.parse(older).seal('x', 'aad');
    expect(() => Keyring.parse(newer).open(sealed, 'aad')).toThrow(/not in GATEHOUSE_ENCRYPTION_KEYS/);
  });
});
