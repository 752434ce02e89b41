import { pino, type Logger as PinoLogger } from 'pino';

/** The server's structured logger. */
export type Logger = PinoLogger;

/**
 * Paths that never reach a log line. Secrets are also kept out by construction (they are never put
 * into log objects); this list is the second fence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.cookie',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.client_secret',
  '*.clientSecret',
  '*.api_key',
  '*.apiKey',
  '*.code',
  '*.code_verifier',
  '*.state',
  '*.password',
];

/** A pino logger with redaction; `destination` is for tests that capture log output. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'gatehouse' } },
    destination ?? pino.destination(1),
  );
}
