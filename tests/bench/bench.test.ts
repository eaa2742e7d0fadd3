// The benches, run once at their smallest size (`bench/run-all.ts --smoke`)
// so that they cannot rot: each must exit 0 and print its figures, and the
// figures must be numbers that make sense (finite, counts that add up,
// bounds that any correct run meets). Never times: the machine is shared.
// The sweep bench needs root (its own network namespace): without root this
// file fails, it is never skipped.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTable, type ParsedTable } from '../../bench/lib/table.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const NOT_ROOT = 'tests/bench/bench.test.ts must run as root: bench/sweep.ts builds its world in a network namespace of its own (ip netns add), so that nothing it does can leave loopback. Run the tests as root (CI does).';

// What run-all --smoke gives the sweep (bench/run-all.ts).
const SMOKE_TARGETS = 20;
const SMOKE_CONCURRENCY = [5, 20];
const SMOKE_LATENCY_S = 0.02;
const WEB_PROBES_PER_TARGET = 3; // dns, tcp, http

interface Output {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runBenchScript(args: string[], timeoutMs: number, onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: PROJECT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, (signal) => child.kill(signal));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The number a figure cell holds ("12,345" and "1.5" alike); NaN when it holds none. */
function num(cell: string | undefined): number {
  if (cell === undefined || !/^-?[0-9][0-9,]*(\.[0-9]+)?$/.test(cell)) return Number.NaN;
  return Number(cell.replace(/,/g, ''));
}

function expectFinite(row: Record<string, string>, columns: string[]): void {
  for (const c of columns) {
    expect(Number.isFinite(num(row[c])), `column ${c} = ${JSON.stringify(row[c])}`).toBe(true);
  }
}

/** The output of one bench inside run-all's, from its `=== bench <name>` banner to the next banner. */
function section(all: string, name: string): string {
  const start = all.indexOf(`=== bench ${name}:`);
  if (start < 0) return '';
  const next = all.indexOf('\n=== ', start + 1);
  return all.slice(start, next < 0 ? undefined : next);
}

function requireTable(text: string, firstHeader: string): ParsedTable {
  const table = parseTable(text, firstHeader);
  expect(table, `a table starting with "${firstHeader}" in:\n${text}`).not.toBeNull();
  return table!;
}

function namespaceExists(name: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .some((line) => line.split(/\s+/)[0] === name);
}

describe('bench/run-all.ts --smoke', () => {
  let out: Output;

  beforeAll(async () => {
    if (!IS_ROOT) throw new Error(NOT_ROOT);
    out = await runBenchScript(['bench/run-all.ts', '--smoke'], 390_000);
  }, 400_000);

  it('exits 0 and its summary lists every bench with exit 0', () => {
    expect(out.code, `stderr:\n${out.stderr}\nstdout:\n${out.stdout}`).toBe(0);
    const summary = requireTable(out.stdout, 'bench');
    expect(summary.rows.map((r) => r.bench).sort()).toEqual(['bundled', 'export', 'realistic', 'sessions', 'soak', 'store', 'sweep']);
    for (const row of summary.rows) {
      expect(row.exit, `bench ${row.bench}`).toBe('0');
      expectFinite(row, ['seconds']);
    }
  });

  it('sweep: calibrates a startup run and a serial run, every target measured by every probe', () => {
    const text = section(out.stdout, 'sweep');
    const calibration = requireTable(text, 'calibration');
    expect(calibration.rows.map((r) => [r.calibration, r.targets, r.measurements])).toEqual([
      ['startup', '1', String(WEB_PROBES_PER_TARGET)],
      ['serial', '5', String(5 * WEB_PROBES_PER_TARGET)],
    ]);
    for (const row of calibration.rows) {
      expectFinite(row, ['wall-s', 'sweep-s', 'outside-sweep-s', 'cpu-s', 'peak-rss-MiB']);
      // The process's wall time holds its sweep; the sweep waits at least DNS + HTTP latency per target.
      expect(num(row['wall-s'])).toBeGreaterThan(num(row['sweep-s']));
      expect(num(row['sweep-s'])).toBeGreaterThanOrEqual(2 * SMOKE_LATENCY_S * Number(row.targets) * 0.9);
      expect(num(row['cpu-s'])).toBeGreaterThan(0);
      expect(num(row['peak-rss-MiB'])).toBeGreaterThan(10);
    }
    const path = /critical path of one target: ([0-9.]+) s \(median of (\d+) serial units/.exec(text);
    expect(path, text).not.toBeNull();
    expect(Number(path![2])).toBe(5);
    // One target waits for a DNS answer and an HTTP response, each delayed by the latency.
    expect(Number(path![1])).toBeGreaterThanOrEqual(2 * SMOKE_LATENCY_S * 0.9);
  });

  it('sweep: prints one row per concurrency with finite figures that agree with each other', () => {
    const text = section(out.stdout, 'sweep');
    const critical = Number(/critical path of one target: ([0-9.]+) s/.exec(text)![1]);
    const sweeps = requireTable(text, 'concurrency');
    expect(sweeps.rows.map((r) => Number(r.concurrency))).toEqual(SMOKE_CONCURRENCY);
    for (const row of sweeps.rows) {
      expect(row['uv-threads']).toBe('default');
      expect(num(row.targets)).toBe(SMOKE_TARGETS);
      expect(num(row.measurements)).toBe(SMOKE_TARGETS * WEB_PROBES_PER_TARGET);
      expectFinite(row, ['wall-s', 'sweep-s', 'ideal-s', 'ratio-wall', 'ratio-sweep', 'cpu-ms/meas', 'net-cpu-ms/meas', 'cpu-s', 'peak-rss-MiB', 'meas/s', 'world-cpu-s']);
      const c = Number(row.concurrency);
      // The ideal is full waves of the concurrency, each one critical path long (printed to 2 decimals).
      expect(Math.abs(num(row['ideal-s']) - Math.ceil(SMOKE_TARGETS / c) * critical)).toBeLessThanOrEqual(0.006);
      expect(num(row['wall-s'])).toBeGreaterThan(num(row['sweep-s']));
      expect(num(row['ratio-wall'])).toBeGreaterThan(num(row['ratio-sweep']));
      expect(num(row['cpu-ms/meas'])).toBeGreaterThan(0);
      expect(['meets', 'MISSES']).toContain(row['goal-wall']);
      expect(['meets', 'MISSES']).toContain(row['goal-sweep']);
    }
    expect(text).toMatch(/goals: ratio <= 1\.3 at concurrency 50 and 200/);
  });

  it('sweep: the world saw one HTTP request per target of every run, and the namespace is gone afterwards', () => {
    const text = section(out.stdout, 'sweep');
    const world = /world: (\d+) DNS queries \((\d+) A answers, (\d+) NXDOMAIN\), (\d+) TCP connections to :80, (\d+) HTTP requests/.exec(text);
    expect(world, text).not.toBeNull();
    const units = 1 + 5 + SMOKE_TARGETS * SMOKE_CONCURRENCY.length;
    expect(Number(world![5])).toBe(units);
    // Each unit asks for A twice (getaddrinfo and the raw UDP client); nothing outside the world is asked about.
    expect(Number(world![2])).toBeGreaterThanOrEqual(2 * units);
    expect(Number(world![3])).toBe(0);
    const ns = /namespace (rasad-bench-\d+)/.exec(text);
    expect(ns, text).not.toBeNull();
    expect(namespaceExists(ns![1]!)).toBe(false);
    expect(existsSync(`/etc/netns/${ns![1]}`)).toBe(false);
  });

  it('realistic: a serial calibration, then one row per concurrency, every target measured by every web probe and asked of the helper', () => {
    const text = section(out.stdout, 'realistic');
    const unit = /calibration: 10 targets at concurrency 1: ([0-9.]+) s per unit end to end, the longest ([0-9.]+) s/.exec(text);
    expect(unit, text).not.toBeNull();
    // A unit waits at least its DNS listen window (1 s by default); the longest (a failing target, retried) is longer still.
    expect(Number(unit![1])).toBeGreaterThanOrEqual(1);
    expect(Number(unit![2])).toBeGreaterThanOrEqual(Number(unit![1]));
    const sweeps = requireTable(text.slice(text.indexOf('sweeps: ideal')), 'trust');
    expect(sweeps.rows.map((r) => Number(r.concurrency))).toEqual([10, 20]);
    for (const row of sweeps.rows) {
      expect(row.trust).toBe('extra-ca');
      expect(num(row.targets)).toBe(20);
      expect(num(row.measurements)).toBe(20 * 4); // dns, tcp, tls, http
      expectFinite(row, ['wall-s', 'sweep-s', 'ideal-s', 'ratio', 'cpu-ms/meas', 'cpu-s', 'peak-rss-MiB', 'helper-cpu-s', 'world-cpu-s']);
      expect(num(row['wall-s'])).toBeGreaterThan(num(row['sweep-s']));
      expect(num(row['helper-cpu-s'])).toBeGreaterThan(0);
      // Every unit asked the helper once, and it was sized to answer them all.
      expect(row['helper-answers']).toBe('200:20');
    }
    // Targets 9 and 19 fail (NXDOMAIN, reset), the rest are up: the verdicts say so.
    expect(text).toMatch(/verdicts \(extra-ca, concurrency 20\): ok=72 down=8/);
    expect(text).toMatch(/goals: ratio <= 1\.3 at concurrency 50 and 200; <= 1 ms CPU per measurement/);
  });

  it('bundled: a serial run and one at concurrency 20 of the whole bundled list, apps and Tor included, with the plain ratio beside', () => {
    const text = section(out.stdout, 'bundled');
    const calibration = /calibration: concurrency 1: (\d+) units, ([0-9.]+) s per unit end to end, the longest ([0-9.]+) s/.exec(text);
    expect(calibration, text).not.toBeNull();
    const units = Number(calibration![1]);
    expect(units).toBeGreaterThan(50);
    // The longest unit is at least one DNS answer and one HTTP response, each held 20 ms.
    expect(Number(calibration![3])).toBeGreaterThanOrEqual(0.036);
    const table = requireTable(text, 'concurrency');
    expect(table.rows.map((r) => Number(r.concurrency))).toEqual([1, 20]);
    const [serial, sweep] = table.rows as [Record<string, string>, Record<string, string>];
    for (const row of [serial, sweep]) {
      expect(num(row.units)).toBe(units);
      expectFinite(row, ['measurements', 'wall-s', 'sweep-s', 'ideal-s', 'ratio', 'cpu-ms/meas', 'cpu-s', 'peak-rss-MiB', 'world-cpu-s']);
      expect(num(row['wall-s'])).toBeGreaterThan(num(row['sweep-s']));
    }
    // Both runs measured the same list; the serial run is its own ideal.
    expect(sweep.measurements).toBe(serial.measurements);
    expect(num(serial.ratio)).toBeCloseTo(1, 1);
    expectFinite(sweep, ['plain-ratio']);
    expect(['meets', 'MISSES']).toContain(sweep.goal);
    // Every app, and each Tor authority's OR and directory port, was measured in both runs.
    for (const c of [1, 20]) {
      const probes = new RegExp(`measurements by probe \\(concurrency ${c}\\): (.*)`).exec(text);
      expect(probes, text).not.toBeNull();
      for (const app of ['telegram', 'whatsapp', 'signal', 'facebook_messenger']) expect(probes![1]).toMatch(new RegExp(`\\b${app}=1\\b`));
      expect(probes![1]).toMatch(/\btor=16\b/);
    }
    const world = /world: (\{.*\})/.exec(text);
    expect(world, text).not.toBeNull();
    const stats = JSON.parse(world![1]!) as Record<string, number>;
    expect(stats.tor_versions).toBe(2 * 8);
    expect(stats.tor_dir_requests).toBe(2 * 8);
    expect(stats.https_requests).toBeGreaterThan(0);
    expect(text).toMatch(/goals: a sweep of the bundled list/);
    const ns = /namespace (rasad-bench-\d+-bundled)/.exec(text);
    expect(ns, text).not.toBeNull();
    expect(namespaceExists(ns![1]!)).toBe(false);
  });

  it('soak: the daemon ran its sweeps and its memory after sweep 10 and the last is printed', () => {
    const text = section(out.stdout, 'soak');
    const table = requireTable(text, 'mode');
    expect(table.rows.map((r) => r.mode)).toEqual(['extra-ca']);
    const row = table.rows[0]!;
    // The smoke asks for 11; a daemon on a busy machine may finish one more before the stop reaches it.
    expect(num(row.sweeps)).toBeGreaterThanOrEqual(11);
    expect(num(row.sweeps)).toBeLessThanOrEqual(12);
    expectFinite(row, ['rss-at-10-MiB', 'rss-at-last-MiB', 'rss-ratio', 'heap-at-10-MiB', 'heap-at-last-MiB', 'peak-rss-MiB', 'cpu-s', 'wall-s']);
    expect(num(row['rss-at-10-MiB'])).toBeGreaterThan(10);
    expect(num(row['peak-rss-MiB'])).toBeGreaterThanOrEqual(num(row['rss-at-last-MiB']));
    expect(['meets', 'MISSES']).toContain(row.goal);
    expect(text).toMatch(/RSS MiB by sweep \(extra-ca\): 10:\d+/);
  });

  it('sessions: prints a row for the probes it held, with finite figures', () => {
    const text = section(out.stdout, 'sessions');
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.trim().startsWith('probes') && l.includes('sockets-up'));
    expect(header, text).toBeGreaterThanOrEqual(0);
    const cells = lines[header + 1]!.trim().split(/\s+/).map(num);
    expect(cells).toHaveLength(8);
    for (const c of cells) expect(Number.isFinite(c), lines[header + 1]).toBe(true);
    expect(cells[0]).toBe(20);
    expect(cells[1]).toBeGreaterThan(0);
    expect(cells[1]).toBeLessThanOrEqual(40);
    expect(text).toMatch(/goals: /);
  });

  it('store: prints the ingest rate and the bytes per measurement, and its rows add up', () => {
    const text = section(out.stdout, 'store');
    const ingest = /ingest\s+([0-9,]+) rows\/s/.exec(text);
    const size = /size\s+([0-9.,]+) MiB = ([0-9,]+) bytes per measurement/.exec(text);
    expect(ingest, text).not.toBeNull();
    expect(size, text).not.toBeNull();
    expect(num(ingest![1])).toBeGreaterThan(0);
    expect(num(size![2])).toBeGreaterThan(0);
    const perProbe = [...text.matchAll(/^\s+(dns|tcp|tls|http)\s+([0-9,]+) rows/gm)].map((m) => num(m[2]));
    expect(perProbe.reduce((a, b) => a + b, 0)).toBe(2000);
  });

  it('export: prints rows/s and peak RSS for each format at both sizes, and the memory ratios', () => {
    const text = section(out.stdout, 'export');
    const rows = [...text.matchAll(/^\s+(jsonl|csv|ooni)\s+([0-9,]+) rows\/s .*peak RSS ([0-9.,]+) MiB/gm)];
    expect(rows.map((m) => m[1])).toEqual(['jsonl', 'csv', 'ooni', 'jsonl', 'csv', 'ooni']);
    for (const m of rows) {
      expect(num(m[2])).toBeGreaterThan(0);
      expect(num(m[3])).toBeGreaterThan(0);
    }
    const ratios = [...text.matchAll(/^\s+(jsonl|csv|ooni)\s+([0-9.]+)$/gm)];
    expect(ratios.map((m) => m[1])).toEqual(['jsonl', 'csv', 'ooni']);
    for (const m of ratios) expect(num(m[2])).toBeGreaterThan(0);
  });
});

describe('an interrupted bench run', () => {
  it('passes SIGINT on to the sweep, which tears its namespace down; the later benches do not run', async () => {
    if (!IS_ROOT) throw new Error(NOT_ROOT);
    let interrupted = false;
    const out = await runBenchScript(['bench/run-all.ts', '--smoke', '--only', 'sweep,store'], 90_000, (text, kill) => {
      // Once calibration is printed, the world is up and the namespace certainly exists: interrupt run-all only.
      if (!interrupted && text.includes('calibration:')) {
        interrupted = true;
        kill('SIGINT');
      }
    });
    const ns = /namespace (rasad-bench-\d+)/.exec(out.stdout);
    expect(ns, out.stdout + out.stderr).not.toBeNull();
    expect(interrupted).toBe(true);
    expect(out.code, out.stdout + out.stderr).toBe(130);
    expect(out.stderr).toContain('SIGINT: tearing down');
    expect(out.stdout).toContain('interrupted by SIGINT: 1 bench(es) not run');
    expect(out.stdout).not.toContain('=== bench store');
    const summary = requireTable(out.stdout, 'bench');
    expect(summary.rows.map((r) => [r.bench, r.exit])).toEqual([['sweep', '130']]);
    expect(namespaceExists(ns![1]!)).toBe(false);
    expect(existsSync(`/etc/netns/${ns![1]}`)).toBe(false);
  }, 100_000);
});
