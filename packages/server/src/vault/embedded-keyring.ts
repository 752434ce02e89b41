import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { Keyring, KeyringError } from './keyring.js';

/** Name of the key file generated in the data folder when `GATEHOUSE_ENCRYPTION_KEYS` is not set. */
export const EMBEDDED_KEY_FILE = 'encryption-keys';

/**
 * The keyring of the embedded store: `configured` (from `GATEHOUSE_ENCRYPTION_KEYS`, already parsed
 * by `parseConfig`) when set, else the file `<dataDir>/encryption-keys` (mode 0600), generated on first
 * start with a warning: the key then sits beside the data it protects, which is fine on a laptop and
 * not in production. Call it only while holding the data folder's lock (two processes must not both
 * generate a key).
 *
 * @throws KeyringError naming the file when it exists but is not a keyring
 */
export function loadEmbeddedKeyring(dataDir: string, configured: Keyring | undefined, logger: Logger): Keyring {
  if (configured) return configured;
  const path = join(dataDir, EMBEDDED_KEY_FILE);
  if (!existsSync(path)) {
    writeFileSync(path, `${Keyring.generateEntry()}\n`, { mode: 0o600, flag: 'wx' });
    logger.warn(
      { path },
      'GATEHOUSE_ENCRYPTION_KEYS is not set: generated an encryption key in the data folder. ' +
        'Set GATEHOUSE_ENCRYPTION_KEYS (from a secret manager) for production.',
    );
  }
  try {
    return Keyring.parse(readFileSync(path, 'utf8').trim());
  } catch (error) {
    throw new KeyringError(`${path}: ${(error as Error).message} (the data folder's generated key file is damaged)`);
  }
}
