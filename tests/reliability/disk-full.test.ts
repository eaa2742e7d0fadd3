// A full disk with the real daemon: measurements are dropped with a logged
// error, the daemon keeps sweeping, and it stores again once there is room.
// Needs root (it mounts a small tmpfs for the database).
import BetterSqlite3 from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../helpers/rasad.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the disk fills up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rasad-full-'));
  const mnt = join(dir, 'mnt');
  let site: Server;
  let port: number;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root: it mounts a tmpfs to fill (run the suite as root, as CI does)');
    execFileSync('mkdir', ['-p', mnt]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
    site = createServer((_req, res) => res.end('<html><head><title>ok</title></head><body>' + 'x'.repeat(2000) + '</body></html>'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    port = (site.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => site?.close(() => r()));
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // Already unmounted or never mounted.
    }
  });

  it('drops measurements with a logged error, keeps running, and recovers', async () => {
    const db = join(mnt, 'rasad.db');
    const targets = join(dir, 'targets.txt');
    writeFileSync(targets, Array.from({ length: 8 }, (_, i) => `http://127.0.0.1:${port}/p${i} NEWS`).join('\n') + '\n');
    const config = join(dir, 'rasad.json');
    writeFileSync(config, JSON.stringify({
      db, targets, retries: 0, http: { enabled: false },
      schedules: { web: { probes: ['dns', 'tcp', 'http'], everyS: 1, jitterS: 0, concurrency: 4 }, long: { probes: ['protocol'], everyS: 86400, jitterS: 0, concurrency: 1 } },
    }));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '--config', config], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const count = () => {
      const conn = new BetterSqlite3(db, { readonly: true });
      try {
        return (conn.prepare(`SELECT count(*) n FROM measurements`).get() as { n: number }).n;
      } finally {
        conn.close();
      }
    };
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !/sweep complete/.test(log)) await sleep(100);
      expect(count()).toBeGreaterThan(0);

      // Fill the disk to the last byte.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // dd stops with "No space left on device": that is the point.
      }
      const droppedBefore = (log.match(/measurements dropped/g) ?? []).length;
      const until = Date.now() + 60_000;
      while (Date.now() < until && (log.match(/measurements dropped/g) ?? []).length === droppedBefore) await sleep(100);
      expect(log).toMatch(/measurements dropped: the database refused them/);
      expect(log).toMatch(/full/i);
      // Still alive, and still sweeping.
      await sleep(2500);
      expect(child.exitCode).toBeNull();

      // Room again: the next sweeps are stored.
      rmSync(join(mnt, 'filler'));
      const stored = count();
      const again = Date.now() + 60_000;
      while (Date.now() < again && count() <= stored) await sleep(200);
      expect(count()).toBeGreaterThan(stored);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
    expect(child.exitCode, log.slice(-3000)).toBe(0);
  }, 180_000);
});
