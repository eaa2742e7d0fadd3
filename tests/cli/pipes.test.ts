// A reader that stops early (`rasad status --json | head -1`) ends the command
// quietly with exit 0, and `rasad --version` names the package's version.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { storeSweep } from '../alerts/helpers.js';
import { CLI, rasad, REPO_ROOT } from '../helpers/rasad.js';

/** Runs the CLI with stdout on a pipe that is closed after the first chunk arrives, as `| head -1` does. */
function runHeadOne(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; first: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let first = '';
    let stderr = '';
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString('utf8').split('\n')[0]!;
      child.stdout.destroy();
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, first, stderr });
    });
  });
}

let dir: string;
let db: string;
let csv: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-pipes-'));
  // Output far beyond a pipe's 64 KiB, so that the writer is still writing when the reader goes.
  db = join(dir, 'rasad.db');
  const store = Store.open(db);
  const units = Array.from({ length: 1500 }, (_, i) => ({ url: `https://site-${i}.example.test/some/path/for/length`, category: 'NEWS', verdict: 'ok' as const }));
  storeSweep(store, 'run-1', '2026-01-01T00:00:00.000Z', units);
  store.close();
  csv = join(dir, 'list.csv');
  const rows = Array.from({ length: 6000 }, (_, i) => `https://site-${i}.example.test/some/long/path/to/make/it/bigger,NEWS,News Media,2017-01-01,,`);
  writeFileSync(csv, `url,category_code,category_description,date_added,source,notes\n${rows.join('\n')}\n`);
});

describe('stdout closed early', () => {
  it.each([
    ['status --json', () => ['status', '--db', db, '--json']],
    ['status', () => ['status', '--db', db]],
    ['targets import-citizenlab', () => ['targets', 'import-citizenlab', csv]],
    ['export', () => ['export', '--db', db, '--format', 'jsonl']],
  ])('%s exits 0 with nothing on stderr', async (_name, args) => {
    const r = await runHeadOne(args());
    expect(r.first.length).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  });
});

describe('stdout that refuses the write (a full disk: /dev/full)', () => {
  /** Runs the CLI with stdout on /dev/full, where every write fails with ENOSPC. */
  function runOnFullDevice(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const full = openSync('/dev/full', 'w');
      const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', full, 'pipe'] });
      closeSync(full);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stderr });
      });
    });
  }

  it.each([
    ['status --json', () => ['status', '--db', db, '--json']],
    ['export', () => ['export', '--db', db, '--format', 'csv']],
  ])('%s says so in one line and exits 1, without a stack trace', async (_name, args) => {
    const r = await runOnFullDevice(args());
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rasad: cannot write to standard output \(ENOSPC: no space left on device, write\); the output is incomplete\n$/);
  });
});

describe('rasad --version', () => {
  it('prints "rasad <version from package.json>" for --version and for the version command', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const args of [['--version'], ['version']]) {
      const r = await rasad(args);
      expect(r.code, args[0]).toBe(0);
      expect(r.stdout, args[0]).toBe(`rasad ${version}\n`);
      expect(r.stderr, args[0]).toBe('');
    }
  });

  it('is listed in the overview, and refuses an argument', async () => {
    expect((await rasad(['--help'])).stdout).toContain('rasad --version');
    const r = await rasad(['version', 'extra']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rasad version: unexpected argument "extra"\n');
  });
});
