/**
 * `@gatehouse/server`: run Gatehouse inside another Node.js process (tests, custom hosting). The CLI
 * `gatehouse serve` is the usual way in.
 */
export { parseConfig, ConfigError, type ServerConfig, type ServeFlags } from './config.js';
export { startServer, openStore, type RunningServer, type StartOptions } from './server.js';
export { createLogger, type Logger } from './logger.js';
export { Keyring } from './vault/keyring.js';
export type { Clock } from './clock.js';
export { createApp } from './http/app.js';
export {
  createGuardedFetch,
  OutboundPolicy,
  OutboundRequestRefusedError,
  parseAllowlist,
  type GuardedFetch,
  type GuardedFetchOptions,
  type HostResolver,
} from './security/outbound-guard.js';
