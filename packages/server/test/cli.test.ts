/**
 * `gatehouse serve` and `gatehouse keys` as an operator runs them: start-up output, the data-folder
 * lock, configuration errors that name the variable, and keys that survive a restart.
 */
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  GATEHOUSE_BIN,
  spawnGatehouse,
  tempDir,
  TEST_DATABASE_URL,
  testEncryptionKeys,
  type GatehouseProcess,
} from '../../../test/support/gatehouse.js';

const running: GatehouseProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()));
});

function runCli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [GATEHOUSE_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs the CLI without blocking the test process (so a port it holds can stay bound), and resolves
 * with its exit status; `null` means it was still running after `limitMs` and was killed (a hang).
 */
async function runCliAsync(args: string[], env: Record<string, string>, limitMs = 30_000) {
  const child = spawn(process.execPath, [GATEHOUSE_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  child.stdout.resume();
  const status = await new Promise<number | null>((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    });
  });
  return { status, stderr };
}

/** A port held by something else, for start-up failures after the store is open. */
async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, server };
}

describe('gatehouse serve', () => {
  it('prints the URL and a working API key once, refuses a second process on the same folder, and keeps its data across restarts', async () => {
    const dataDir = tempDir();
    const first = await spawnGatehouse({ dataDir, env: {} });
    running.push(first);
    const apiKey = /API key \(shown once, store it now\): (ghk_\S+)/.exec(first.output())?.[1];
    expect(apiKey).toBeDefined();
    expect(first.output()).toContain(`Gatehouse is running at ${first.url}`);
    expect(first.output()).toMatch(/generated an encryption key in the data folder/);
    // The generated key sits beside the data: only its owner may read it.
    expect(statSync(join(dataDir, 'encryption-keys')).mode & 0o777).toBe(0o600);

    const listed = await fetch(`${first.url}/v1/providers`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(listed.status).toBe(200);

    const second = runCli(['serve', '--port', '0', '--data-dir', dataDir]);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/data folder .* is in use by another Gatehouse process/);

    await first.stop();
    const created = runCli(['keys', 'create', '--data-dir', dataDir]);
    expect(created.status).toBe(0);
    const newKey = created.stdout.trim();
    expect(newKey).toMatch(/^ghk_/);

    const restarted = await spawnGatehouse({ dataDir, env: {} });
    running.push(restarted);
    expect(restarted.output()).not.toContain('shown once');
    for (const key of [apiKey, newKey]) {
      const response = await fetch(`${restarted.url}/v1/providers`, { headers: { authorization: `Bearer ${key}` } });
      expect(response.status).toBe(200);
    }
  });

  it.each([
    [{ GATEHOUSE_PUBLIC_URL: 'not a url' }, /GATEHOUSE_PUBLIC_URL/],
    [{ DATABASE_URL: 'mysql://localhost/x' }, /DATABASE_URL: must be a postgres:\/\/ URL/],
    [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' }, /GATEHOUSE_ENCRYPTION_KEYS: required with DATABASE_URL/],
    [{ GATEHOUSE_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }, /GATEHOUSE_ENCRYPTION_KEYS: key "k1" must be 32 bytes/],
    [{ GATEHOUSE_ENCRYPTION_KEYS: 'no-separator-here' }, /GATEHOUSE_ENCRYPTION_KEYS: entry 1 is not "keyId:base64Key"/],
    [{ GATEHOUSE_ENCRYPTION_KEYS: `${testEncryptionKeys()},bad id:x` }, /GATEHOUSE_ENCRYPTION_KEYS: entry 2: key id/],
    [
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', GATEHOUSE_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' },
      /GATEHOUSE_ENCRYPTION_KEYS: key "k1" must be 32 bytes/,
    ],
    [{ GATEHOUSE_ALLOWED_REDIRECT_URLS: 'https://ok.example, ftp://bad' }, /GATEHOUSE_ALLOWED_REDIRECT_URLS/],
    [{ GATEHOUSE_BOOTSTRAP_API_KEY: 'short' }, /GATEHOUSE_BOOTSTRAP_API_KEY/],
  ])('stops start-up on %o with a message naming the variable', (env, message) => {
    const result = runCli(['serve', '--port', '0', '--data-dir', tempDir()], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a port that is not a number', () => {
    const result = runCli(['serve', '--port', 'eighty', '--data-dir', tempDir()]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/--port/);
  });

  it.each([
    ['not a host!', /--host: "not a host!" is not an IP address or a host name/],
    ['http://127.0.0.1', /--host: "http:\/\/127.0.0.1" is not an IP address or a host name/],
    // TEST-NET-1 (RFC 5737): a well-formed address this machine does not have.
    ['192.0.2.1', /--host: "192.0.2.1" is not an address of this machine/],
  ])('refuses --host %s with a message naming the flag, not a stack trace', (host, message) => {
    const result = runCli(['serve', '--port', '0', '--host', host, '--data-dir', tempDir()]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a port that is taken, and releases the data folder so the next start can take it', async () => {
    const dataDir = tempDir();
    const taken = await occupiedPort();
    try {
      const result = await runCliAsync(['serve', '--port', String(taken.port), '--host', '127.0.0.1', '--data-dir', dataDir], {});
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`--port: 127\\.0\\.0\\.1:${taken.port} is already in use`));
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      taken.server.close();
    }
    // The failed start closed its store: the folder is not left locked.
    const next = runCli(['keys', 'create', '--data-dir', dataDir]);
    expect(next.stderr).toBe('');
    expect(next.status).toBe(0);
  });

  it.skipIf(!TEST_DATABASE_URL)('exits with status 1 instead of hanging when start-up fails after connecting to PostgreSQL', async () => {
    const database = await createTestDatabase();
    const taken = await occupiedPort();
    try {
      const result = await runCliAsync(['serve', '--port', String(taken.port), '--host', '127.0.0.1'], {
        DATABASE_URL: database.url,
        GATEHOUSE_ENCRYPTION_KEYS: testEncryptionKeys(),
      });
      // null would mean it was still running (its pool and LISTEN connection open) and had to be killed.
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/--port: .* is already in use/);
    } finally {
      taken.server.close();
      await database.drop();
    }
  });

  it('prints a usable encryption keyring entry', () => {
    const result = runCli(['keys', 'generate-encryption-key']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^k\d{8}_[0-9a-f]{6}:[A-Za-z0-9+/]{43}=$/);
  });
});
