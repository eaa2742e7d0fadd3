// A --db that names something other than a database file: a FIFO (SQLite's
// read-only open waited on it forever: `rasad export` and `rasad status`
// hung), a device, a directory, or a FIFO where the -wal file goes. Each is
// refused at once, by every kind of open, with what the path is; nothing is
// created beside it and nothing it points to is touched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, StoreOpenError, lockPathFor } from '../../src/store/store.js';
import { rasad } from '../helpers/rasad.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rasad-special-'));

function mkfifo(path: string): void {
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
}

function refusal(open: () => Store): StoreOpenError {
  let error: unknown;
  try {
    open().close();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(StoreOpenError);
  return error as StoreOpenError;
}

const opens: [string, (file: string) => Store][] = [
  ['a writable open', (file) => Store.open(file)],
  ['a read-only open', (file) => Store.openReadOnly(file)],
];

describe('a --db path that is not a database file', () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    [
      'a FIFO',
      (dir) => {
        const path = join(dir, 'pipe.db');
        mkfifo(path);
        return path;
      },
      /is a FIFO \(named pipe\), not a database file/,
    ],
    ['/dev/null', () => '/dev/null', /is a character device, not a database file/],
    [
      'a symlink to /dev/zero',
      (dir) => {
        const path = join(dir, 'zero.db');
        symlinkSync('/dev/zero', path);
        return path;
      },
      /is a character device, not a database file/,
    ],
    [
      'a directory',
      (dir) => {
        const path = join(dir, 'folder.db');
        mkdirSync(path);
        return path;
      },
      /is a directory, not a database file/,
    ],
  ];
  for (const [kind, make, said] of cases) {
    for (const [how, open] of opens) {
      it(`${kind}: ${how} is refused at once, saying what the path is, and leaves no lock`, () => {
        const dir = tmp();
        const file = make(dir);
        const error = refusal(() => open(file));
        expect(error.message).toMatch(said);
        expect(error.message.startsWith(`${file}: `)).toBe(true);
        expect(existsSync(lockPathFor(file))).toBe(false);
        expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
        expect(statSync('/dev/zero').isCharacterDevice()).toBe(true);
      });
    }
  }

  it('a FIFO where the write-ahead log goes, beside a real database: both opens name it', () => {
    const dir = tmp();
    const file = join(dir, 'rasad.db');
    Store.open(file).close();
    mkfifo(`${file}-wal`);
    for (const [, open] of opens) expect(refusal(() => open(file)).message).toContain(`its write-ahead log ${file}-wal is a FIFO`);
    expect(existsSync(lockPathFor(file))).toBe(false);
  });

  it('a directory where the shared-memory file goes is named too', () => {
    const dir = tmp();
    const file = join(dir, 'rasad.db');
    Store.open(file).close();
    mkdirSync(`${file}-shm`);
    expect(refusal(() => Store.open(file)).message).toContain(`its shared-memory file ${file}-shm is a directory`);
  });

  it('a symlink to a real database file still opens (only what it points to counts)', () => {
    const dir = tmp();
    const file = join(dir, 'real.db');
    const store = Store.open(file);
    store.close();
    const link = join(dir, 'link.db');
    symlinkSync(file, link);
    const reader = Store.openReadOnly(link);
    expect(reader.countMeasurements()).toBe(0);
    reader.close();
  });

  it('a regular file that is not SQLite is still told apart from these (not a database, not a special file)', () => {
    const dir = tmp();
    const file = join(dir, 'text.db');
    writeFileSync(file, 'hello, this is not SQLite\n'.repeat(100));
    const error = refusal(() => Store.openReadOnly(file));
    expect(error.message).not.toMatch(/FIFO|device|directory/);
  });
});

describe('the commands, on a FIFO given as --db', () => {
  // Before, SQLite's read-only open waited for a writer that never came: both hung until killed.
  it('export and status exit 2 with the reason instead of waiting on it', async () => {
    const dir = tmp();
    const fifo = join(dir, 'pipe.db');
    mkfifo(fifo);
    for (const args of [
      ['export', '--db', fifo, '--format', 'csv'],
      ['status', '--db', fifo],
    ]) {
      const result = await rasad(args, { timeoutMs: 30_000 });
      expect(result.signal).toBeNull();
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('is a FIFO (named pipe), not a database file');
      expect(result.stdout).toBe('');
    }
  }, 60_000);
});
