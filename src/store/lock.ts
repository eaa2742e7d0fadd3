// One writer per database: a lock file beside it (`<db>.lock`), created with
// O_EXCL and holding the owner's pid. A lock whose pid is no longer running
// (a daemon killed with -9, a power cut) is stale and taken over. The lock is
// released on close, and on process exit for a store never closed.
import { closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { STORE_ERROR_CODES, StoreOpenError } from './errors.js';

/** A lock file that is empty or unreadable is taken for one being written, until it is this old. */
const HALF_WRITTEN_GRACE_MS = 10_000;

const held = new Set<InstanceLock>();
let exitHookInstalled = false;

export class InstanceLock {
  private released = false;

  constructor(readonly path: string) {}

  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this);
    try {
      if (readPid(this.path) === process.pid) unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

export function lockPathFor(dbPath: string): string {
  return `${dbPath}.lock`;
}

/**
 * Takes the lock of the database at `dbPath` (absolute), or throws a
 * StoreOpenError (code RASAD_DB_LOCKED) naming the lock file and the pid
 * that holds it.
 */
export function acquireLock(file: string, dbPath: string): InstanceLock {
  const path = lockPathFor(dbPath);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EEXIST') throw new StoreOpenError(file, `cannot create the lock file ${path} (${e.code ?? e.message})`);
      const pid = readPid(path);
      if (pid !== null ? isRunning(pid) : !isOld(path)) {
        throw new StoreOpenError(
          file,
          `in use by another rasad (pid ${pid ?? 'unknown'}, lock file ${path}); stop it first, or delete the lock file if that process is not rasad`,
          STORE_ERROR_CODES.locked,
        );
      }
      takeOverStale(path, pid);
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    const lock = new InstanceLock(path);
    held.add(lock);
    installExitHook();
    return lock;
  }
  throw new StoreOpenError(file, `could not take the lock file ${path}: other processes keep replacing it`, STORE_ERROR_CODES.locked);
}

/** A pid and its newline fit in 24 bytes; a lock file holding more is not one rasad wrote. */
const MAX_LOCK_BYTES = 24;

/**
 * The pid a lock file holds, or null. The lock sits beside a database a user
 * named, often in a shared directory: what is found there may be a symlink to
 * /dev/zero, a FIFO nobody writes to, or a large file. None of them is read
 * to its end or waited on: only a regular file's first bytes are looked at.
 */
function readPid(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const bytes = Buffer.alloc(MAX_LOCK_BYTES + 1);
    const n = readSync(fd, bytes, 0, bytes.length, 0);
    if (n > MAX_LOCK_BYTES) return null;
    const text = bytes.toString('latin1', 0, n).trim();
    if (!/^[0-9]{1,10}$/.test(text)) return null;
    const pid = Number(text);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isOld(path: string): boolean {
  try {
    // The entry's own age (lstat): a symlink's target may be years old.
    return Date.now() - lstatSync(path).mtimeMs > HALF_WRITTEN_GRACE_MS;
  } catch {
    return true;
  }
}

/**
 * Moves a stale lock aside before deleting it, so that two processes taking
 * over the same stale lock at once cannot delete each other's fresh one: the
 * loser finds a different pid in what it moved and puts it back.
 */
function takeOverStale(path: string, stalePid: number | null): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // Gone already: someone else took it over; try again.
  }
  const moved = readPid(aside);
  if (moved !== stalePid && moved !== null && isRunning(moved)) {
    try {
      // link, not rename: never replaces a lock someone created meanwhile.
      linkSync(aside, path);
    } catch {
      // Someone holds the lock now: the next attempt reports them.
    }
    unlinkQuietly(aside);
    return;
  }
  unlinkQuietly(aside);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing to clean.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lock of [...held]) lock.release();
  });
}
