// How long does a sweep of N targets take, against the time a perfect
// scheduler would need? Builds a world of N plain-HTTP targets whose DNS
// answers and HTTP responses are each held back by a fixed latency, runs the
// real `rasad once` on it as a child process, and prints the wall time, the
// ideal, their ratio, CPU per measurement, peak RSS and measurements/s.
// Goals are printed beside the figures, not asserted.
//
//   node --import tsx bench/sweep.ts [--targets 1000] [--concurrency 50,200] [--latency-ms 50]
//                                    [--uv-threads default,64] [--node-flags shipped] [--cpu-prof DIR] [--keep]
//
// Nothing leaves loopback: the world and rasad run inside a network
// namespace of the bench's own (only `lo`, resolv.conf -> 127.0.0.1), so the
// system resolver never asks the host's nameserver. Needs root.
//
// The ideal is ceil(N / concurrency) x the critical path of one target,
// measured first from a serial run (concurrency 1, 5 targets) rather than
// assumed. rasad's startup (tsx compiling TypeScript, opening the store) is
// measured on a 1-target run and shown apart: ratio-wall counts it,
// ratio-sweep does not.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nonNegativeNumber, parseBenchFlags, positiveInt, positiveIntList, runBench, BenchUsageError } from './lib/args.js';
import { runChild, tail } from './lib/child.js';
import { BenchNetns, requireRoot } from './lib/netns.js';
import { procCpuSeconds } from './lib/proc.js';
import type { ProcessUsage } from './lib/report-usage.js';
import { criticalPath, idealSeconds, readSweepDb, type CriticalPath, type SweepDbFigures } from './lib/sweep-figures.js';
import { fixed, formatTable } from './lib/table.js';
import { atTeardown } from './lib/teardown.js';
import { FIXED_PATH_CONFIG } from './lib/sweep-config.js';
import { MAX_TARGETS, targetsFile } from './lib/world.js';
import { nodeFlagsOf, type NodeFlagsChoice } from './lib/node-flags.js';
import { startWorldProcess, type WorldProcess } from './lib/world-process.js';

const usage = `Usage: node --import tsx bench/sweep.ts [--targets 1000] [--concurrency 50,200] [--latency-ms 50]
                                        [--uv-threads default,64] [--node-flags shipped] [--cpu-prof DIR] [--keep]

  --targets N         targets in the world (default 1000)
  --concurrency LIST  rasad once --concurrency values to measure (default 50,200)
  --latency-ms D      delay added to every DNS answer and HTTP response (default 50)
  --uv-threads LIST   libuv thread pools to run rasad with: "default" leaves UV_THREADPOOL_SIZE
                      unset (a bare node dist/src/cli.js), a number sets it (bin/rasad sets 64) (default: default,64)
  --node-flags LIST   node flags to run rasad with: "shipped" (bin/node-flags, as bin/rasad passes them), "none" (Node's defaults) (default: shipped)
  --cpu-prof DIR      write V8 CPU profiles of each sweep run (not the calibration) into DIR/<run> (one file per thread: the largest is the main thread)
  --keep              keep the work directory (targets, config, databases)
`;

const PROJECT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(PROJECT, 'src/cli.ts');
const REPORT_USAGE = pathToFileURL(join(PROJECT, 'bench/lib/report-usage.ts')).href;
const GOAL_RATIO = 1.3;
const GOAL_CONCURRENCY = [50, 200];
const SERIAL_TARGETS = 5;

/** The probe settings that keep a unit's critical path known: no listening for late DNS answers, no retries, no control. */
const CONFIG = FIXED_PATH_CONFIG;

interface RunFigures {
  label: string;
  targets: number;
  concurrency: number;
  uvThreads: string;
  nodeFlags: NodeFlagsChoice;
  wallS: number;
  db: SweepDbFigures;
  usage: ProcessUsage;
  peakRssKiB: number;
  worldCpuS: number | null;
}

interface Setup {
  cpuProfDir?: string;
  ns: BenchNetns;
  world: WorldProcess;
  dir: string;
  config: string;
}

/** rasad's environment: the bench's own, without anything that would change rasad's configuration. */
function rasadEnv(uvThreads: string, usageFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('RASAD_') || k === 'UV_THREADPOOL_SIZE' || k === 'NODE_EXTRA_CA_CERTS' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  if (uvThreads !== 'default') env.UV_THREADPOOL_SIZE = uvThreads;
  env.RASAD_BENCH_USAGE_OUT = usageFile;
  return env;
}

