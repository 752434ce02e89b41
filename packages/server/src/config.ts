import { isIP } from 'node:net';
import { z } from 'zod';
import { parseAllowlist, type AllowlistEntry } from './security/outbound-guard.js';
import { Keyring } from './vault/keyring.js';

/** Everything `gatehouse serve` needs, parsed once from flags and environment at start-up. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** PostgreSQL instead of the embedded store when set. */
  databaseUrl: string | undefined;
  /**
   * Base of setup URLs and OAuth callbacks, without a trailing slash; undefined means
   * `http://<host>:<port>` with the port actually bound.
   */
  publicUrl: string | undefined;
  /**
   * The keyring parsed from `GATEHOUSE_ENCRYPTION_KEYS` (newest key first); undefined means "use the
   * key file generated in the data folder" (embedded mode only).
   */
  encryptionKeys: Keyring | undefined;
  bootstrapApiKey: string | undefined;
  /**
   * The bootstrap project's redirect allow-list from `GATEHOUSE_ALLOWED_REDIRECT_URLS`. When the
   * variable is set it is the source of truth, and set to empty it clears the list (`[]`); unset
   * (`undefined`) leaves the stored list as it is.
   */
  allowedRedirectUrls: string[] | undefined;
  allowPrivateNetwork: boolean;
  logLevel: string;
  /** Extra provider definitions from the operator (YAML), e.g. local stdio tool servers. */
  providersFile: string | undefined;
  toolCallTimeoutMs: number;
  /** How long one request to a provider's token endpoint (code exchange, refresh) may take. */
  tokenRequestTimeoutMs: number;
  toolResultMaxBytes: number;
  /** Hosts, `host:port`s and CIDRs outbound requests may reach although private or plain http. */
  outboundAllowlist: AllowlistEntry[];
  /** Take the client address from the last `X-Forwarded-For` entry (behind one trusted proxy). */
  trustProxy: boolean;
  /** Fixed one-minute windows; 0 turns a limit off. */
  rateLimits: RateLimitConfig;
  /** How often the background sweep refreshes tokens that are about to lapse. */
  refreshSweepIntervalMs: number;
  /** Scales the webhook retry schedule (first retry after this, then 6x, 24x, 120x, …). */
  webhookRetryBaseMs: number;
}

/** Requests per minute; 0 means no limit. */
export interface RateLimitConfig {
  /** Failed API-key / MCP-secret attempts per client address. */
  authFailuresPerMinute: number;
  /** Setup sessions created per project. */
  setupSessionsPerMinute: number;
  /** Tool calls per project (REST and session MCP endpoint). */
  toolCallsPerMinute: number;
}

/** A configuration value that stops start-up; the message names the variable or flag. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const httpUrl = z.string().refine((value) => {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// URL')
    .optional(),
  GATEHOUSE_PUBLIC_URL: httpUrl.optional(),
  GATEHOUSE_ENCRYPTION_KEYS: z.string().min(1).optional(),
  GATEHOUSE_BOOTSTRAP_API_KEY: z
    .string()
    .min(32, 'must be at least 32 characters of random data')
    .optional(),
  GATEHOUSE_ALLOWED_REDIRECT_URLS: z.string().optional(),
  GATEHOUSE_ALLOW_PRIVATE_NETWORK: z.enum(['true', 'false', '1', '0']).optional(),
  GATEHOUSE_PROVIDERS_FILE: z.string().min(1).optional(),
  GATEHOUSE_TOOL_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(15 * 60_000).optional(),
  GATEHOUSE_TOKEN_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).optional(),
  GATEHOUSE_REFRESH_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(24 * 3600_000).optional(),
  GATEHOUSE_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3600_000).optional(),
  GATEHOUSE_TOOL_RESULT_MAX_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).optional(),
  GATEHOUSE_OUTBOUND_ALLOWLIST: z.string().optional(),
  GATEHOUSE_TRUST_PROXY: z.enum(['true', 'false', '1', '0']).optional(),
  GATEHOUSE_RATE_LIMIT_AUTH_FAILURES: z.coerce.number().int().min(0).max(1_000_000).optional(),
  GATEHOUSE_RATE_LIMIT_SETUP_SESSIONS: z.coerce.number().int().min(0).max(100_000_000).optional(),
  GATEHOUSE_RATE_LIMIT_TOOL_CALLS: z.coerce.number().int().min(0).max(100_000_000).optional(),
  GATEHOUSE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

/** Command-line flags of `gatehouse serve`. */
export interface ServeFlags {
  port?: string;
  host?: string;
  dataDir?: string;
}

/**
 * Parses flags and environment into a {@link ServerConfig}. Throws {@link ConfigError} naming the first
 * wrong variable; nothing else in the server reads `process.env`.
 */
