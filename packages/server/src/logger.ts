import { pino, type Logger as PinoLogger } from 'pino';

/** The server's structured logger. */
export type Logger = PinoLogger;

/** Field names whose value is a secret wherever they appear in a log object. */
const SECRET_FIELDS = [
  'authorization',
  'cookie',
  'set-cookie',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'id_token',
  'idToken',
  'client_secret',
  'clientSecret',
  'api_key',
  'apiKey',
  'code_verifier',
  'codeVerifier',
  'password',
  'secret',
  'mcpSecret',
  'mcp_secret',
];

/**
 * Field names that are secrets when nested (an OAuth `code` or `state` inside a query or params
 * object) but name error classes at the top level of our own log objects (`{ code: 'timeout' }`).
 */
const NESTED_SECRET_FIELDS = ['code', 'state'];

/** How deep pino's path redaction looks; deeper values are still scrubbed by {@link scrubLogLine}. */
const REDACTION_DEPTH = 3;

/** `field`, `*.field`, `*.*.field` … from depth `from` up to {@link REDACTION_DEPTH} (pino path syntax). */
function pathsAtDepths(field: string, from: number): string[] {
  const identifier = /^[A-Za-z_$][\w$]*$/.test(field);
  const paths: string[] = [];
  for (let depth = from; depth < REDACTION_DEPTH; depth++) {
    const parents = depth === 0 ? '' : `*${'.*'.repeat(depth - 1)}`;
    paths.push(identifier ? (parents ? `${parents}.${field}` : field) : `${parents}["${field}"]`);
  }
  return paths;
}

/**
 * Paths pino never writes (`[redacted]`): every {@link SECRET_FIELDS} name at the top level and up
 * to two objects deep (`*.authorization`, `*.*.access_token`), `code` and `state` when nested.
 * Secrets are kept out of log objects by construction; this is the second fence, and
 * {@link scrubLogLine} the third, which has no depth limit.
 */
export const REDACTED_PATHS = [...SECRET_FIELDS.flatMap((field) => pathsAtDepths(field, 0)), ...NESTED_SECRET_FIELDS.flatMap((field) => pathsAtDepths(field, 1))];

const CENSOR = '[redacted]';
const QUERY_SECRET_NAMES =
  'code|state|access_token|refresh_token|id_token|client_secret|code_verifier|token|api_key|apikey|key|secret|password|session_secret|mcp_secret';
const FIELD_NAMES = SECRET_FIELDS.map((field) => field.replace(/[-]/g, '\\-')).join('|');

/** What {@link scrubLogLine} replaces, in order. */
const SCRUBBERS: Array<[RegExp, string]> = [
  // `Authorization: Bearer …` / `Basic …` quoted in an error message or a header dump.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi, `$1 ${CENSOR}`],
  // Token-looking query parameters in URLs (`?code=…&state=…`, `#access_token=…`).
  [new RegExp(`([?&#;](?:${QUERY_SECRET_NAMES})=)[^&#\\s"'\\\\]+`, 'gi'), `$1${CENSOR}`],
  // A JSON body quoted in a message, at any depth: `"access_token":"…"`, also when escaped (`\\"…\\"`).
  [new RegExp(`(\\\\?"(?:${FIELD_NAMES})\\\\?"\\s*:\\s*\\\\?")(?:[^"\\\\]|\\\\(?!"))*`, 'g'), `$1${CENSOR}`],
  // A form body quoted in a message: `refresh_token=…&client_secret=…` at its start.
  [new RegExp(`(^|[\\s"'(])((?:${QUERY_SECRET_NAMES})=)[^&#\\s"'\\\\]+`, 'gi'), `$1$2${CENSOR}`],
  // Gatehouse's own secrets have recognisable prefixes: API keys, session MCP secrets, webhook secrets.
  [/\b(ghk_|gms_|whsec_)[A-Za-z0-9_\-+/=]{8,}/g, `$1${CENSOR}`],
];

/**
 * Removes what looks like a credential from one serialized log line: bearer and basic credentials,
 * secret query or form parameters, secret fields of JSON quoted in a message, and Gatehouse's
 * prefixed secrets. It runs on every line pino writes (its `streamWrite` hook), so it reaches error
 * messages, stacks and nested objects alike, however they were logged.
 */
export function scrubLogLine(line: string): string {
  let scrubbed = line;
  for (const [pattern, replacement] of SCRUBBERS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/** Logs `err` as its class, message and stack only (no `cause`, no response bodies hung on it). */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return { type: value.name, message: value.message, ...(typeof code === 'string' ? { code } : {}), stack: value.stack };
}

/** A pino logger with redaction; `destination` is for tests that capture log output. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      serializers: { err: serializeError, error: serializeError },
      hooks: { streamWrite: scrubLogLine },
      base: { service: 'gatehouse' },
    },
    destination ?? pino.destination(1),
  );
}
