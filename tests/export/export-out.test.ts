// --out writes atomically: the file appears complete or not at all, the
// temporary file never stays, and an export that fails halfway (a corrupt
// row, a write the kernel refuses) leaves the destination as it was.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/model.js';
import { Store } from '../../src/store/store.js';
import { fixtureMeasurements, fixtureRuns, makeFixtureDb, runExport, type FixtureDb } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let fx: FixtureDb | undefined;
afterEach(() => fx?.cleanup());

/** Files an export may have left in the directory besides the database and its WAL companions. */
function leftovers(dir: string, keep: string[]): string[] {
  return readdirSync(dir).filter((f) => !/^rasad\.db(-wal|-shm)?$/.test(f) && !keep.includes(f));
}

/** The fixtures plus `extra` copies of the ok HTTP measurement (about 1.5 KB each), the last one corrupt in the database if asked. */
function bigDb(extra: number, corruptLast: boolean): FixtureDb {
  const base = fixtureMeasurements();
  const template = base.find((m) => m.probe === 'http' && m.verdict === 'ok')!;
  const longRun = fixtureRuns()[1]!.run_id;
  const copies: Measurement[] = Array.from({ length: extra }, (_, i) => ({
    ...structuredClone(template),
    measurement_id: `copy-${String(i).padStart(4, '0')}`,
    run_id: longRun,
    started_at: new Date(Date.parse('2025-06-01T14:00:00Z') + i * 1000).toISOString(),
  }));
  const db = makeFixtureDb([...base, ...copies]);
  if (!corruptLast) return db;
  const store = Store.open(db.db);
  store.db.prepare(`UPDATE measurements SET record = '{"measurement_id": "copy-' || ? || '", trunc' WHERE measurement_id = ?`).run(extra - 1, `copy-${String(extra - 1).padStart(4, '0')}`);
  store.close();
  return db;
}