export function parseConfig(flags: ServeFlags, env: Record<string, string | undefined>): ServerConfig {
  const parsed = envSchema.safeParse(emptyToUndefined(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0])}: ${issue.message}`);
  }
  const vars = parsed.data;

  const port = flags.port === undefined ? 4310 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--port: "${flags.port}" is not a port number (0-65535)`);
  }
  const host = flags.host ?? '127.0.0.1';
  if (!isListenHost(host)) {
    throw new ConfigError(`--host: "${host}" is not an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::, localhost)`);
  }
  const publicUrl = vars.GATEHOUSE_PUBLIC_URL?.replace(/\/+$/, '');

  // Read from `env` itself: the schema turns '' into "unset", but set-to-empty means "clear the list".
  const redirectVariable = env.GATEHOUSE_ALLOWED_REDIRECT_URLS;
  const allowedRedirectUrls =
    redirectVariable === undefined
      ? undefined
      : redirectVariable
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean);
  for (const prefix of allowedRedirectUrls ?? []) {
    if (!httpUrl.safeParse(prefix).success) {
      throw new ConfigError(`GATEHOUSE_ALLOWED_REDIRECT_URLS: "${prefix}" is not an http(s) URL`);
    }
  }

  let outboundAllowlist: AllowlistEntry[];
  try {
    outboundAllowlist = parseAllowlist(vars.GATEHOUSE_OUTBOUND_ALLOWLIST);
  } catch (error) {
    throw new ConfigError(`GATEHOUSE_OUTBOUND_ALLOWLIST: ${(error as Error).message}`);
  }

  if (vars.DATABASE_URL && !vars.GATEHOUSE_ENCRYPTION_KEYS) {
    throw new ConfigError(
      'GATEHOUSE_ENCRYPTION_KEYS: required with DATABASE_URL (every process must share the keyring). ' +
        'Generate one with `gatehouse keys generate-encryption-key`.',
    );
  }

  // Parsed here, before any store is opened, so a wrong value stops start-up naming the variable
  // and leaves nothing to clean up.
  let encryptionKeys: Keyring | undefined;
  if (vars.GATEHOUSE_ENCRYPTION_KEYS !== undefined) {
    try {
      encryptionKeys = Keyring.parse(vars.GATEHOUSE_ENCRYPTION_KEYS);
    } catch (error) {
      // KeyringError messages name entries and key ids, never key material.
      throw new ConfigError(
        `GATEHOUSE_ENCRYPTION_KEYS: ${(error as Error).message}. Expected "keyId:base64Key,..." (newest first); ` +
          'generate an entry with `gatehouse keys generate-encryption-key`.',
      );
    }
  }

  return {
    host,
    port,
    dataDir: flags.dataDir ?? './.gatehouse',
    databaseUrl: vars.DATABASE_URL,
    publicUrl,
    encryptionKeys,
    bootstrapApiKey: vars.GATEHOUSE_BOOTSTRAP_API_KEY,
    allowedRedirectUrls,
    allowPrivateNetwork: vars.GATEHOUSE_ALLOW_PRIVATE_NETWORK === 'true' || vars.GATEHOUSE_ALLOW_PRIVATE_NETWORK === '1',
    logLevel: vars.GATEHOUSE_LOG_LEVEL ?? 'info',
    providersFile: vars.GATEHOUSE_PROVIDERS_FILE,
    toolCallTimeoutMs: vars.GATEHOUSE_TOOL_CALL_TIMEOUT_MS ?? 60_000,
    tokenRequestTimeoutMs: vars.GATEHOUSE_TOKEN_REQUEST_TIMEOUT_MS ?? 15_000,
    toolResultMaxBytes: vars.GATEHOUSE_TOOL_RESULT_MAX_BYTES ?? 4 * 1024 * 1024,
    outboundAllowlist,
    trustProxy: vars.GATEHOUSE_TRUST_PROXY === 'true' || vars.GATEHOUSE_TRUST_PROXY === '1',
    rateLimits: {
      authFailuresPerMinute: vars.GATEHOUSE_RATE_LIMIT_AUTH_FAILURES ?? 20,
      setupSessionsPerMinute: vars.GATEHOUSE_RATE_LIMIT_SETUP_SESSIONS ?? 1_000,
      toolCallsPerMinute: vars.GATEHOUSE_RATE_LIMIT_TOOL_CALLS ?? 60_000,
    },
    refreshSweepIntervalMs: vars.GATEHOUSE_REFRESH_SWEEP_INTERVAL_MS ?? 60_000,
    webhookRetryBaseMs: vars.GATEHOUSE_WEBHOOK_RETRY_BASE_MS ?? 5_000,
  };
}

function emptyToUndefined(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === '' ? undefined : value]));
}

/** An IP address or an RFC 1123 host name: what `listen()` can be given without a DNS surprise. */
function isListenHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  return host.length <= 253 && /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/.test(host);
}
