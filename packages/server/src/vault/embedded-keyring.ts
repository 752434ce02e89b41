import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { Keyring } from './keyring.js';

/**
 * The keyring of the embedded store: `GATEHOUSE_ENCRYPTION_KEYS` when set, else the file
 * `<dataDir>/encryption-keys` (mode 0600), generated on first start with a warning: the key then sits
 * beside the data it protects, which is fine on a laptop and not in production.
 */
export function loadEmbeddedKeyring(dataDir: string, configured: string | undefined, logger: Logger): Keyring {
  if (configured) return Keyring.parse(configured);
  const path = join(dataDir, 'encryption-keys');
  if (!existsSync(path)) {
    writeFileSync(path, `${Keyring.generateEntry()}\n`, { mode: 0o600, flag: 'wx' });
    logger.warn(
      { path },
      'GATEHOUSE_ENCRYPTION_KEYS is not set: generated an encryption key in the data folder. ' +
        'Set GATEHOUSE_ENCRYPTION_KEYS (from a secret manager) for production.',
    );
  }
  return Keyring.parse(readFileSync(path, 'utf8').trim());
}
