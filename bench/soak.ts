// Does the daemon's memory stay flat? Runs the real `rasad run` on a short
// web schedule against the realistic world (bench/lib/realistic-world.ts)
// for N sweeps, and prints its resident set and JS heap after sweep 10 and
// after the last, with their ratio. Two modes: HTTPS targets validated with
// an extra CA (NODE_EXTRA_CA_CERTS), and plain HTTP targets. Goals are
// printed beside the figures, never asserted.
//
//   node --import tsx bench/soak.ts [--sweeps 100] [--targets 100] [--every-s 0.1] [--rtt-ms 10]
//                                   [--modes extra-ca,plain] [--no-control] [--snapshots]
//                                   [--node-flags shipped] [--daemon-env K=V,...] [--keep]
//
// --snapshots also writes V8 heap snapshots (node --heapsnapshot-signal) at
// sweep 10 and at the last sweep into the work directory (kept), for
// a diff in Chrome DevTools. Writing one costs the daemon tens of MiB of
// native memory that stay resident: RSS figures of such a run are not the
// daemon's own. Nothing leaves the bench's namespace. Needs root.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchUsageError, nonNegativeNumber, parseBenchFlags, positiveInt, runBench } from './lib/args.js';
import { startHelperProcess, type HelperProcess } from './lib/helper-process.js';
import { BenchNetns, requireRoot } from './lib/netns.js';
import { nodeFlagsOf, type NodeFlagsChoice } from './lib/node-flags.js';
import { procCpuSeconds, procStatusKiB } from './lib/proc.js';
import type { RealisticWorldStats } from './lib/realistic-world.js';
import { targetClass } from './lib/realistic-world.js';
import { fixed, formatTable } from './lib/table.js';
import { atTeardown } from './lib/teardown.js';
import { makeTestPki, type TestPki } from './lib/test-ca.js';
import { targetHost } from './lib/world.js';
import { startWorldMain, type WorldProcess } from './lib/world-process.js';

const usage = `Usage: node --import tsx bench/soak.ts [--sweeps 100] [--targets 100] [--every-s 0.1] [--rtt-ms 10]
                                      [--modes extra-ca,plain] [--no-control] [--snapshots]
                                      [--node-flags shipped] [--daemon-env K=V,...] [--keep]

  --sweeps N      web sweeps to run (default 100; at least 11)
  --targets N     targets per sweep (default 100)
  --every-s S     schedules.web.everyS (default 0.1, the minimum)
  --rtt-ms D      simulated round-trip time (default 10)
  --modes LIST    extra-ca (HTTPS mix, NODE_EXTRA_CA_CERTS), plain (plain HTTP) (default: both)
  --no-control    run without a rasad helper
  --snapshots     write heap snapshots at sweep 10 and the last (kept in the work directory)
  --node-flags F  the daemon's node flags: shipped (bin/node-flags, as bin/rasad passes them) or none (Node's defaults) (default: shipped)
  --daemon-env L  more environment for the daemon, e.g. MALLOC_ARENA_MAX=2,UV_THREADPOOL_SIZE=4
  --keep          keep the work directory
`;

const PROJECT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(PROJECT, 'src/cli.ts');
const WORLD_MAIN = join(PROJECT, 'bench/lib/realistic-world-main.ts');
const REPORT_MEMORY = pathToFileURL(join(PROJECT, 'bench/lib/report-memory.ts')).href;
const HELPER_PORT = 8082;
const EARLY_SWEEP = 10;
const STALL_MS = 300_000;
const GOAL_RATIO = 1.2;
const MODES = ['extra-ca', 'plain'] as const;
type Mode = (typeof MODES)[number];

interface MemoryPoint {
  sweep: number;
  rssKiB: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface SoakFigures {
  mode: Mode;
  sweeps: number;
  early: MemoryPoint;
  last: MemoryPoint;
  peakKiB: number;
  cpuS: number | null;
  wallS: number;
  snapshots: string[];
  /** RSS after every tenth sweep, KiB. */
  timeline: { sweep: number; rssKiB: number }[];
}

/** The targets of a mode: the realistic mix (HTTPS with the test CA), or every target as plain HTTP. */
function soakTargets(mode: Mode, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const https = mode === 'extra-ca' && targetClass(i) !== 'http';
    lines.push(`${https ? 'https' : 'http'}://${targetHost(i)}/ NEWS`);
  }
  return lines.join('\n') + '\n';
}

