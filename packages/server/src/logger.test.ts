/**
 * The log redaction fences: secrets nested at any depth, quoted in error messages and stacks, in
 * URLs, in JSON or form bodies, or logged as an Error, never reach a written log line; the things an
 * operator needs (ids, error codes, hosts, paths) still do.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED_PATHS, scrubLogLine } from './logger.js';

const SECRET = 'canary-9f2c41d7e0b35a68';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { logger: createLogger('debug', sink), text: () => lines.join('') };
}

describe('log redaction', () => {
  it('drops secret fields at the top level and nested deeper than one level', () => {
    const { logger, text } = capture();
    logger.info(
      {
        authorization: `Bearer ${SECRET}-a`,
        req: { headers: { authorization: `Bearer ${SECRET}-b`, cookie: `gatehouse_oauth_x=${SECRET}-c`, 'set-cookie': `x=${SECRET}-d` } },
        upstream: { response: { body: { access_token: `${SECRET}-e`, refresh_token: `${SECRET}-f`, nested: { id_token: `${SECRET}-g` } } } },
        deployment: { oauthClient: { clientSecret: `${SECRET}-h` } },
        query: { code: `${SECRET}-i`, state: `${SECRET}-j` },
        session: { mcpSecret: `${SECRET}-k` },
        setupSessionId: 'pas_0123456789',
        code: 'token_endpoint_timeout',
      },
      'nested secrets',
    );
    const line = text();
    expect(line).not.toContain(SECRET);
    expect(line).toContain('[redacted]');
    expect(line).toContain('pas_0123456789');
    // A top-level `code` is our error class, not an authorization code: kept for the operator.
    expect(line).toContain('"code":"token_endpoint_timeout"');
  });

  it('scrubs credentials out of error messages and stacks, however the error was logged', () => {
    const { logger, text } = capture();
    const error = new Error(
      `request to https://idp.example/token?code=${SECRET}-1&state=${SECRET}-2 failed: Authorization: Bearer ${SECRET}-3; ` +
        `body {"access_token":"${SECRET}-4","token_type":"bearer","refresh_token":"${SECRET}-5"} form refresh_token=${SECRET}-6&client_secret=${SECRET}-7`,
    );
    logger.error({ requestId: 'req_1', err: { name: error.name, message: error.message, stack: error.stack } }, 'unhandled error');
    logger.warn({ setupSessionId: 'pas_1', err: error.message }, 'OAuth callback failed');
    logger.warn({ setupSessionId: 'pas_2', reason: error.message }, 'authorization response rejected');
    logger.error(error);
    logger.error({ err: error }, 'as an Error object');
    logger.info(`redirecting to https://app.example/cb#access_token=${SECRET}-8&x=1`);
    logger.info({ deep: { a: { b: { c: { d: { message: `Bearer ${SECRET}-9` } } } } } }, 'deeper than the paths reach');
    logger.info({ keys: [`ghk_${SECRET}abcdef`, `gms_${SECRET}abcdef`, `whsec_${SECRET}abcdef`] }, 'gatehouse secrets');
    const written = text();
    expect(written).not.toContain(SECRET);
    expect(written.split('\n').filter(Boolean)).toHaveLength(8);
    // What the operator needs stays readable.
    expect(written).toContain('https://idp.example/token?code=[redacted]&state=[redacted]');
    expect(written).toContain('"token_type\\":\\"bearer\\"');
    expect(written).toContain('req_1');
    expect(written).toContain('unhandled error');
  });

  it('leaves ordinary lines alone', () => {
    const line = '{"msg":"request","method":"GET","path":"/v1/providers","status":200,"code":"not_found","host":"10.0.0.1"}';
    expect(scrubLogLine(line)).toBe(line);
  });

  it('reaches at least two objects deep with pino paths for every secret field', () => {
    for (const path of ['authorization', '*.authorization', '*.*.authorization', '*.*.access_token', '*["set-cookie"]', '*.code', '*.*.state']) {
      expect(REDACTED_PATHS).toContain(path);
    }
    expect(REDACTED_PATHS).not.toContain('code');
  });
});
