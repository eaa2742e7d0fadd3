// The volunteer's second command, for real: `npm start` on the bundled
// targets inside a network namespace with only loopback. Every probe fails
// fast (nothing is reachable, and no packet can leave), every measurement
// records a failure, nothing crashes, and SIGTERM stops it with exit code 0.
import BetterSqlite3 from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/rasad.js';

const ns = `rasad-start-${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('npm start in an empty network namespace', () => {
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root to create a network namespace (CI runs as root)');
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it('sweeps the bundled list, records a failure for everything, and stops cleanly', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'rasad-start-')), 'rasad.db');
    const child = spawn('ip', ['netns', 'exec', ns, 'npm', 'start', '--silent'], {
      cwd: REPO_ROOT,
      env: { ...process.env, RASAD_DB: db, RASAD_HTTP_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    try {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && !/"schedule":"web","status":"complete"/.test(log)) await sleep(200);
      expect(log).toMatch(/"schedule":"web","status":"complete"/);
      await sleep(500);
      expect(child.exitCode).toBeNull();
    } finally {
      // npm runs the daemon as its child: signal the daemon itself.
      execFileSync('pkill', ['-TERM', '-f', '^node .*dist/src/cli.js run']);
      await new Promise((r) => child.once('close', r));
    }
    expect(child.exitCode, log.slice(-2000)).toBe(0);
    expect(log).toMatch(/"msg":"stopped"/);

    const conn = new BetterSqlite3(db, { readonly: true });
    const rows = conn.prepare(`SELECT probe, failure, verdict FROM measurements`).all() as { probe: string; failure: string | null; verdict: string }[];
    conn.close();
    expect(rows.length).toBeGreaterThan(100);
    // Nothing is reachable: every measurement failed, and the verdict blames the network, not the targets.
    expect(rows.filter((r) => r.failure === null)).toEqual([]);
    expect(new Set(rows.map((r) => r.verdict))).toEqual(new Set(['network.offline']));
    // Failures are OONI strings, not crashes: no internal error reached the log.
    expect(log).not.toMatch(/internal error|Unhandled|ERR_/);
  }, 240_000);
});
