export * from './providers.js';
export * from './deployments.js';
export * from './setup-sessions.js';
export * from './auth-configs.js';
