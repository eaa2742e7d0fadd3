// Crash safety with the real daemon: SIGKILL in the middle of a sweep, then a
// restart. Everything committed survives, the interrupted run is marked, the
// schedule resumes without a burst, and the undelivered alert is still queued
// and is delivered once the receiver is back.
import BetterSqlite3 from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../helpers/rasad.js';

const BLOCKPAGE = '<html><head><title>403</title></head><body><iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy" style="width:100%;height:100%"></iframe></body></html>';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startDaemon(config: string, dir: string): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '--config', config], { cwd: REPO_ROOT, env: { ...process.env, RASAD_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

function query<T>(db: string, sql: string, ...params: unknown[]): T[] {
  const conn = new BetterSqlite3(db, { readonly: true, fileMustExist: true });
  try {
    return conn.prepare(sql).all(...params) as T[];
  } finally {
    conn.close();
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (check()) return;
    } catch {
      // The database may not exist yet.
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('kill -9 in the middle of a sweep', () => {
  let site: Server;
  let sitePort: number;
  const received: { id: string; body: string }[] = [];
  let receiver: Server | null = null;
  let receiverPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'rasad-crash-'));
  const db = join(dir, 'rasad.db');

  beforeAll(async () => {
    // A site that serves the Iranian blockpage on /blocked and answers slowly on /slow, so a sweep is in flight for a while.
    site = createServer((req, res) => {
      if (req.url === '/blocked') {
        res.writeHead(403, { 'content-type': 'text/html', connection: 'close' });
        res.end(BLOCKPAGE);
        return;
      }
      setTimeout(() => res.end('<html><head><title>slow</title></head><body>ok</body></html>'), 700);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    sitePort = (site.address() as { port: number }).port;
    // Reserve a port for the webhook receiver, then close it: the receiver is "down" during the first life.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    receiverPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(async () => {
    await new Promise<void>((r) => site.close(() => r()));
    if (receiver) await new Promise<void>((r) => receiver!.close(() => r()));
  });

  function writeConfig(name: string, everyS: number): string {
    const targets = join(dir, 'targets.txt');
    const lines = [`http://127.0.0.1:${sitePort}/blocked NEWS`, ...Array.from({ length: 6 }, (_, i) => `http://127.0.0.1:${sitePort}/slow?${i} NEWS`)];
    writeFileSync(targets, lines.join('\n').replaceAll('?', '/q') + '\n');
    const config = {
      db,
      targets,
      schedules: {
        web: { probes: ['dns', 'tcp', 'http'], everyS, jitterS: 0, concurrency: 2 },
        long: { probes: ['protocol'], everyS: 86_400, jitterS: 0, concurrency: 1 },
      },
      retries: 0,
      confirmSweeps: 2,
      http: { enabled: false },
      webhooks: [{ url: `http://127.0.0.1:${receiverPort}/hook` }],
      probe: { timeoutMs: 3000 },
    };
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  it('keeps every committed measurement, marks the run, resumes calmly and delivers the queued alert', async () => {
    const first = startDaemon(writeConfig('first.json', 1), dir);
    try {
      // Two sweeps confirm the blockpage: one `blocked` event, whose alert cannot be delivered (the receiver is down).
      await waitFor('a queued blocked alert', () => query<{ n: number }>(db, `SELECT count(*) n FROM alert_outbox WHERE status = 'pending' AND kind = 'blocked'`)[0]!.n === 1);
      // Then wait until a web sweep is in flight and has committed part of its measurements.
      await waitFor('a sweep in flight with stored measurements', () => {
        const running = query<{ run_id: string; probes: string }>(db, `SELECT run_id, probes FROM runs WHERE status = 'running'`).filter((r) => r.probes.includes('http'));
        return running.length === 1 && query<{ n: number }>(db, `SELECT count(*) n FROM measurements WHERE run_id = ?`, running[0]!.run_id)[0]!.n > 0;
      });
    } finally {
      first.kill('SIGKILL');
      await new Promise((r) => first.once('close', r));
    }
    expect(first.signalCode).toBe('SIGKILL');

    const killedRun = query<{ run_id: string }>(db, `SELECT run_id FROM runs WHERE status = 'running' AND probes LIKE '%http%'`);
    expect(killedRun).toHaveLength(1);
    const committed = query<{ measurement_id: string; record: string }>(db, `SELECT measurement_id, record FROM measurements ORDER BY id`);
    const lastStart = query<{ s: string }>(db, `SELECT max(started_at) s FROM runs WHERE probes LIKE '%http%'`)[0]!.s;
    expect(committed.length).toBeGreaterThan(0);

    // The receiver comes up; the daemon restarts with a 30 s cadence, so the next web sweep is not due for a while.
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ id: String(req.headers['x-rasad-event-id']), body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver!.listen(receiverPort, '127.0.0.1', r));
    const second = startDaemon(writeConfig('second.json', 30), dir);
    try {
      await waitFor('the interrupted run to be marked', () => query<{ status: string }>(db, `SELECT status FROM runs WHERE run_id = ?`, killedRun[0]!.run_id)[0]!.status === 'interrupted');
      await waitFor('the queued alert to be delivered', () => received.length >= 1, 90_000);
      await sleep(1500);
      // No burst of catch-up sweeps: no new web run since the restart (the last one started under 30 s ago).
      const newWebRuns = query<{ n: number }>(db, `SELECT count(*) n FROM runs WHERE probes LIKE '%http%' AND started_at > ?`, lastStart)[0]!.n;
      expect(newWebRuns).toBe(0);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('close', r));
    }
    expect(second.exitCode, second.output()).toBe(0);

    // Every measurement committed before the kill is still there, byte for byte.
    const after = new Map(query<{ measurement_id: string; record: string }>(db, `SELECT measurement_id, record FROM measurements`).map((r) => [r.measurement_id, r.record]));
    for (const row of committed) expect(after.get(row.measurement_id)).toBe(row.record);
    expect(query<{ status: string }>(db, `SELECT status FROM runs WHERE run_id = ?`, killedRun[0]!.run_id)[0]!.status).toBe('interrupted');
    // Delivered once, and the outbox agrees.
    expect(received.filter((r) => JSON.parse(r.body).kind === 'blocked')).toHaveLength(1);
    expect(query<{ status: string }>(db, `SELECT status FROM alert_outbox WHERE kind = 'blocked'`).map((r) => r.status)).toEqual(['delivered']);
  }, 180_000);
});
