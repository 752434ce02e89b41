import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A held lock on an embedded data folder. */
export interface DataDirLock {
  release(): void;
}

/** Another live process already holds the data folder. */
export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The data folder ${dataDir} is in use by another Gatehouse process (pid ${pid}). ` +
        'Stop that process, or give this one its own --data-dir. For several processes, use PostgreSQL (DATABASE_URL).',
    );
    this.name = 'DataDirLockedError';
  }
}

const LOCK_NAME = 'gatehouse.lock';
const STALE_PREFIX = `${LOCK_NAME}.stale-`;
const OWNER_FILE = 'owner';
/** Every round either takes the lock, finds a live holder, or moves a dead one away; a few suffice. */
const MAX_ATTEMPTS = 20;
/** How long a moved-away stale lock is kept (its name must stay taken while racers may still act). */
const STALE_KEEP_MS = 60_000;
/** What `rename(2)` answers when its target exists (a lock directory, or an old-style lock file). */
const TARGET_EXISTS = new Set(['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR']);

/**
 * Takes `<dataDir>/gatehouse.lock`. A lock left by a process that no longer runs (crash, SIGKILL) is
 * taken over; a lock of a live process is refused with {@link DataDirLockedError}.
 *
 * The lock is a directory holding an `owner` file (`<pid> <nonce>`), and both steps that change it
 * are a single `rename(2)`, which is atomic, so processes starting at the same moment cannot both win:
 * - taking: the owner file is written in a private directory first, which is then renamed to
 *   `gatehouse.lock`. Renaming onto an existing non-empty directory fails, so this is an exclusive
 *   create, and a reader never sees a lock without its owner.
 * - taking over: a dead holder's lock is renamed to `gatehouse.lock.stale-<its nonce>`. That name is
 *   unique to that one stale lock, so a second process that saw the same stale owner fails to rename
 *   (the name is taken) instead of moving away the fresh lock the first process just made. The stale
 *   directory (a few bytes) is therefore kept for a while; a later holder removes those over
 *   {@link STALE_KEEP_MS} old, when no process can still be about to rename onto their names.
 * - releasing: the lock is renamed to a private name before it is deleted, so a process taking the
 *   lock at that moment never has its new owner file deleted under it.
 *
 * @throws DataDirLockedError when a live process holds the folder
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const lockPath = join(dataDir, LOCK_NAME);
  const nonce = randomBytes(12).toString('hex');
  const owner = `${process.pid} ${nonce}`;
  const candidate = join(dataDir, `${LOCK_NAME}.new-${nonce}`);
  mkdirSync(candidate, { mode: 0o700 });
  writeFileSync(join(candidate, OWNER_FILE), owner, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        renameSync(candidate, lockPath);
        return heldLock(dataDir, lockPath, owner);
      } catch (error) {
        if (!TARGET_EXISTS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      }
      const holder = readOwner(lockPath);
      if (holder === undefined) continue; // released or moved away meanwhile: try again
      if (holder.pid > 0 && isAlive(holder.pid)) throw new DataDirLockedError(dataDir, holder.pid);
      const stalePath = join(dataDir, `${STALE_PREFIX}${holder.tag}`);
      try {
        renameSync(lockPath, stalePath);
        // Its age now counts from the takeover (see STALE_KEEP_MS), not from the dead holder's start.
        const now = new Date();
        utimesSync(stalePath, now, now);
      } catch {
        // Someone else moved this stale lock first (the stale name is taken, or the lock is gone).
      }
    }
    throw new Error(`Could not lock the data folder ${dataDir}: ${lockPath} keeps changing`);
  } finally {
    rmSync(candidate, { recursive: true, force: true });
  }
}

function heldLock(dataDir: string, lockPath: string, owner: string): DataDirLock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        if (readFileSync(join(lockPath, OWNER_FILE), 'utf8') !== owner) return;
        // A live holder's lock is never moved by others, so nothing changes between check and rename.
        const releasedPath = join(dataDir, `${LOCK_NAME}.released-${owner.split(' ')[1]}`);
        renameSync(lockPath, releasedPath);
        rmSync(releasedPath, { recursive: true, force: true });
        removeOldStaleLocks(dataDir);
      } catch {
        // already gone
      }
    },
  };
}

function removeOldStaleLocks(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    if (!name.startsWith(STALE_PREFIX)) continue;
    const path = join(dataDir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_KEEP_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed by someone else
    }
  }
}

/**
 * The holder of the lock at `lockPath`: its pid, and a tag unique to that lock (its nonce, or for a
 * lock file of an older Gatehouse, which holds only a pid, that pid and the file's change time).
 * Undefined when there is no lock any more.
 */
function readOwner(lockPath: string): { pid: number; tag: string } | undefined {
  let content: string;
  let legacy = false;
  try {
    content = readFileSync(join(lockPath, OWNER_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') return undefined;
    legacy = true;
    try {
      content = readFileSync(lockPath, 'utf8');
    } catch {
      return undefined;
    }
  }
  const [pidText = '', nonce = ''] = content.trim().split(' ');
  const pid = Number(pidText);
  const tag = legacy ? `legacy-${pidText.replace(/\D/g, '')}-${statTag(lockPath)}` : nonce.replace(/[^0-9a-f]/g, '');
  return { pid: Number.isInteger(pid) ? pid : 0, tag: tag || 'unreadable' };
}

function statTag(path: string): string {
  try {
    return String(Math.trunc(statSync(path).ctimeMs));
  } catch {
    return 'gone';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
