import type { ProviderCatalog } from './catalog/catalog.js';
import type { Clock } from './clock.js';
import type { ToolGateway } from './gateway/tool-gateway.js';
import type { Logger } from './logger.js';
import type { SecuritySettings } from './security/settings.js';
import type { Database } from './store/database.js';
import type { Notifier } from './store/notifier.js';
import type { Keyring } from './vault/keyring.js';

/**
 * What every service is built from. Passed in, never imported as a module singleton, so tests can
 * swap the clock, the fetch used for outbound calls, or the store.
 */
export interface ServerContext {
  db: Database;
  /** Embedded (one process, PGlite) or PostgreSQL (any number of processes). */
  storeKind: 'embedded' | 'postgres';
  notifier: Notifier;
  keyring: Keyring;
  catalog: ProviderCatalog;
  clock: Clock;
  logger: Logger;
  /** Used for every outbound HTTP request (token endpoints, discovery). */
  fetch: typeof fetch;
  /** How long one request to a provider's token endpoint (code exchange, refresh) may take. */
  tokenRequestTimeoutMs: number;
  /** Base of setup URLs and OAuth callbacks, without a trailing slash. */
  publicUrl: string;
  /** Lets providers live on loopback / private addresses (development and tests). */
  allowPrivateNetwork: boolean;
  /** Outbound policy (SSRF), client-address trust and rate limits. */
  security: SecuritySettings;
  /** Runs the tools of sessions; holds this process's tool server connections. */
  toolGateway: ToolGateway;
}
