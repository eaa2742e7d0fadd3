// Export bench: fills temporary databases with synthetic measurements (web
// units plus the long-lived probes), then for each format runs the export in
// a child process writing to /dev/null, and reports rows/s and the child's
// peak RSS, at a small and a large size. Flat memory means the peak RSS
// hardly grows with the size: the ratio is printed. Goals are printed beside
// the figures, not asserted.
//
// The store writes records export-ready (scrubbed, keys in the export's
// order: src/export/stored-record.ts), and the JSONL export writes those as
// they are. To show what that saves on this machine now, the JSONL export is
// run a second time on the same rows marked as stored before migration 3
// (export_ready 0: rearranged and scrubbed by the export), and the ratio of
// the two rates is printed.
//
//   node --import tsx bench/export.ts [--rows 1000000] [--small 100000] [--formats jsonl,csv,ooni] [--node-flags shipped]
//
// The child is this file again with --child: it runs the export command and
// reports its own maxRSS, export time and CPU time (all threads) on stderr.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/store/store.js';
import { syntheticBatches } from './fixtures.js';
import { BenchUsageError, parseBenchFlags, positiveInt, runBench } from './lib/args.js';
import { nodeFlagsOf, type NodeFlagsChoice } from './lib/node-flags.js';

const usage = `Usage: node --import tsx bench/export.ts [--rows 1000000] [--small N] [--formats jsonl,csv,ooni] [--node-flags shipped]

  --rows N        the large size (default 1000000)
  --small N       the small size (default rows/10)
  --formats L     formats to export (default jsonl,csv,ooni)
  --node-flags F  the export's node flags: shipped (bin/node-flags, as bin/rasad passes them) or none (Node's defaults) (default: shipped)
`;

// Issue 17 goal 4: every format, the OONI mapping included.
const GOAL_ROWS_PER_S = 100_000;

if (process.argv[2] === '--child') {
  await runChild(process.argv.slice(3));
} else {
  await runBench(usage, bench);
}

async function runChild(argv: string[]): Promise<void> {
  const { exportCommand } = await import('../src/cli/commands/export.js');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const code = await exportCommand.run(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // maxRSS is in KiB. The CPU time (all threads) is steadier than the wall time on a loaded machine.
  process.stderr.write(`bench-child export_ms=${ms.toFixed(1)} cpu_ms=${((cpu.user + cpu.system) / 1000).toFixed(1)} maxrss_kib=${process.resourceUsage().maxRSS}\n`);
  process.exitCode = code;
}

interface ChildResult {
  exportMs: number;
  cpuMs: number;
  wallMs: number;
  maxRssKib: number;
  sampledHwmKib: number;
}

/** Peak RSS as the kernel keeps it (VmHWM), read while the child runs. */
function readHwmKib(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function exportChild(db: string, format: string, nodeFlags: NodeFlagsChoice): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const devNull = openSync('/dev/null', 'w');
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeFlagsOf(nodeFlags), '--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--db', db, '--format', format], {
      stdio: ['ignore', devNull, 'pipe'],
    });
    closeSync(devNull);
    let stderr = '';
    let sampled = 0;
    const sampler = setInterval(() => (sampled = Math.max(sampled, readHwmKib(child.pid!))), 50);
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      const wallMs = performance.now() - started;
      const m = /bench-child export_ms=([\d.]+) cpu_ms=([\d.]+) maxrss_kib=(\d+)/.exec(stderr);
      if (code !== 0 || !m) return reject(new Error(`export ${format} exited ${code}: ${stderr.trim()}`));
      resolve({ exportMs: Number(m[1]), cpuMs: Number(m[2]), wallMs, maxRssKib: Number(m[3]), sampledHwmKib: sampled });
    });
  });
}

