/**
 * Starting Gatehouse for tests: in this process (for a fake clock or captured logs), or as real
 * `gatehouse serve` child processes (for several processes on one PostgreSQL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger, Keyring, parseConfig, startServer, type Clock, type RunningServer } from '@gatehouse/server';

/** Path of the built CLI, as `npm start` runs it. */
export const GATEHOUSE_BIN = fileURLToPath(new URL('../../packages/server/dist/main.js', import.meta.url));

/** PostgreSQL for the suites that need it; unset means those suites are skipped. */
export const TEST_DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL;

/** A fresh temporary folder. */
export function tempDir(prefix = 'gatehouse-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A random API key in Gatehouse's format, for GATEHOUSE_BOOTSTRAP_API_KEY. */
export function testApiKey(): string {
  return `ghk_${randomBytes(32).toString('base64url')}`;
}

/** A port that was free a moment ago (for child processes, which must know their URL up front). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A Gatehouse running in the test process. */
export interface InProcessGatehouse extends RunningServer {
  apiKey: string;
  dataDir: string;
  /** Every log line written so far. */
  logs(): string;
}

/** Starts Gatehouse inside the test process on an ephemeral port. */
export async function startInProcessGatehouse(
  options: { env?: Record<string, string>; clock?: Clock; dataDir?: string; fetch?: typeof fetch } = {},
): Promise<InProcessGatehouse> {
  const apiKey = testApiKey();
  const dataDir = options.dataDir ?? tempDir();
  const config = parseConfig(
    { port: '0', host: '127.0.0.1', dataDir },
    { GATEHOUSE_ALLOW_PRIVATE_NETWORK: 'true', GATEHOUSE_BOOTSTRAP_API_KEY: apiKey, GATEHOUSE_LOG_LEVEL: 'debug', ...options.env },
  );
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const server = await startServer(config, createLogger(config.logLevel, sink), { clock: options.clock, fetch: options.fetch });
  return Object.assign(server, { apiKey, dataDir, logs: () => lines.join('') });
}

/** A `gatehouse serve` child process. */
export interface GatehouseProcess {
  url: string;
  process: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `node packages/server/dist/main.js serve` with `env` and resolves once it listens. Rejects
 * with the process output if it exits first.
 */
export async function spawnGatehouse(options: { port?: number; dataDir?: string; env: Record<string, string> }): Promise<GatehouseProcess> {
  const port = options.port ?? (await freePort());
  const args = [GATEHOUSE_BIN, 'serve', '--port', String(port), '--host', '127.0.0.1'];
  if (options.dataDir) args.push('--data-dir', options.dataDir);
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', GATEHOUSE_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (output.includes('Gatehouse is running at')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`gatehouse serve exited with ${code} before listening:\n${output}`));
    };
    const cleanup = () => {
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}

/** A fresh, empty PostgreSQL database for one test file, dropped by `drop()`. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error('GATEHOUSE_TEST_DATABASE_URL is not set');
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A keyring string for processes that must share one. */
export function testEncryptionKeys(): string {
  return Keyring.generateEntry();
}