async function runOnce(setup: Setup, label: string, targets: number, concurrency: number, uvThreads: string, nodeFlags: NodeFlagsChoice): Promise<RunFigures> {
  const name = `${label}-n${targets}-c${concurrency}-uv${uvThreads}-${nodeFlags}`;
  const targetsPath = join(setup.dir, `targets-${targets}.txt`);
  writeFileSync(targetsPath, targetsFile(targets));
  const db = join(setup.dir, `${name}.db`);
  const usageFile = join(setup.dir, `${name}.usage.json`);
  const profile = setup.cpuProfDir && label === 'sweep' ? ['--cpu-prof', `--cpu-prof-dir=${join(setup.cpuProfDir, name)}`] : [];
  const argv = setup.ns.wrap([
    process.execPath, ...nodeFlagsOf(nodeFlags), ...profile, '--import', 'tsx', '--import', REPORT_USAGE, CLI, 'once',
    '--targets', targetsPath, '--db', db, '--config', setup.config,
    '--probes', 'dns,tcp,http', '--resolver', '127.0.0.1:53', '--concurrency', String(concurrency),
  ]);
  const worldCpuBefore = procCpuSeconds(setup.world.pid);
  // Generous: a slow machine must finish, a hung rasad must not hang the bench.
  const timeoutMs = Math.max(180_000, targets * 500);
  const run = await runChild(argv, { cwd: PROJECT, env: rasadEnv(uvThreads, usageFile), timeoutMs });
  const worldCpuAfter = procCpuSeconds(setup.world.pid);
  const what = `rasad once (${targets} targets, concurrency ${concurrency}, uv threads ${uvThreads}, node flags ${nodeFlags})`;
  if (run.timedOut) throw new Error(`${what} did not finish within ${timeoutMs / 1000} s; its stderr ends:\n${tail(run.stderr)}`);
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code ?? run.signal}; its stderr ends:\n${tail(run.stderr)}`);
  let usageReport: ProcessUsage;
  try {
    usageReport = JSON.parse(readFileSync(usageFile, 'utf8')) as ProcessUsage;
  } catch (err) {
    throw new Error(`${what} left no usage report (${(err as Error).message}); its stderr ends:\n${tail(run.stderr)}`);
  }
  const figures = readSweepDb(db);
  if (figures.runStatus !== 'complete') throw new Error(`${what}: the run is "${figures.runStatus}", not complete; its stderr ends:\n${tail(run.stderr)}`);
  return {
    label,
    targets,
    concurrency,
    uvThreads,
    nodeFlags,
    wallS: run.wallS,
    db: figures,
    usage: usageReport,
    peakRssKiB: Math.max(usageReport.max_rss_kib, run.sampledHwmKiB),
    worldCpuS: worldCpuBefore !== null && worldCpuAfter !== null ? worldCpuAfter - worldCpuBefore : null,
  };
}

const cpuOf = (r: RunFigures) => r.usage.user_s + r.usage.system_s;
const mib = (kib: number) => kib / 1024;
const verdictText = (v: Record<string, number>) => Object.entries(v).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';

function printCalibration(startup: RunFigures, serial: RunFigures, path: CriticalPath, latencyMs: number): void {
  console.log('calibration: concurrency 1, rasad as shipped');
  const rows = [startup, serial].map((r) => [
    r.label,
    String(r.targets),
    String(r.db.measurements),
    fixed(r.wallS, 3),
    fixed(r.db.sweepS, 3),
    fixed(r.db.sweepS === null ? null : r.wallS - r.db.sweepS, 3),
    fixed(cpuOf(r), 3),
    fixed(mib(r.peakRssKiB), 1),
  ]);
  for (const line of formatTable(
    [{ header: 'calibration', align: 'left' }, { header: 'targets' }, { header: 'measurements' }, { header: 'wall-s' }, { header: 'sweep-s' }, { header: 'outside-sweep-s' }, { header: 'cpu-s' }, { header: 'peak-rss-MiB' }],
    rows,
  )) {
    console.log(`  ${line}`);
  }
  const parts = Object.entries(path.probeS).map(([p, s]) => `${p} ${fixed(s, 3)}`).join(' + ');
  console.log(`  critical path of one target: ${fixed(path.unitS, 3)} s (median of ${path.units} serial units; probes: ${parts}; the world adds ${latencyMs} ms to DNS and to HTTP)`);
  console.log(`  rasad's startup and exit (1-target run, wall minus sweep): ${fixed(startup.db.sweepS === null ? null : startup.wallS - startup.db.sweepS, 3)} s, ${fixed(cpuOf(startup), 3)} CPU s`);
  console.log('');
}