function fill(dir: string, rows: number): string {
  const file = join(dir, `bench-${rows}.db`);
  const store = Store.open(file);
  for (const batch of syntheticBatches(rows, 2000, { longProbes: true })) {
    for (const run of batch.runs) store.beginRun(run);
    store.insertMeasurements(batch.measurements);
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.close();
  return file;
}

/** Marks every row as the store wrote it before migration 3 did: the export then takes its rearranging path. */
function markAsBeforeMigration3(file: string): void {
  const store = Store.open(file);
  try {
    store.db.prepare(`UPDATE measurements SET export_ready = 0`).run();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    store.close();
  }
}

async function bench(): Promise<void> {
  const flags = parseBenchFlags(process.argv.slice(2), { rows: { type: 'string' }, small: { type: 'string' }, formats: { type: 'string' }, 'node-flags': { type: 'string' } });
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  const big = positiveInt('rows', flags.rows, 1_000_000);
  const small = positiveInt('small', flags.small, Math.max(1, Math.round(big / 10)));
  const formats = (flags.formats ?? 'jsonl,csv,ooni').split(',').map((f) => f.trim());
  const unknown = formats.find((f) => !['jsonl', 'csv', 'ooni'].includes(f));
  if (unknown !== undefined) throw new BenchUsageError(`--formats: unknown format ${JSON.stringify(unknown)} (jsonl, csv, ooni)`);
  const nodeFlags = (flags['node-flags'] ?? 'shipped').trim();
  if (nodeFlags !== 'shipped' && nodeFlags !== 'none') throw new BenchUsageError(`--node-flags: "shipped" or "none", got ${JSON.stringify(flags['node-flags'])}`);
  const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

  const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-export-'));
  try {
    const peaks = new Map<string, number[]>();
    const readyRatios: string[] = [];
    console.log(`rasad export bench: ${formats.join(', ')} at ${fmt(small)} and ${fmt(big)} measurements (children write to /dev/null), node flags ${nodeFlags} ${JSON.stringify(nodeFlagsOf(nodeFlags).join(' '))}`);
    for (const rows of [small, big]) {
      const t0 = performance.now();
      const db = fill(dir, rows);
      console.log(`\n${fmt(rows)} measurements: database filled in ${fmt((performance.now() - t0) / 1000, 1)} s, ${fmt(statSync(db).size / 1024 / 1024, 1)} MiB`);
      for (const format of formats) {
        const r = await exportChild(db, format, nodeFlags);
        const rate = rows / (r.exportMs / 1000);
        const goal = `   goal >= ${fmt(GOAL_ROWS_PER_S)} rows/s: ${rate >= GOAL_ROWS_PER_S ? 'meets goal' : 'MISSES goal'}`;
        console.log(
          `  ${format.padEnd(5)} ${fmt(rate).padStart(9)} rows/s (${fmt(rows / (r.cpuMs / 1000))} rows per CPU-s, export ${fmt(r.exportMs / 1000, 2)} s, process wall ${fmt(r.wallMs / 1000, 2)} s)  peak RSS ${fmt(r.maxRssKib / 1024, 1)} MiB (VmHWM sampled ${fmt(r.sampledHwmKib / 1024, 1)} MiB)${goal}`,
        );
        peaks.set(format, [...(peaks.get(format) ?? []), r.maxRssKib]);
      }
      if (formats.includes('jsonl')) {
        const readyMs = (await exportChild(db, 'jsonl', nodeFlags)).exportMs;
        markAsBeforeMigration3(db);
        const before = await exportChild(db, 'jsonl', nodeFlags);
        const rate = rows / (before.exportMs / 1000);
        console.log(`  jsonl ${fmt(rate).padStart(9)} rows/s (export ${fmt(before.exportMs / 1000, 2)} s) on the same rows marked as stored before migration 3 (export_ready 0)`);
        readyRatios.push(`  at ${fmt(rows)}: ${(before.exportMs / readyMs).toFixed(2)}x (export-ready ${fmt(readyMs / 1000, 2)} s, again right before the other; before migration 3 ${fmt(before.exportMs / 1000, 2)} s)`);
      }
      rmSync(db, { force: true });
    }
    console.log(`\npeak RSS at ${fmt(big)} / at ${fmt(small)} (flat memory: near 1):`);
    for (const [format, [a, b]] of peaks) console.log(`  ${format.padEnd(5)} ${((b ?? 0) / (a ?? 1)).toFixed(2)}`);
    if (readyRatios.length) {
      console.log(`\njsonl: export time of rows marked as stored before migration 3 / of the same rows export-ready (same run):`);
      for (const line of readyRatios) console.log(line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
