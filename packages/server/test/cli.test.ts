/**
 * `gatehouse serve` and `gatehouse keys` as an operator runs them: start-up output, the data-folder
 * lock, configuration errors that name the variable, and keys that survive a restart.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEHOUSE_BIN, spawnGatehouse, tempDir, type GatehouseProcess } from '../../../test/support/gatehouse.js';

const running: GatehouseProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()));
});

function runCli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [GATEHOUSE_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
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
    [{ GATEHOUSE_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }, /32 bytes/],
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

  it('prints a usable encryption keyring entry', () => {
    const result = runCli(['keys', 'generate-encryption-key']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^k\d{8}_[0-9a-f]{6}:[A-Za-z0-9+/]{43}=$/);
  });
});
