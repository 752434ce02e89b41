import type { RateLimitConfig } from '../config.js';
import { OutboundPolicy, type AllowlistEntry } from './outbound-guard.js';

/** The security knobs of a running server, derived once from its configuration. */
export interface SecuritySettings {
  /** What outbound requests may reach; also used to validate URLs when they are configured. */
  outboundPolicy: OutboundPolicy;
  /** Trust the last `X-Forwarded-For` entry as the client address (one trusted reverse proxy). */
  trustProxy: boolean;
  rateLimits: RateLimitConfig;
}

/** The settings of `gatehouse serve` from its parsed configuration. */
export function securitySettingsFrom(config: {
  allowPrivateNetwork: boolean;
  outboundAllowlist: readonly AllowlistEntry[];
  trustProxy: boolean;
  rateLimits: RateLimitConfig;
}): SecuritySettings {
  return {
    outboundPolicy: new OutboundPolicy(config.allowPrivateNetwork, config.outboundAllowlist),
    trustProxy: config.trustProxy,
    rateLimits: { ...config.rateLimits },
  };
}
