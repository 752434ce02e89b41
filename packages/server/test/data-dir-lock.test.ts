/**
 * The embedded data folder's lock under contention: processes that start at the same moment on a
 * folder whose lock was left behind by a killed process. PGlite corrupts a folder two processes
 * open, so exactly one may win, every time.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnGatehouse, tempDir, type GatehouseProcess } from '../../../test/support/gatehouse.js';

const LOCK_MODULE = fileURLToPath(new URL('../dist/store/data-dir-lock.js', import.meta.url));

/**
 * A process that waits until `startAt` (a shared instant, so all contenders call at once), tries the
 * lock, reports `held` / `locked`, and keeps running while it holds the lock.
 */
const CONTENDER = `
const { acquireDataDirLock } = await import(process.argv[1]);
const [dataDir, startAt] = [process.argv[2], Number(process.argv[3])];
while (Date.now() < startAt) {}
try {
  acquireDataDirLock(dataDir);
  process.stdout.write('held\\n');
  setInterval(() => {}, 60_000);
} catch (error) {
  process.stdout.write(error.name === 'DataDirLockedError' ? 'locked\\n' : 'error ' + error.message + '\\n');
}`;

interface Contender {
  answer: Promise<string>;
  kill(): Promise<void>;
}

const live: Contender[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((contender) => contender.kill()));
});

function contend(dataDir: string, startAt: number): Contender {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, LOCK_MODULE, dataDir, String(startAt)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const answer = new Promise<string>((resolve) => {
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
      if (output.includes('\n')) resolve(output.trim());
    });
    void exited.then(() => resolve(output.trim() || 'exited'));
  });
  const contender = {
    answer,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  live.push(contender);
  return contender;
}

/** Leaves a lock behind the way a crash does: a holder killed with SIGKILL. */
async function leaveStaleLock(dataDir: string): Promise<void> {
  const holder = contend(dataDir, 0);
  expect(await holder.answer).toBe('held');
  await holder.kill();
}

describe('data folder lock', () => {
  it('lets exactly one of several processes take over a stale lock at the same moment, round after round', async () => {
    const rounds = 5;
    const contenders = 4;
    for (let round = 0; round < rounds; round++) {
      const dataDir = tempDir();
      await leaveStaleLock(dataDir);
      const startAt = Date.now() + 1_500;
      const group = Array.from({ length: contenders }, () => contend(dataDir, startAt));
      const answers = await Promise.all(group.map((contender) => contender.answer));
      expect(answers.filter((answer) => answer === 'held'), `round ${round}: ${answers.join(', ')}`).toHaveLength(1);
      expect(answers.filter((answer) => answer === 'locked')).toHaveLength(contenders - 1);
      await Promise.all(group.map((contender) => contender.kill()));
    }
  });

  it('runs exactly one of two `gatehouse serve` started together on a folder with a stale lock', async () => {
    const dataDir = tempDir();
    await leaveStaleLock(dataDir);
    const started = await Promise.allSettled([spawnGatehouse({ dataDir, env: {} }), spawnGatehouse({ dataDir, env: {} })]);
    const running = started.filter((result): result is PromiseFulfilledResult<GatehouseProcess> => result.status === 'fulfilled');
    const refused = started.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    try {
      expect(running).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(String(refused[0]!.reason)).toMatch(/data folder .* is in use by another Gatehouse process/);
    } finally {
      await Promise.all(running.map((result) => result.value.stop()));
    }
    // A clean stop releases the lock (only the moved-away stale one is kept for a while).
    const left = readdirSync(dataDir).filter((name) => name.startsWith('gatehouse.lock') && !name.startsWith('gatehouse.lock.stale-'));
    const winner = running[0]!.value;
    expect(left, `exit ${winner.process.exitCode ?? winner.process.signalCode}: ${winner.output()}`).toEqual([]);
    const again = await spawnGatehouse({ dataDir, env: {} });
    await again.stop();
  });
});
