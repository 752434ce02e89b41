import { randomBytes } from 'node:crypto';

/** Prefixes of the ids Gatehouse hands out; the prefix tells what an id names. */
export const ID_PREFIXES = {
  project: 'prj',
  apiKey: 'key',
  provider: 'pro',
  deployment: 'pde',
  setupSession: 'pas',
  authConfig: 'pac',
  session: 'ses',
  toolCall: 'tcl',
  authConfigEvent: 'ace',
  webhookEndpoint: 'whe',
  webhookEvent: 'msg',
  webhookDelivery: 'whd',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A new random id such as `pas_4mQ…`: 160 random bits (REFERENCE requires at least 128) in base62,
 * so ids are one word when double-clicked and need no escaping in URLs.
 */
export function newId(kind: IdKind): string {
  let value = BigInt(`0x${randomBytes(20).toString('hex')}`);
  let encoded = '';
  while (value > 0n) {
    encoded = BASE62[Number(value % 62n)] + encoded;
    value /= 62n;
  }
  return `${ID_PREFIXES[kind]}_${encoded.padStart(27, '0')}`;
}

/** `bytes` of CSPRNG output as base64url without padding. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
