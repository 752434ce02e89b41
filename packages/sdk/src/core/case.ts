/**
 * Conversion between the wire's snake_case JSON and the SDK's camelCase objects.
 *
 * Keys listed in {@link USER_DATA_KEYS} hold data that is not Gatehouse's own (the caller's `metadata`, a
 * tool's JSON Schema, its arguments, MCP content): the key itself is converted like any other
 * (`input_schema` <-> `inputSchema`), but everything inside it is kept exactly as it is, in both
 * directions, so `{ metadata: { userId: 'u_1', plan_tier: 'pro' } }` round-trips unchanged and a tool
 * whose schema has a `user_id` property keeps `user_id`.
 */

/**
 * Keys (wire form) whose values are never converted:
 * - `metadata`: the caller's own key/value data;
 * - `input_schema`: a tool's JSON Schema (its property names are the tool's argument names);
 * - `arguments`: the arguments of a tool call, named by that schema;
 * - `annotations`: MCP tool annotations (`readOnlyHint`, ...), defined by MCP;
 * - `content`, `structured_content`: MCP content blocks (`mimeType`, `_meta`, ...) and a tool's structured result;
 * - `authorization_params`, `scope_descriptions`: a provider's query parameter names and scope names.
 */
export const USER_DATA_KEYS: ReadonlySet<string> = new Set([
  'metadata',
  'input_schema',
  'arguments',
  'annotations',
  'content',
  'structured_content',
  'authorization_params',
  'scope_descriptions',
]);

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
 * contents of the {@link USER_DATA_KEYS} untouched and dropping `undefined` members.
 *
 * @param value - any JSON-like value
 * @param userDataKeys - keys whose values are copied as they are
 */
export function toWireCase(value: unknown, userDataKeys: ReadonlySet<string> = USER_DATA_KEYS): unknown {
  return convertKeys(value, camelToSnakeKey, userDataKeys);
}

/**
 * Converts a wire value (snake_case keys) to its SDK form (camelCase keys), recursively, leaving the
 * contents of the {@link USER_DATA_KEYS} untouched.
 *
 * @param value - any parsed JSON value
 * @param userDataKeys - keys whose values are copied as they are
 */
export function fromWireCase(value: unknown, userDataKeys: ReadonlySet<string> = USER_DATA_KEYS): unknown {
  return convertKeys(value, snakeToCamelKey, userDataKeys);
}
