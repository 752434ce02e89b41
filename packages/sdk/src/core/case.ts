/**
 * Conversion between the wire's snake_case JSON and the SDK's camelCase objects.
 *
 * Keys listed in {@link USER_DATA_KEYS} hold the caller's own data (`metadata`): the key itself is
 * converted like any other (it is one word), but everything inside it is kept exactly as it is, in both
 * directions, so `{ metadata: { userId: 'u_1', plan_tier: 'pro' } }` round-trips unchanged.
 */

/** Keys whose values are user data and are never converted. */
export const USER_DATA_KEYS: ReadonlySet<string> = new Set(['metadata']);

/**
 * `authorizationUrl` -> `authorization_url`.
 *
 * @param key - a camelCase key
 */
export function camelToSnakeKey(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * `authorization_url` -> `authorizationUrl`.
 *
 * @param key - a snake_case key
 */
export function snakeToCamelKey(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function convertKeys(value: unknown, convertKey: (key: string) => string, userDataKeys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => convertKeys(item, convertKey, userDataKeys));
  if (!isPlainObject(value)) return value;
  const converted: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const convertedKey = convertKey(key);
    converted[convertedKey] =
      userDataKeys.has(key) || userDataKeys.has(convertedKey) ? item : convertKeys(item, convertKey, userDataKeys);
  }
  return converted;
}

/**
 * Converts an SDK value (camelCase keys) to its wire form (snake_case keys), recursively, leaving the
 * contents of `metadata` untouched and dropping `undefined` members.
 *
 * @param value - any JSON-like value
 * @param userDataKeys - keys whose values are copied as they are
 */
export function toWireCase(value: unknown, userDataKeys: ReadonlySet<string> = USER_DATA_KEYS): unknown {
  return convertKeys(value, camelToSnakeKey, userDataKeys);
}

/**
 * Converts a wire value (snake_case keys) to its SDK form (camelCase keys), recursively, leaving the
 * contents of `metadata` untouched.
 *
 * @param value - any parsed JSON value
 * @param userDataKeys - keys whose values are copied as they are
 */
export function fromWireCase(value: unknown, userDataKeys: ReadonlySet<string> = USER_DATA_KEYS): unknown {
  return convertKeys(value, snakeToCamelKey, userDataKeys);
}
