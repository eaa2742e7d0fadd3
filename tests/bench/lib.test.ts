// The bench helpers on their own, without root: the sweep world's DNS and
// HTTP servers on real loopback sockets (high ports, 127.0.0.1 only), the
// figures read back from a real store, the table round trip, the flags, the
// usage report and the teardown of a process that is signalled.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchUsageError, nonNegativeNumber, parseBenchFlags, positiveInt, positiveIntList } from '../../bench/lib/args.js';
import type { ProcessUsage } from '../../bench/lib/report-usage.js';
import { criticalPath, idealSeconds, median, readSweepDb, unitSpans, type StoredTiming } from '../../bench/lib/sweep-figures.js';
import { fixed, formatTable, parseTable } from '../../bench/lib/table.js';
import { MAX_TARGETS, startWorld, targetAddress, targetIndex, targetsFile, type World } from '../../bench/lib/world.js';
import { decodeMessage, encodeQuery, type DnsMessage } from '../../probes/dns_codec.js';
import type { Measurement } from '../../src/model.js';
import { Store } from '../../src/store/store.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

describe('world addressing', () => {
  it('gives every target its own loopback address, never 127.0.0.1, and maps names back to indexes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const ip = targetAddress(i);
      const octets = ip.split('.').map(Number);
      expect(octets[0]).toBe(127);
      for (const o of octets.slice(1)) expect(o >= 1 && o <= 254).toBe(true);
      seen.add(ip);
      expect(targetIndex(`t${i}.bench.test`, 2000)).toBe(i);
    }
    expect(seen.size).toBe(2000);
    expect(seen.has('127.0.0.1')).toBe(false);
    expect(targetAddress(0)).toBe('127.1.1.1');
    expect(targetAddress(MAX_TARGETS - 1)).toBe('127.1.254.254');
    expect(() => targetAddress(MAX_TARGETS)).toThrow(RangeError);
  });

  it('refuses names outside the world: other zones, indexes past the count, leading zeros', () => {
    expect(targetIndex('t5.bench.test', 5)).toBeNull();
    expect(targetIndex('t05.bench.test', 10)).toBeNull();
    expect(targetIndex('t1.bench.test.evil.org', 10)).toBeNull();
    expect(targetIndex('T3.BENCH.TEST.', 10)).toBe(3);
  });

  it('writes one http target line per target, each parseable as URL and category', () => {
    const lines = targetsFile(3).trim().split('\n').filter((l) => !l.startsWith('#'));
    expect(lines).toEqual(['http://t0.bench.test/ NEWS', 'http://t1.bench.test/ NEWS', 'http://t2.bench.test/ NEWS']);
  });
});

describe('the world servers (loopback, real sockets)', () => {
  const LATENCY_MS = 80;
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ targets: 10, latencyMs: LATENCY_MS, dnsHost: '127.0.0.1', dnsPort: 0, httpHost: '127.0.0.1', httpPort: 0 });
  });
  afterAll(async () => {
    await world.close();
  });

  function ask(packet: Buffer, waitMs = 2000): Promise<{ message: DnsMessage | null; ms: number }> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      const started = performance.now();
      const timer = setTimeout(() => {
        socket.close();
        resolve({ message: null, ms: performance.now() - started });
      }, waitMs);
      socket.on('error', reject);
      socket.on('message', (raw) => {
        clearTimeout(timer);
        socket.close();
        resolve({ message: decodeMessage(raw), ms: performance.now() - started });
      });
      socket.send(packet, world.dnsPort, '127.0.0.1');
    });
  }

  it('answers A for a target with its address, no sooner than the latency', async () => {
    const { message, ms } = await ask(encodeQuery('t7.bench.test', 'A', 0x1234));
    expect(message).not.toBeNull();
    expect(message!.id).toBe(0x1234);
    expect(message!.response).toBe(true);
    expect(message!.rcodeName).toBe('NOERROR');
    expect(message!.answers.map((a) => [a.typeName, a.value])).toEqual([['A', targetAddress(7)]]);
    expect(ms).toBeGreaterThanOrEqual(LATENCY_MS * 0.9);
  });

  it('answers AAAA with an empty NOERROR and unknown names with NXDOMAIN', async () => {
    const aaaa = await ask(encodeQuery('t7.bench.test', 'AAAA', 7));
    expect(aaaa.message!.rcodeName).toBe('NOERROR');
    expect(aaaa.message!.answers).toHaveLength(0);
    const outside = await ask(encodeQuery('t10.bench.test', 'A', 8));
    expect(outside.message!.rcodeName).toBe('NXDOMAIN');
    const other = await ask(encodeQuery('example.test', 'A', 9));
    expect(other.message!.rcodeName).toBe('NXDOMAIN');
  });

  it('drops garbage without a reply and keeps serving', async () => {
    const garbage = await ask(Buffer.from('not a dns message at all'), 400);
    expect(garbage.message).toBeNull();
    const after = await ask(encodeQuery('t1.bench.test', 'A', 10));
    expect(after.message!.answers[0]!.value).toBe(targetAddress(1));
  });

  it('serves every target over HTTP, no sooner than the latency, and counts what it saw', async () => {
    const before = world.stats();
    const started = performance.now();
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: world.httpPort, path: '/', headers: { host: 't3.bench.test' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const ms = performance.now() - started;
    expect(status).toBe(200);
    expect(body).toContain('<title>bench target t3.bench.test</title>');
    expect(ms).toBeGreaterThanOrEqual(LATENCY_MS * 0.9);
    const after = world.stats();
    expect(after.http_requests - before.http_requests).toBe(1);
    expect(after.http_connections - before.http_connections).toBe(1);
    expect(after.dns_queries).toBeGreaterThanOrEqual(6);
    expect(after.dns_receive_buffer).toBeGreaterThan(0);
  });
});

