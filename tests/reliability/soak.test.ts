// Resource bounds: the real daemon sweeps a loopback world many times in a
// row; its open file descriptors and memory stay flat after warm-up.
import BetterSqlite3 from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../helpers/rasad.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample(pid: number): { fds: number; rssKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) };
}

describe('soak: many quick sweeps', () => {
  let site: Server;
  let port: number;
  beforeAll(async () => {
    // Some targets answer, some reset, some hang until the probe's timeout.
    site = createServer((req, res) => {
      if (req.url?.startsWith('/reset')) return req.socket.resetAndDestroy();
      if (req.url?.startsWith('/hang')) return;
      res.end('<html><head><title>soak</title></head><body>' + 'y'.repeat(5000) + '</body></html>');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    port = (site.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => site.close(() => r())));

  it('keeps file descriptors and memory flat over dozens of sweeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-soak-'));
    const db = join(dir, 'rasad.db');
    const targets = join(dir, 'targets.txt');
    const paths = ['ok1', 'ok2', 'ok3', 'ok4', 'reset1', 'reset2', 'hang1', 'ok5'];
    writeFileSync(targets, paths.map((p) => `http://127.0.0.1:${port}/${p} NEWS`).join('\n') + `\nhttp://127.0.0.1:1/refused MISC\n`);
    const config = join(dir, 'rasad.json');
    writeFileSync(config, JSON.stringify({
      db, targets, retries: 0, http: { enabled: true, port: 0 },
      probe: { timeoutMs: 300 },
      schedules: { web: { probes: ['dns', 'tcp', 'http'], everyS: 0.2, jitterS: 0, concurrency: 8 }, long: { probes: ['protocol'], everyS: 86400, jitterS: 0, concurrency: 1 } },
    }));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '--config', config], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log = (log + d).slice(-20_000)));
    const runs = () => {
      const conn = new BetterSqlite3(db, { readonly: true });
      try {
        return (conn.prepare(`SELECT count(*) n FROM runs WHERE status = 'complete' AND probes LIKE '%http%'`).get() as { n: number }).n;
      } finally {
        conn.close();
      }
    };
    const waitRuns = async (n: number) => {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        try {
          if (runs() >= n) return;
        } catch {
          // not created yet
        }
        await sleep(100);
      }
      throw new Error(`fewer than ${n} sweeps in time:\n${log}`);
    };
    try {
      await waitRuns(8);
      const warm = sample(child.pid!);
      await waitRuns(32);
      const late = sample(child.pid!);
      // A leak of one socket per target per sweep would add hundreds of descriptors over 24 sweeps.
      expect(late.fds - warm.fds).toBeLessThanOrEqual(8);
      // Memory: bounded growth (V8 settles its heap), far below what keeping 24 sweeps' records would take.
      expect(late.rssKiB - warm.rssKiB).toBeLessThan(40 * 1024);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
    expect(child.exitCode, log).toBe(0);
  }, 240_000);
});
