import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A secret sealed under one key of the keyring; `keyId` is stored beside the ciphertext. */
export interface SealedSecret {
  keyId: string;
  /** base64url(iv | ciphertext | tag) */
  ciphertext: string;
}

/** Thrown when a keyring string is malformed; the message never contains key material. */
export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

/** Thrown when a sealed secret cannot be opened: unknown key id, tampering, or the wrong binding (AAD). */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/**
 * AES-256-GCM keyring. The first key seals; every key opens, so a key can be rotated in without
 * downtime. Each secret is bound to where it lives with additional authenticated data
 * (`aad`, e.g. project id + object id): a ciphertext copied onto another row does not decrypt.
 */
export class Keyring {
  private readonly keys: Map<string, Buffer>;
  /** Id of the key that seals new secrets. */
  readonly currentKeyId: string;

  private constructor(entries: Array<[string, Buffer]>) {
    this.keys = new Map(entries);
    this.currentKeyId = entries[0]![0];
  }

  /**
   * Parses `kid1:base64key,kid2:base64key` (newest first). Each key is 32 bytes, base64 or base64url.
   */
  static parse(spec: string): Keyring {
    const entries = spec
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part, index): [string, Buffer] => {
        const separator = part.indexOf(':');
        if (separator < 0) throw new KeyringError(`entry ${index + 1} is not "keyId:base64Key"`);
        const keyId = part.slice(0, separator);
        if (!KEY_ID_PATTERN.test(keyId)) throw new KeyringError(`entry ${index + 1}: key id must match ${KEY_ID_PATTERN}`);
        const key = Buffer.from(part.slice(separator + 1), 'base64');
        if (key.length !== KEY_BYTES) {
          throw new KeyringError(`key "${keyId}" must be ${KEY_BYTES} bytes (base64), got ${key.length}`);
        }
        return [keyId, key];
      });
    if (entries.length === 0) throw new KeyringError('no keys given');
    const ids = new Set(entries.map(([id]) => id));
    if (ids.size !== entries.length) throw new KeyringError('key ids must be unique');
    return new Keyring(entries);
  }

  /** A fresh `kid:base64key` entry, for new keyrings and for rotation. */
  static generateEntry(now = new Date()): string {
    const keyId = `k${now.toISOString().slice(0, 10).replaceAll('-', '')}_${randomBytes(3).toString('hex')}`;
    return `${keyId}:${randomBytes(KEY_BYTES).toString('base64')}`;
  }

  /** Seals `plaintext` under the current key, bound to `aad`. */
  seal(plaintext: string, aad: string): SealedSecret {
    const key = this.keys.get(this.currentKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.currentKeyId, ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url') };
  }

  /** Opens a sealed secret; throws {@link DecryptionError} if the key is unknown or `aad` differs. */
  open(sealed: SealedSecret, aad: string): string {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new DecryptionError(`encryption key "${sealed.keyId}" is not in GATEHOUSE_ENCRYPTION_KEYS`);
    const raw = Buffer.from(sealed.ciphertext, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new DecryptionError('ciphertext is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('ciphertext does not authenticate (tampered, or bound to another object)');
    }
  }
}