function childEnv(mode: Mode, pki: TestPki, memoryFile?: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('RASAD_') || k === 'NODE_EXTRA_CA_CERTS' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  env.UV_THREADPOOL_SIZE = '64';
  if (mode === 'extra-ca') env.NODE_EXTRA_CA_CERTS = pki.caFile;
  if (memoryFile) env.RASAD_BENCH_MEMORY_OUT = memoryFile;
  return { ...env, ...extra };
}

interface SoakOptions {
  sweeps: number;
  targets: number;
  everyS: number;
  control: boolean;
  snapshots: boolean;
  nodeFlags: NodeFlagsChoice;
  daemonEnv: Record<string, string>;
}

async function soak(ns: BenchNetns, dir: string, pki: TestPki, mode: Mode, options: SoakOptions): Promise<SoakFigures> {
  writeFileSync(join(dir, `targets-${mode}.txt`), soakTargets(mode, options.targets));
  let helper: HelperProcess | null = null;
  if (options.control) helper = await startHelperProcess(ns, { cli: CLI, cwd: PROJECT, env: childEnv(mode, pki), port: HELPER_PORT, maxConcurrency: 64 });
  const config = {
    db: join(dir, `${mode}.db`),
    targets: join(dir, `targets-${mode}.txt`),
    // The long schedule sweeps once at start (a fresh database), with its shortest session, and not again.
    schedules: {
      web: { everyS: options.everyS, jitterS: 0, concurrency: 20 },
      long: { probes: ['tls_duration'], everyS: 14 * 24 * 3600, jitterS: 0, concurrency: 8 },
    },
    probe: { sessionHorizonMs: 1000, sessionIntervalMs: 500 },
    controls: helper ? [helper.url] : [],
    webhooks: [],
    http: { enabled: false },
    log: { level: 'info', pretty: false },
  };
  const configFile = join(dir, `config-${mode}.json`);
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const memoryFile = join(dir, `${mode}.memory.json`);
  const nodeFlags = [...nodeFlagsOf(options.nodeFlags), ...(options.snapshots ? [`--heapsnapshot-signal=SIGUSR2`, `--diagnostic-dir=${dir}`] : [])];
  const argv = ns.wrap([
    process.execPath, ...nodeFlags, '--import', 'tsx', '--import', REPORT_MEMORY, CLI, 'run', '--config', configFile,
  ]);
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { cwd: PROJECT, env: childEnv(mode, pki, memoryFile, options.daemonEnv), stdio: ['ignore', 'ignore', 'pipe'] });
  const teardown = atTeardown(() => child.kill('SIGKILL'));
  const pid = child.pid!;
  let stderrTail = '';
  let sweeps = 0;
  let peakKiB = 0;
  let early: MemoryPoint | null = null;
  let last: MemoryPoint | null = null;
  let cpuS: number | null = null;
  const timeline: { sweep: number; rssKiB: number }[] = [];
  const point = (sweep: number): MemoryPoint => {
    let heap = { heapUsed: Number.NaN, external: Number.NaN, arrayBuffers: Number.NaN };
    try {
      heap = JSON.parse(readFileSync(memoryFile, 'utf8')) as typeof heap;
    } catch {
      // not written yet
    }
    return { sweep, rssKiB: procStatusKiB(pid, 'VmRSS') ?? Number.NaN, heapUsed: heap.heapUsed, external: heap.external, arrayBuffers: heap.arrayBuffers };
  };
  const snapshot = () => options.snapshots && child.kill('SIGUSR2');
  try {
    await new Promise<void>((resolve, reject) => {
      // A stall, not a total: the daemon must finish a sweep every few minutes, however many are asked for.
      let deadline: NodeJS.Timeout;
      // Lines keep coming after the last counted sweep (the next sweep, the
      // SIGTERM's "sweep interrupted"): they must not arm a new stall timer,
      // which would hold this process open for minutes after its figures.
      let settled = false;
      const arm = () => {
        clearTimeout(deadline);
        deadline = setTimeout(() => reject(new Error(`the daemon finished no sweep in ${STALL_MS / 1000} s (after ${sweeps} sweeps); its stderr ends:\n${stderrTail}`)), STALL_MS);
      };
      arm();
      child.once('exit', (code, signal) => {
        clearTimeout(deadline);
        settled = true;
        reject(new Error(`rasad run exited (${code ?? signal}) after ${sweeps} sweeps; its stderr ends:\n${stderrTail}`));
      });
      createInterface({ input: child.stderr }).on('line', (line) => {
        stderrTail = (stderrTail + line + '\n').slice(-4096);
        if (settled) return;
        if (!line.includes('"schedule":"web"') || !/"msg":"sweep (complete|partial|failed|interrupted)/.test(line)) return;
        sweeps++;
        arm();
        peakKiB = Math.max(peakKiB, procStatusKiB(pid, 'VmHWM') ?? 0);
        if (sweeps % 10 === 0) timeline.push({ sweep: sweeps, rssKiB: procStatusKiB(pid, 'VmRSS') ?? Number.NaN });
        if (sweeps === EARLY_SWEEP) {
          early = point(sweeps);
          snapshot();
        }
        if (sweeps === options.sweeps) {
          last = point(sweeps);
          cpuS = procCpuSeconds(pid);
          snapshot();
          clearTimeout(deadline);
          settled = true;
          resolve();
        }
      });
    });
  } finally {
    // Give a snapshot time to be written before the stop.
    if (options.snapshots) await new Promise((r) => setTimeout(r, 15_000));
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.removeAllListeners('exit');
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
    teardown.cancel();
    await helper?.stop();
  }
  const snapshots = options.snapshots ? readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).map((f) => join(dir, f)) : [];
  return { mode, sweeps, early: early!, last: last!, peakKiB, cpuS, wallS: (performance.now() - started) / 1000, snapshots, timeline };
}

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), {
    sweeps: { type: 'string' },
    targets: { type: 'string' },
    'every-s': { type: 'string' },
    'rtt-ms': { type: 'string' },
    modes: { type: 'string' },
    'no-control': { type: 'boolean' },
    snapshots: { type: 'boolean' },
    'node-flags': { type: 'string' },
    'daemon-env': { type: 'string' },
    keep: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  const sweeps = positiveInt('sweeps', flags.sweeps, 100, 100_000);
  if (sweeps <= EARLY_SWEEP) throw new BenchUsageError(`--sweeps: at least ${EARLY_SWEEP + 1} (memory is compared with sweep ${EARLY_SWEEP})`);
  const targets = positiveInt('targets', flags.targets, 100, 10_000);
  const everyS = nonNegativeNumber('every-s', flags['every-s'], 0.1, 3600);
  if (everyS < 0.1) throw new BenchUsageError('--every-s: at least 0.1 (the config minimum)');
  const rttMs = nonNegativeNumber('rtt-ms', flags['rtt-ms'], 10, 10_000);
  const modes = (flags.modes ?? MODES.join(',')).split(',').map((s) => s.trim());
  for (const m of modes) if (!(MODES as readonly string[]).includes(m)) throw new BenchUsageError(`--modes: unknown mode ${JSON.stringify(m)} (known: ${MODES.join(', ')})`);
  const daemonEnv: Record<string, string> = {};
  for (const pair of (flags['daemon-env'] ?? '').split(',').filter((p) => p.trim() !== '')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair.trim());
    if (!m) throw new BenchUsageError(`--daemon-env: expected K=V, got ${JSON.stringify(pair)}`);
    daemonEnv[m[1]!] = m[2]!;
  }
  const nodeFlags = (flags['node-flags'] ?? 'shipped').trim();
  if (nodeFlags !== 'shipped' && nodeFlags !== 'none') throw new BenchUsageError(`--node-flags: "shipped" or "none", got ${JSON.stringify(flags['node-flags'])}`);
  requireRoot('bench/soak');

  const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-soak-'));
  const removeDir = atTeardown(() => rmSync(dir, { recursive: true, force: true }));
  if (flags.keep || flags.snapshots) removeDir.cancel();
  const pki = makeTestPki(dir);
  const ns = BenchNetns.create('soak');
  let world: WorldProcess<RealisticWorldStats> | null = null;
  try {
    const control = flags['no-control'] !== true;
    console.log(`rasad soak bench: rasad run, web every ${everyS} s, ${targets} targets, ${sweeps} sweeps per mode, ${rttMs} ms RTT, ${control ? 'a rasad helper control' : 'no control'}, node flags ${nodeFlags} ${JSON.stringify(nodeFlagsOf(nodeFlags).join(' '))}${Object.keys(daemonEnv).length ? `, daemon env ${JSON.stringify(daemonEnv)}` : ''}, namespace ${ns.name}`);
    world = await startWorldMain<RealisticWorldStats>(ns, WORLD_MAIN, ['--targets', String(targets), '--rtt-ms', String(rttMs), '--cert', join(dir, 'server.pem'), '--key', join(dir, 'server.key')], PROJECT);
    const results: SoakFigures[] = [];
    for (const mode of modes as Mode[]) {
      process.stdout.write(`  running: ${mode} ...\n`);
      results.push(await soak(ns, dir, pki, mode, { sweeps, targets, everyS, control, snapshots: flags.snapshots === true, nodeFlags, daemonEnv }));
    }
    const mib = (kib: number) => kib / 1024;
    const rows = results.map((r) => {
      const ratio = r.last.rssKiB / r.early.rssKiB;
      return [
        r.mode,
        String(r.sweeps),
        fixed(mib(r.early.rssKiB), 1),
        fixed(mib(r.last.rssKiB), 1),
        fixed(ratio, 2),
        fixed(r.early.heapUsed / 1048576, 1),
        fixed(r.last.heapUsed / 1048576, 1),
        fixed(r.early.external / 1048576, 1),
        fixed(r.last.external / 1048576, 1),
        fixed(mib(r.peakKiB), 1),
        fixed(r.cpuS, 1),
        fixed(r.wallS, 1),
        ratio <= GOAL_RATIO ? 'meets' : 'MISSES',
      ];
    });
    console.log('');
    for (const line of formatTable(
      [
        { header: 'mode', align: 'left' },
        { header: 'sweeps' },
        { header: `rss-at-${EARLY_SWEEP}-MiB` },
        { header: 'rss-at-last-MiB' },
        { header: 'rss-ratio' },
        { header: `heap-at-${EARLY_SWEEP}-MiB` },
        { header: 'heap-at-last-MiB' },
        { header: `external-at-${EARLY_SWEEP}-MiB` },
        { header: 'external-at-last-MiB' },
        { header: 'peak-rss-MiB' },
        { header: 'cpu-s' },
        { header: 'wall-s' },
        { header: 'goal', align: 'left' },
      ],
      rows,
    )) {
      console.log(`  ${line}`);
    }
    console.log('');
    console.log(`goal: RSS after the last sweep <= ${GOAL_RATIO} x RSS after sweep ${EARLY_SWEEP}. heap = process.memoryUsage().heapUsed (sampled each second), external = its external.`);
    for (const r of results) console.log(`  RSS MiB by sweep (${r.mode}): ${r.timeline.map((t) => `${t.sweep}:${fixed(t.rssKiB / 1024, 0)}`).join(' ')}`);
    for (const r of results) for (const s of r.snapshots) console.log(`  heap snapshot (${r.mode}): ${s}`);
    if (flags.snapshots) console.log('  note: --snapshots was given: writing a heap snapshot leaves tens of MiB resident, so the RSS after sweep 10 and later is not the daemon\'s own.');
    if (flags.keep || flags.snapshots) console.log(`  kept ${dir}`);
  } finally {
    world?.stop();
    ns.destroy();
  }
});