describe('figures from a sweep database', () => {
  const timing = (url: string, probe: string, startMs: number, runtimeMs: number): StoredTiming => ({
    url,
    probe,
    started_at: new Date(Date.UTC(2025, 0, 1) + startMs).toISOString(),
    runtime_ms: runtimeMs,
  });

  it('measures a unit from its first probe start to its last probe end, and takes the median over units', () => {
    const timings = [
      // A slow first (warm-up) unit, then two ordinary ones: the median ignores the warm-up.
      timing('http://t0/', 'dns', 0, 90), timing('http://t0/', 'tcp', 90, 10), timing('http://t0/', 'http', 100, 200),
      timing('http://t1/', 'dns', 1000, 50), timing('http://t1/', 'tcp', 1050, 2), timing('http://t1/', 'http', 1052, 60),
      timing('http://t2/', 'dns', 2000, 54), timing('http://t2/', 'tcp', 2054, 4), timing('http://t2/', 'http', 2058, 50),
    ];
    const spans = unitSpans(timings);
    expect(spans.map((s) => s.spanS)).toEqual([0.3, 0.112, 0.108]);
    const path = criticalPath(timings);
    expect(path.units).toBe(3);
    expect(path.unitS).toBeCloseTo(0.112, 9);
    expect(path.probeS).toEqual({ dns: 0.054, tcp: 0.004, http: 0.06 });
    expect(median([])).toBeNaN();
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('computes the ideal as full waves of the concurrency', () => {
    expect(idealSeconds(1000, 50, 0.1)).toBeCloseTo(2.0, 9);
    expect(idealSeconds(1000, 200, 0.1)).toBeCloseTo(0.5, 9);
    expect(idealSeconds(1001, 200, 0.1)).toBeCloseTo(0.6, 9);
    expect(idealSeconds(20, 50, 0.1)).toBeCloseTo(0.1, 9);
  });

  it('reads counts, verdicts, the sweep duration and timings from a real store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-lib-'));
    try {
      const file = join(dir, 'sweep.db');
      const store = Store.open(file);
      store.beginRun({ run_id: 'run-1', started_at: '2025-01-01T00:00:00.000Z', probes: ['dns', 'http'], inputs_total: 2 });
      const m = (id: string, url: string, probe: 'dns' | 'http', verdict: 'ok' | 'dns.injected', at: string, runtime: number): Measurement => ({
        measurement_id: id,
        run_id: 'run-1',
        target: url,
        url,
        category: 'NEWS',
        tags: [],
        probe,
        started_at: at,
        runtime_ms: runtime,
        failure: null,
        failed_operation: null,
        details: {},
        verdict,
        verdict_reason: 'test',
        control: null,
        evidence: {},
      });
      store.insertMeasurements([
        m('a', 'http://t0.bench.test/', 'dns', 'ok', '2025-01-01T00:00:00.000Z', 50),
        m('b', 'http://t0.bench.test/', 'http', 'ok', '2025-01-01T00:00:00.050Z', 60),
        m('c', 'http://t1.bench.test/', 'dns', 'dns.injected', '2025-01-01T00:00:01.000Z', 40),
      ]);
      store.finishRun('run-1', 'complete', { duration_s: 1.25, units: 2, measured: 2 });
      store.close();

      const figures = readSweepDb(file);
      expect(figures.measurements).toBe(3);
      expect(figures.runStatus).toBe('complete');
      expect(figures.sweepS).toBe(1.25);
      expect(figures.unitsMeasured).toBe(2);
      expect(figures.verdicts).toEqual({ ok: 2, 'dns.injected': 1 });
      expect(criticalPath(figures.timings).unitS).toBeCloseTo((0.11 + 0.04) / 2, 9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database that does not exist instead of creating one', () => {
    const missing = join(tmpdir(), `rasad-bench-missing-${process.pid}.db`);
    expect(() => readSweepDb(missing)).toThrow();
    expect(existsSync(missing)).toBe(false);
  });
});

describe('figure tables', () => {
  it('reads back what it prints, and ends a table at the first line of another shape', () => {
    const lines = formatTable(
      [{ header: 'concurrency' }, { header: 'wall-s' }, { header: 'goal', align: 'left' }],
      [
        ['50', fixed(1.2345, 2), 'meets'],
        ['200', fixed(Number.NaN, 2), 'MISSES'],
      ],
    );
    const text = ['preamble', ...lines.map((l) => `  ${l}`), 'goals: a sentence with many words'].join('\n');
    const table = parseTable(text, 'concurrency');
    expect(table?.headers).toEqual(['concurrency', 'wall-s', 'goal']);
    expect(table?.rows).toEqual([
      { concurrency: '50', 'wall-s': '1.23', goal: 'meets' },
      { concurrency: '200', 'wall-s': '-', goal: 'MISSES' },
    ]);
    expect(parseTable(text, 'nothing')).toBeNull();
  });

  it('refuses a header with a space, which could not be read back', () => {
    expect(() => formatTable([{ header: 'wall s' }], [])).toThrow(/one word/);
  });
});

describe('bench flags', () => {
  it('parses lists and numbers, and names the flag in every error', () => {
    expect(positiveIntList('concurrency', '50, 200', [1])).toEqual([50, 200]);
    expect(positiveIntList('concurrency', undefined, [50])).toEqual([50]);
    expect(positiveInt('targets', '1_000', 5)).toBe(1000);
    expect(nonNegativeNumber('latency-ms', '0', 50)).toBe(0);
    expect(() => positiveIntList('concurrency', '50,,200', [])).toThrow(/--concurrency/);
    expect(() => positiveInt('targets', '0', 5)).toThrow(BenchUsageError);
    expect(() => positiveInt('targets', '12abc', 5)).toThrow(/--targets: expected an integer/);
    expect(() => positiveInt('targets', '70000', 5, 1000)).toThrow(/from 1 to 1000/);
    expect(() => nonNegativeNumber('latency-ms', '-1', 50)).toThrow(/--latency-ms/);
    expect(() => parseBenchFlags(['--targts', '5'], { targets: { type: 'string' } })).toThrow(BenchUsageError);
    expect(parseBenchFlags(['--targets', '5'], { targets: { type: 'string' } }).targets).toBe('5');
  });
});

/** Runs a small script with tsx in a child; resolves with its exit code and output. */
function runScript(args: string[], env: NodeJS.ProcessEnv, onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('measuring a child process', () => {
  it('the preloaded usage report gives the CPU, peak RSS and exit code of the process it is loaded into', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-usage-'));
    try {
      const out = join(dir, 'usage.json');
      const preload = pathToFileURL(join(PROJECT, 'bench/lib/report-usage.ts')).href;
      // Burn some CPU and hold 64 MiB, then exit with 3.
      const script = 'let x = 0; for (let i = 0; i < 3e7; i++) x += i % 7; const keep = Buffer.alloc(64 * 1024 * 1024, 1); process.exitCode = keep[5] + 2;';
      const run = await runScript(['--import', preload, '-e', script], { ...process.env, RASAD_BENCH_USAGE_OUT: out });
      expect(run.code).toBe(3);
      const usage = JSON.parse(readFileSync(out, 'utf8')) as ProcessUsage;
      expect(usage.exit_code).toBe(3);
      expect(usage.user_s + usage.system_s).toBeGreaterThan(0);
      expect(usage.max_rss_kib).toBeGreaterThan(64 * 1024);
      expect(usage.uptime_s).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('teardown tasks run, last first, when the process is sent SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-teardown-'));
    try {
      const log = join(dir, 'log.txt');
      const teardown = pathToFileURL(join(PROJECT, 'bench/lib/teardown.ts')).href;
      const script = `const { atTeardown } = await import(${JSON.stringify(teardown)}); const { appendFileSync } = await import('node:fs');
        atTeardown(() => appendFileSync(${JSON.stringify(log)}, 'first\\n'));
        const early = atTeardown(() => appendFileSync(${JSON.stringify(log)}, 'run-early\\n'));
        const cancelled = atTeardown(() => appendFileSync(${JSON.stringify(log)}, 'cancelled\\n'));
        atTeardown(() => appendFileSync(${JSON.stringify(log)}, 'second\\n'));
        early.run(); cancelled.cancel();
        console.log('armed'); setInterval(() => {}, 1000);`;
      const run = await runScript(['--input-type=module', '-e', script], process.env, (text, kill) => {
        if (text.includes('armed')) kill('SIGTERM');
      });
      expect(run.code).toBe(143);
      // The task run early ran once, then; the cancelled one never; the others in reverse order at the signal.
      expect(readFileSync(log, 'utf8')).toBe('run-early\nsecond\nfirst\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
