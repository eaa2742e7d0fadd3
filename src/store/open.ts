// Opening the database file. A writable open takes the single-writer lock,
// refuses a damaged file (SQLite's quick_check) before writing anything, and
// migrates under the lock; a read-only open takes no lock, writes nothing
// (no WAL pragma, no migration) and also works on read-only media.
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { acquireLock, type InstanceLock } from './lock.js';
import { STORE_ERROR_CODES, StoreOpenError, corruptAdvice } from './errors.js';
import { migrate } from './migrations.js';
import type { OpenOptions } from './types.js';

// better-sqlite3 reads this once, when its first database is opened (not
// when it is imported): URI file names are needed for `immutable=1`
// (read-only media, below). Plain paths, which are all the store gives it
// (resolved, absolute), mean what they did.
process.env.SQLITE_USE_URI ??= '1';

export interface OpenedDatabase {
  db: Database;
  /** Null for a read-only open and for ':memory:'. */
  lock: InstanceLock | null;
}

export function openDatabase(file: string, options: OpenOptions = {}): OpenedDatabase {
  const path = file === ':memory:' ? file : resolve(file);
  if (path !== ':memory:') refuseSpecialFiles(file, path);
  return options.readonly ? { db: openReadOnly(file, path), lock: null } : openWritable(file, path);
}

/** "a directory", "a FIFO", ...: what a path that should be a database file is instead, or null for a regular file. */
function notARegularFile(stats: Stats): string | null {
  if (stats.isFile()) return null;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device (a disk)';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * SQLite opens whatever is at the path: a FIFO nobody writes to blocks the
 * open forever (export and status hung), and /dev/null or a directory fail
 * with "disk I/O error" or "unable to open database file". The database and
 * its -wal and -shm files (symlinks followed) must be regular files or absent.
 */
function refuseSpecialFiles(file: string, path: string): void {
  for (const [candidate, role] of [
    [path, 'it'],
    [`${path}-wal`, `its write-ahead log ${path}-wal`],
    [`${path}-shm`, `its shared-memory file ${path}-shm`],
  ] as const) {
    let stats: Stats;
    try {
      stats = statSync(candidate);
    } catch {
      continue; // Absent (or unreadable: SQLite says why).
    }
    const kind = notARegularFile(stats);
    if (kind !== null) throw new StoreOpenError(file, `${role} is ${kind}, not a database file; give the path of a file`);
  }
}

function openWritable(file: string, path: string): OpenedDatabase {
  let lock: InstanceLock | null = null;
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new StoreOpenError(file, `cannot create its directory: ${(err as Error).message}`);
    }
    if (existsSync(path)) {
      // A file marked read-only is the volunteer's decision: honoured even as root, who bypasses modes.
      let writable = (statSync(path).mode & 0o222) !== 0;
      try {
        accessSync(path, constants.R_OK | constants.W_OK);
      } catch {
        writable = false;
      }
      if (!writable) throw new StoreOpenError(file, 'the database file is not writable (read-only file or wrong owner)');
    }
    lock = acquireLock(file, path);
  }
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(path);
    db.pragma('busy_timeout = 5000');
    // Reading the schema fails at once on a file that is not SQLite, before anything is written.
    db.pragma('schema_version', { simple: true });
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') throw new StoreOpenError(file, `${corruptAdvice(file)} [quick_check: ${String(check).replace(/\s+/g, ' ').trim()}]`, STORE_ERROR_CODES.corrupt);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    db.pragma('foreign_keys = ON');
    return { db, lock };
  } catch (err) {
    db?.close();
    lock?.release();
    throw openError(file, err, 'write');
  }
}

function openReadOnly(file: string, path: string): Database {
  if (path !== ':memory:' && !existsSync(path)) throw new StoreOpenError(file, 'no such database file');
  try {
    return readable(new BetterSqlite3(path, { readonly: true, fileMustExist: true }));
  } catch (err) {
    // A WAL database on read-only media (or in a directory this user cannot
    // write) cannot get its -shm file. With no -wal beside it, every
    // committed row is in the file itself, and nobody can be writing it:
    // SQLite may read it as immutable.
    const code = (err as { code?: string }).code;
    if (code !== 'SQLITE_CANTOPEN' || path === ':memory:' || existsSync(`${path}-wal`)) throw openError(file, err, 'read');
    try {
      return readable(new BetterSqlite3(immutableUri(path), { readonly: true, fileMustExist: true }));
    } catch (again) {
      throw openError(file, again, 'read');
    }
  }
}

/** Reads the schema (which fails at once on a file that is not SQLite) and sets the busy timeout; closes the connection on failure. */
function readable(db: Database): Database {
  try {
    db.pragma('schema_version', { simple: true });
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function immutableUri(path: string): string {
  return `file:${encodeURI(path).replace(/\?/g, '%3F').replace(/#/g, '%23')}?immutable=1`;
}

function openError(file: string, err: unknown, mode: 'read' | 'write'): StoreOpenError {
  if (err instanceof StoreOpenError) return err;
  const e = err as Error & { code?: string };
  if (e.code === 'SQLITE_NOTADB' || e.code?.startsWith('SQLITE_CORRUPT')) return new StoreOpenError(file, corruptAdvice(file), STORE_ERROR_CODES.corrupt);
  if (e.code === 'SQLITE_READONLY' || e.code === 'SQLITE_CANTOPEN') return new StoreOpenError(file, `cannot open for ${mode === 'write' ? 'writing' : 'reading'} (${e.message})`);
  if (/newer than this rasad knows/.test(e.message)) return new StoreOpenError(file, e.message, STORE_ERROR_CODES.schema);
  return new StoreOpenError(file, e.message);
}
