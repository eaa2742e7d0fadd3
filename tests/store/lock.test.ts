// One writer per database (issue 16 #3) and migrations that two first runs
// can race (issue 16 #4). Real files in temp dirs, real second processes.
import BetterSqlite3 from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, lutimesSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, schemaVersion } from '../../src/store/migrations.js';
import { Store, StoreOpenError, lockPathFor } from '../../src/store/store.js';
import { REPO_ROOT } from '../helpers/rasad.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rasad-lock-'));
const CHILD = join(import.meta.dirname, 'open-child.ts');
const NEWEST = Math.max(...MIGRATIONS.map((m) => m.version));

type ChildSays = { ok: boolean; code?: string; message?: string; applied?: number[]; pid?: number };

function runChild(mode: string, file: string, startAt = 0): Promise<ChildSays> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, file, String(startAt)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildSays);
      } catch {
        reject(new Error(`child said nothing readable: ${out} ${err}`));
      }
    });
  });
}

/** A process holding a writable store until `release` is called. */
async function holder(file: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'hold', file], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const said = await new Promise<ChildSays>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as ChildSays);
    });
    child.on('close', () => reject(new Error(`holder exited: ${out}`)));
  });
  if (!said.ok) throw new Error(`holder could not open: ${said.message}`);
  return {
    pid: said.pid!,
    release: () =>
      new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.stdin.end();
      }),
  };
}

describe('the single-instance lock', () => {
  it('refuses a second writable open, naming the lock file and the pid, and is released on close', () => {
    const file = join(tmp(), 'rasad.db');
    const first = Store.open(file);
    expect(readFileSync(lockPathFor(file), 'utf8').trim()).toBe(String(process.pid));
    let error: StoreOpenError | undefined;
    try {
      Store.open(file);
    } catch (err) {
      error = err as StoreOpenError;
    }
    expect(error).toBeInstanceOf(StoreOpenError);
    expect(error!.code).toBe('RASAD_DB_LOCKED');
    expect(error!.message).toContain(`${file}.lock`);
    expect(error!.message).toContain(`pid ${process.pid}`);
    expect(error!.message).not.toContain('\n');
    // Readers take no lock, even while the writer holds it.
    const reader = Store.openReadOnly(file);
    expect(reader.countMeasurements()).toBe(0);
    reader.close();
    first.close();
    expect(existsSync(lockPathFor(file))).toBe(false);
    Store.open(file).close();
  });

  it('refuses a second daemon in another process, and lets it in once the first is gone', async () => {
    const file = join(tmp(), 'rasad.db');
    const first = await holder(file);
    const second = await runChild('open', file);
    expect(second).toMatchObject({ ok: false, code: 'RASAD_DB_LOCKED' });
    expect(second.message).toContain(`pid ${first.pid}`);
    expect(second.message).toContain(`${file}.lock`);
    await first.release();
    expect(await runChild('open', file)).toMatchObject({ ok: true });
  }, 30_000);

  it('takes over a stale lock left by a process that died', () => {
    const file = join(tmp(), 'rasad.db');
    Store.open(file).close();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lockPathFor(file), `${dead}\n`);
    const store = Store.open(file);
    expect(readFileSync(lockPathFor(file), 'utf8').trim()).toBe(String(process.pid));
    store.close();
  });

  // What sits at <db>.lock in a shared directory may be anything. None of it is read to its end or waited on.
  describe('a lock path that holds no pid', () => {
    const old = new Date(Date.now() - 60_000);
    const kinds: [string, (path: string) => void][] = [
      ['a symlink to /dev/zero', (path) => symlinkSync('/dev/zero', path)],
      ['a FIFO nobody writes to', (path) => expect(spawnSync('mkfifo', [path]).status).toBe(0)],
      ['a 1 MiB file of digits', (path) => writeFileSync(path, '7'.repeat(1024 * 1024))],
      ['a pid padded past what rasad writes', (path) => writeFileSync(path, `${process.pid}${' '.repeat(40)}\n`)],
    ];
    for (const [kind, make] of kinds) {
      it(`${kind}: refused while fresh (pid unknown), taken over once old, and nothing behind it touched`, () => {
        const file = join(tmp(), 'rasad.db');
        Store.open(file).close();
        const lock = lockPathFor(file);
        make(lock);
        let error: unknown;
        try {
          Store.open(file).close();
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(StoreOpenError);
        expect((error as StoreOpenError).message).toContain('pid unknown');
        lutimesSync(lock, old, old);
        const store = Store.open(file);
        expect(lstatSync(lock).isFile()).toBe(true);
        expect(readFileSync(lock, 'utf8').trim()).toBe(String(process.pid));
        store.close();
        expect(existsSync(lock)).toBe(false);
        expect(statSync('/dev/zero').isCharacterDevice()).toBe(true);
      }, 15_000);
    }
  });

  it('leaves no lock behind when the open fails', () => {
    const file = join(tmp(), 'future.db');
    const db = new BetterSqlite3(file);
    db.pragma('user_version = 9999');
    db.close();
    expect(() => Store.open(file)).toThrow(/newer than this rasad knows/);
    expect(existsSync(lockPathFor(file))).toBe(false);
  });
});

describe('two first runs on a new file', () => {
  it('migrate it once between them: neither sees "table runs already exists"', async () => {
    for (let round = 0; round < 3; round++) {
      const file = join(tmp(), 'new.db');
      const startAt = Date.now() + 1500;
      const results = await Promise.all([runChild('migrate', file, startAt), runChild('migrate', file, startAt)]);
      expect(results.map((r) => r.message ?? '')).toEqual(['', '']);
      // Exactly one applied the migrations; the other found them applied.
      expect(results.map((r) => r.applied!.length).sort()).toEqual([0, NEWEST]);
      const db = new BetterSqlite3(file, { readonly: true });
      expect(schemaVersion(db)).toBe(NEWEST);
      db.close();
    }
  }, 60_000);

  it('through Store.open: one opens, the other is told the file is locked, never a schema error', async () => {
    const file = join(tmp(), 'new.db');
    const startAt = Date.now() + 1500;
    const results = await Promise.all([runChild('open', file, startAt), runChild('open', file, startAt)]);
    expect(results.some((r) => r.ok)).toBe(true);
    for (const r of results) if (!r.ok) expect(r.code, r.message).toBe('RASAD_DB_LOCKED');
    const store = Store.open(file);
    expect(schemaVersion(store.db)).toBe(NEWEST);
    store.close();
  }, 60_000);
});