function printSweeps(runs: RunFigures[], path: CriticalPath, startup: RunFigures): void {
  const startupCpu = cpuOf(startup);
  const verdictOk = (ratio: number) => (ratio <= GOAL_RATIO ? 'meets' : 'MISSES');
  const rows = runs.map((r) => {
    const ideal = idealSeconds(r.targets, r.concurrency, path.unitS);
    const ratioWall = r.wallS / ideal;
    const ratioSweep = r.db.sweepS === null ? Number.NaN : r.db.sweepS / ideal;
    const cpuMsPerMeasurement = (cpuOf(r) / Math.max(1, r.db.measurements)) * 1000;
    // Less what a 1-target run costs (startup, store, exit): the sweep's own share, noisy when the sweep is small.
    const netCpuMsPerMeasurement = ((cpuOf(r) - startupCpu) / Math.max(1, r.db.measurements - startup.db.measurements)) * 1000;
    return [
      String(r.concurrency),
      r.uvThreads,
      r.nodeFlags,
      String(r.targets),
      String(r.db.measurements),
      fixed(r.wallS, 2),
      fixed(r.db.sweepS, 2),
      fixed(ideal, 2),
      fixed(ratioWall, 2),
      fixed(ratioSweep, 2),
      fixed(cpuMsPerMeasurement, 3),
      fixed(netCpuMsPerMeasurement, 3),
      fixed(cpuOf(r), 2),
      fixed(mib(r.peakRssKiB), 1),
      fixed(r.db.measurements / r.wallS, 0),
      fixed(r.worldCpuS, 2),
      Number.isFinite(ratioWall) ? verdictOk(ratioWall) : '-',
      Number.isFinite(ratioSweep) ? verdictOk(ratioSweep) : '-',
    ];
  });
  console.log(`sweeps: ${runs[0]?.targets ?? 0} targets, ideal = ceil(targets / concurrency) x ${fixed(path.unitS, 3)} s`);
  for (const line of formatTable(
    [
      { header: 'concurrency' },
      { header: 'uv-threads' },
      { header: 'node-flags', align: 'left' },
      { header: 'targets' },
      { header: 'measurements' },
      { header: 'wall-s' },
      { header: 'sweep-s' },
      { header: 'ideal-s' },
      { header: 'ratio-wall' },
      { header: 'ratio-sweep' },
      { header: 'cpu-ms/meas' },
      { header: 'net-cpu-ms/meas' },
      { header: 'cpu-s' },
      { header: 'peak-rss-MiB' },
      { header: 'meas/s' },
      { header: 'world-cpu-s' },
      { header: 'goal-wall', align: 'left' },
      { header: 'goal-sweep', align: 'left' },
    ],
    rows,
  )) {
    console.log(`  ${line}`);
  }
  console.log('');
  console.log(`goals: ratio <= ${GOAL_RATIO} at concurrency ${GOAL_CONCURRENCY.join(' and ')}. ratio-wall = wall / ideal (counts rasad's startup); ratio-sweep = the sweep's own duration / ideal.`);
  console.log("  cpu-ms/meas: rasad's user+system CPU per measurement, startup included; net-cpu-ms/meas: the same less a 1-target run's CPU (the sweep's own share; noisy on small sweeps).");
  console.log("  meas/s: measurements / wall; world-cpu-s: the DNS+HTTP world's CPU during the run (it shares the cores with rasad).");
  console.log(`  uv-threads: libuv's thread pool, which runs every getaddrinfo (the dns probe's system resolver); "default" leaves it unset (libuv's 4, as a bare "node dist/src/cli.js" gets); bin/rasad, npm start and the Docker image set 64.`);
  console.log(`  node-flags: "shipped" runs rasad with bin/node-flags (${JSON.stringify(nodeFlagsOf('shipped').join(' '))}), as bin/rasad does; "none" with Node's defaults.`);
  for (const r of runs) console.log(`  verdicts at concurrency ${r.concurrency}, uv-threads ${r.uvThreads}, node-flags ${r.nodeFlags}: ${verdictText(r.db.verdicts)}`);
}

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), {
    targets: { type: 'string' },
    concurrency: { type: 'string' },
    'latency-ms': { type: 'string' },
    'uv-threads': { type: 'string' },
    'node-flags': { type: 'string' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  const targets = positiveInt('targets', flags.targets, 1000, MAX_TARGETS);
  const concurrencies = positiveIntList('concurrency', flags.concurrency, GOAL_CONCURRENCY, 5000);
  const latencyMs = nonNegativeNumber('latency-ms', flags['latency-ms'], 50, 10_000);
  const uvThreads = (flags['uv-threads'] ?? 'default,64').split(',').map((s) => s.trim());
  for (const t of uvThreads) {
    if (t !== 'default') positiveInt('uv-threads', t, 0, 1024);
  }
  if (uvThreads.length === 0 || new Set(uvThreads).size !== uvThreads.length) throw new BenchUsageError('--uv-threads: a list of "default" and thread counts, without repeats');
  const nodeFlagChoices = (flags['node-flags'] ?? 'shipped').split(',').map((s) => s.trim());
  for (const f of nodeFlagChoices) if (f !== 'shipped' && f !== 'none') throw new BenchUsageError(`--node-flags: "shipped" or "none", got ${JSON.stringify(f)}`);
  if (new Set(nodeFlagChoices).size !== nodeFlagChoices.length) throw new BenchUsageError('--node-flags: a list of "shipped" and "none", without repeats');
  requireRoot('bench/sweep');

  const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-sweep-'));
  const removeDir = atTeardown(() => rmSync(dir, { recursive: true, force: true }));
  if (flags.keep) removeDir.cancel();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(CONFIG, null, 2));
  const ns = BenchNetns.create();
  let world: WorldProcess | null = null;
  try {
    console.log(`rasad sweep bench: ${targets} plain-HTTP targets, ${latencyMs} ms added to each DNS answer and HTTP response, namespace ${ns.name}`);
    console.log(`  rasad once --probes dns,tcp,http --resolver 127.0.0.1:53, config ${JSON.stringify(CONFIG)}`);
    world = await startWorldProcess(ns, { targets: Math.max(targets, SERIAL_TARGETS), latencyMs, cwd: PROJECT });
    const setup: Setup = { ns, world, dir, config, ...(flags['cpu-prof'] ? { cpuProfDir: resolvePath(flags['cpu-prof']) } : {}) };

    const startup = await runOnce(setup, 'startup', 1, 1, 'default', 'shipped');
    const serial = await runOnce(setup, 'serial', SERIAL_TARGETS, 1, 'default', 'shipped');
    const path = criticalPath(serial.db.timings);
    if (!(path.unitS > 0)) throw new Error('the serial run stored no usable timings: the critical path cannot be measured');
    console.log('');
    printCalibration(startup, serial, path, latencyMs);

    const runs: RunFigures[] = [];
    for (const choice of nodeFlagChoices as NodeFlagsChoice[]) {
      for (const threads of uvThreads) {
        for (const c of concurrencies) {
          process.stdout.write(`  running: ${targets} targets at concurrency ${c}, uv-threads ${threads}, node-flags ${choice} ...\n`);
          runs.push(await runOnce(setup, 'sweep', targets, c, threads, choice));
        }
      }
    }
    console.log('');
    printSweeps(runs, path, startup);
    const stats = await world.stats();
    console.log(
      `  world: ${stats.dns_queries} DNS queries (${stats.dns_answers} A answers, ${stats.dns_nxdomain} NXDOMAIN), ${stats.http_connections} TCP connections to :80, ${stats.http_requests} HTTP requests; DNS receive buffer ${Math.round(stats.dns_receive_buffer / 1024)} KiB`,
    );
    if (flags.keep) console.log(`  kept ${dir}`);
  } finally {
    // Also on an error: the world's pipes would keep this process alive, and the namespace must go.
    world?.stop();
    ns.destroy();
  }
});
