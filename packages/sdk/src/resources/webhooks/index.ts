export * from './webhooks.js';
export * from './deliveries.js';