describe('--out', () => {
  it('writes the same bytes as stdout would get, and leaves no temporary file', async () => {
    fx = makeFixtureDb();
    for (const format of ['jsonl', 'csv', 'ooni']) {
      const out = `export.${format}`;
      const viaStdout = await runExport(['--db', fx.db, '--format', format]);
      const viaFile = await runExport(['--db', 'rasad.db', '--format', format, '--out', out], { cwd: fx.dir });
      expect(viaFile.code).toBe(0);
      expect(viaFile.stdout).toBe('');
      expect(viaFile.stderr).toMatch(new RegExp(`written to .*${out.replace('.', '\\.')}\\n$`));
      expect(readFileSync(join(fx.dir, out), 'utf8')).toBe(viaStdout.stdout);
    }
    expect(leftovers(fx.dir, ['export.jsonl', 'export.csv', 'export.ooni'])).toEqual([]);
  });

  it('replaces an earlier export only when the new one is complete', async () => {
    fx = makeFixtureDb();
    const out = join(fx.dir, 'export.jsonl');
    writeFileSync(out, 'the previous export\n');
    const { code } = await runExport(['--db', fx.db, '--format', 'jsonl', '--verdict', 'throttled', '--out', out]);
    expect(code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).probe)).toEqual(['throughput']);
  });

  it('writes every readable row when one turns out corrupt, counts the one it skipped, and exits 1', async () => {
    fx = bigDb(300, true);
    const out = join(fx.dir, 'export.jsonl');
    const { code, stdout, stderr } = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', out]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/rasad export: incomplete, the database is damaged \(1 unreadable row skipped\)/);
    // Every line written is valid JSON: the damaged row is left out, not written broken (issue 16: 16 of 365 lines were invalid).
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(313);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(leftovers(fx.dir, ['export.jsonl'])).toEqual([]);
  });

  it('says so on stdout exports too: the readable rows, then exit 1', async () => {
    fx = bigDb(300, true);
    const { code, stdout, stderr } = await runExport(['--db', fx.db, '--format', 'csv']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/1 unreadable row skipped/);
    expect(stdout.split('\r\n').filter(Boolean).length).toBeGreaterThanOrEqual(314);
  });

  it('leaves nothing behind when the kernel refuses a write (file size limit: EFBIG)', async () => {
    fx = bigDb(300, false);
    const out = join(fx.dir, 'export.jsonl');
    // A real failing write: a child process whose file size is capped at 64 KiB (RLIMIT_FSIZE; Node ignores SIGXFSZ, so write() fails with EFBIG).
    const runner = `import { exportCommand } from ${JSON.stringify(join(ROOT, 'src/cli/commands/export.ts'))};
      process.exitCode = await exportCommand.run(process.argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });`;
    const child = spawn('prlimit', ['--fsize=65536', process.execPath, '--import', 'tsx', '--input-type=module', '-e', runner, '--', '--db', fx.db, '--format', 'jsonl', '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toMatch(/rasad export: failed after \d+ rows: .*(EFBIG|too large).*was not written/);
    expect(code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(leftovers(fx.dir, [])).toEqual([]);
  });
});

// A shell writes `> /dev/null` or `> fifo` in place; so must --out. Renaming a
// temporary file over such a destination replaced the node itself: as root,
// `--out /dev/full` made /dev/full a regular file holding the export.
describe('--out to what is not a regular file', () => {
  const needsRoot = () => {
    if (process.getuid?.() !== 0) throw new Error('mknod needs root (CI runs as root)');
  };
  /** A device node of our own, beside the database: the real /dev is never touched. */
  function deviceNode(dir: string, name: string, spec: string): string {
    needsRoot();
    const path = join(dir, name);
    execFileSync('mknod', ['-m', '666', path, ...spec.split(' ')]);
    return path;
  }

  it('writes a character device in place, which stays a device (a null device takes it all; a full one fails the export, exit 1)', async () => {
    fx = makeFixtureDb();
    const nul = deviceNode(fx.dir, 'null', 'c 1 3');
    const ok = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', nul]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/written to .*null\n$/);
    expect(lstatSync(nul).isCharacterDevice()).toBe(true);
    const full = deviceNode(fx.dir, 'full', 'c 1 7');
    const failed = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', full]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/rasad export: failed after \d+ rows: .*ENOSPC.*not a regular file and was written in place/);
    expect(lstatSync(full).isCharacterDevice()).toBe(true);
    expect(leftovers(fx.dir, ['null', 'full'])).toEqual([]);
  });

  it('writes a FIFO in place: the reader gets every line, and the FIFO stays one', async () => {
    fx = makeFixtureDb();
    const fifo = join(fx.dir, 'export.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = new Promise<string>((resolve, reject) => {
      // Bounded: a reader left waiting on a FIFO nobody opens would outlive the test.
      const cat = spawn('timeout', ['20', 'cat', fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      cat.stdout.on('data', (d: Buffer) => (text += d.toString()));
      cat.on('error', reject);
      cat.on('close', () => resolve(text));
    });
    const viaStdout = await runExport(['--db', fx.db, '--format', 'csv']);
    const viaFifo = await runExport(['--db', fx.db, '--format', 'csv', '--out', fifo]);
    expect(viaFifo.code).toBe(0);
    expect(await reader).toBe(viaStdout.stdout);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(leftovers(fx.dir, ['export.fifo'])).toEqual([]);
  });

  it('through a symlink, replaces the file it names atomically and leaves the link a link', async () => {
    fx = makeFixtureDb();
    const real = join(fx.dir, 'exports-real.jsonl');
    writeFileSync(real, 'the previous export\n');
    const link = join(fx.dir, 'latest.jsonl');
    symlinkSync(real, link);
    const viaStdout = await runExport(['--db', fx.db, '--format', 'jsonl']);
    const { code } = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', link]);
    expect(code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe(viaStdout.stdout);
    expect(leftovers(fx.dir, ['exports-real.jsonl', 'latest.jsonl'])).toEqual([]);
  });

  it('refuses a block device (a disk) and a socket, before writing anything', async () => {
    fx = makeFixtureDb();
    const disk = deviceNode(fx.dir, 'disk', 'b 7 200');
    const refusal = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', disk]).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(refusal?.message).toMatch(/--out .*disk: is a block device/);
    const server = createServer();
    const socketPath = join(fx.dir, 'export.sock');
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const refused = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', socketPath]).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(refused?.message).toMatch(/--out .*export\.sock: is a socket/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(lstatSync(disk).isBlockDevice()).toBe(true);
  });
});

describe('progress', () => {
  it('draws a bar on a terminal stderr, reaching done/total', async () => {
    fx = makeFixtureDb();
    const { stderr } = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', join(fx.dir, 'x.jsonl')], { stderrTTY: true });
    expect(stderr).toMatch(/\r.*\[#+\] 14\/14 100%/);
  });

  it('draws nothing when stderr is not a terminal', async () => {
    fx = makeFixtureDb();
    const { stderr } = await runExport(['--db', fx.db, '--format', 'jsonl', '--out', join(fx.dir, 'x.jsonl')]);
    expect(stderr).not.toContain('\r');
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
