export * from './sessions.js';
export * from './tools.js';
export * from './tool-calls.js';
