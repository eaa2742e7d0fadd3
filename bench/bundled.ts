// A sweep of the bundled targets.txt, apps and circumvention endpoints
// included, against a world that answers all of it: does it stay within the
// plain sweep bench's ratio (issue 19)? Runs the real `rasad once` on the
// bundled list, with probeCircumvention on, as a child in the bench's own
// network namespace, and prints the wall time, the sweep's own duration, a
// work-based ideal, their ratio, CPU per measurement and peak RSS; then runs
// bench/sweep.ts (plain HTTP) on as many targets at the same concurrency
// and latency and prints its ratio beside. Goals are printed, not asserted.
//
//   node --import tsx bench/bundled.ts [--concurrency 20,50] [--latency-ms 50] [--plain yes] [--keep]
//
// The world (bench/lib/bundled-world.ts) answers every DNS name, serves
// HTTP, HTTPS (a test CA, handed to rasad as NODE_EXTRA_CA_CERTS), Tor's OR
// and directory ports, on every port the list and the apps use. The fixed
// addresses the apps and Tor's authorities are probed at (Telegram's data
// centres, ...) are added to the namespace's `lo`, and exist nowhere else.
// rasad runs with bench/sweep.ts's configuration (no DNS listen window, no
// retries, no control: nothing is sent to OONI's helpers), so the two
// ratios are comparable. Nothing leaves the namespace. Needs root.
//
// ideal = max(units x the serial run's seconds per unit / concurrency, the
// longest serial unit); ratio = the sweep's own duration / ideal.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchUsageError, nonNegativeNumber, parseBenchFlags, positiveIntList, runBench } from './lib/args.js';
import { bundledNeeds } from './lib/bundled-targets.js';
import type { BundledWorldStats } from './lib/bundled-world.js';
import { runChild, tail } from './lib/child.js';
import { BenchNetns, requireRoot } from './lib/netns.js';
import { procCpuSeconds } from './lib/proc.js';
import { runRasadOnce, type RasadOnceRun } from './lib/rasad-once.js';
import { FIXED_PATH_CONFIG } from './lib/sweep-config.js';
import { longestUnitSeconds, unitSpans, workIdealSeconds } from './lib/sweep-figures.js';
import { fixed, formatTable, parseTable } from './lib/table.js';
import { atTeardown } from './lib/teardown.js';
import { makeTestPki } from './lib/test-ca.js';
import { startWorldMain, type WorldProcess } from './lib/world-process.js';
import { EXPERIMENTS } from '../src/experiments/registry.js';
import { loadTargets } from '../src/targets/parse.js';

const usage = `Usage: node --import tsx bench/bundled.ts [--concurrency 20,50] [--latency-ms 50] [--plain yes] [--cpu-prof DIR] [--keep]

  --concurrency LIST  rasad once --concurrency values (default 20,50: the web schedule's default, and 50)
  --latency-ms D      delay added to every DNS answer, HTTP response and Tor answer (default 50)
  --plain yes|no      also run bench/sweep.ts at the same size, concurrency and latency, for its ratio (default yes)
  --cpu-prof DIR      write V8 CPU profiles of each sweep (not the serial run) into DIR/c<concurrency> (summarise with bench/profile-top.ts)
  --keep              keep the work directory
`;

const PROJECT = fileURLToPath(new URL('../', import.meta.url));
const TARGETS = join(PROJECT, 'targets.txt');
const WORLD_MAIN = join(PROJECT, 'bench/lib/bundled-world-main.ts');
/** bench/sweep.ts's configuration, with the circumvention endpoints measured (they are opt-in). */
const CONFIG = { ...FIXED_PATH_CONFIG, probeCircumvention: true };
/** Every probe the bundled list can be measured by: the web schedule's (web and apps) and the circumvention experiments'. */
const PROBES = EXPERIMENTS.filter((e) => e.schedule === 'web' || e.circumvention).flatMap((e) => e.probes.map((p) => p.kind));

interface Setup {
  ns: BenchNetns;
  world: WorldProcess<BundledWorldStats>;
  dir: string;
  config: string;
  caFile: string;
  cpuProfDir: string | null;
}

interface Run extends RasadOnceRun {
  concurrency: number;
  worldCpuS: number | null;
}

async function runBundled(setup: Setup, concurrency: number): Promise<Run> {
  const worldBefore = procCpuSeconds(setup.world.pid);
  const run = await runRasadOnce({
    ns: setup.ns,
    workPrefix: join(setup.dir, `bundled-c${concurrency}`),
    args: ['--targets', TARGETS, '--config', setup.config, '--probes', PROBES.join(','), '--resolver', '127.0.0.1:53', '--concurrency', String(concurrency)],
    nodeFlags: setup.cpuProfDir && concurrency > 1 ? ['--cpu-prof', `--cpu-prof-dir=${join(setup.cpuProfDir, `c${concurrency}`)}`] : [],
    // As bin/rasad and npm start run it; the test CA as the lab hands its own out.
    env: { UV_THREADPOOL_SIZE: '64', NODE_EXTRA_CA_CERTS: setup.caFile },
    timeoutMs: 600_000,
    what: `rasad once (bundled list, concurrency ${concurrency})`,
  });
  const worldAfter = procCpuSeconds(setup.world.pid);
  return { ...run, concurrency, worldCpuS: worldBefore !== null && worldAfter !== null ? worldAfter - worldBefore : null };
}

/** bench/sweep.ts on `targets` plain-HTTP targets: its ratio-sweep by concurrency. */
async function plainRatios(targets: number, concurrencies: number[], latencyMs: number): Promise<Map<number, number>> {
  const argv = [process.execPath, '--import', 'tsx', join(PROJECT, 'bench/sweep.ts'), '--targets', String(targets), '--concurrency', concurrencies.join(','), '--latency-ms', String(latencyMs), '--uv-threads', '64'];
  const run = await runChild(argv, { cwd: PROJECT, env: process.env, timeoutMs: 900_000 });
  if (run.code !== 0) throw new Error(`bench/sweep.ts exited with ${run.code ?? run.signal}; its output ends:\n${tail(run.stdout + run.stderr)}`);
  const table = parseTable(run.stdout, 'concurrency');
  if (!table) throw new Error(`bench/sweep.ts printed no sweeps table:\n${tail(run.stdout)}`);
  return new Map(table.rows.map((r) => [Number(r.concurrency), Number(r['ratio-sweep'])]));
}

const mib = (kib: number) => kib / 1024;
const countText = (v: Record<string, number>) => Object.entries(v).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';

function byProbe(run: RasadOnceRun): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of run.db.timings) counts[t.probe] = (counts[t.probe] ?? 0) + 1;
  return counts;
}

function printRuns(runs: Run[], serial: Run, units: number, unitS: number, longestS: number, plain: Map<number, number>): void {
  const rows = runs.map((r) => {
    const ideal = workIdealSeconds(units, r.concurrency, unitS, longestS);
    const ratio = r.db.sweepS === null ? Number.NaN : r.db.sweepS / ideal;
    const plainRatio = plain.get(r.concurrency) ?? Number.NaN;
    return [
      String(r.concurrency),
      String(units),
      String(r.db.measurements),
      fixed(r.wallS, 2),
      fixed(r.db.sweepS, 2),
      fixed(ideal, 2),
      fixed(ratio, 2),
      fixed(plainRatio, 2),
      fixed((r.cpuS / Math.max(1, r.db.measurements)) * 1000, 2),
      fixed(r.cpuS, 2),
      fixed(mib(r.peakRssKiB), 1),
      fixed(r.worldCpuS, 2),
      r === serial || !Number.isFinite(plainRatio) ? '-' : ratio <= plainRatio ? 'meets' : 'MISSES',
    ];
  });
  for (const line of formatTable(
    [
      { header: 'concurrency' },
      { header: 'units' },
      { header: 'measurements' },
      { header: 'wall-s' },
      { header: 'sweep-s' },
      { header: 'ideal-s' },
      { header: 'ratio' },
      { header: 'plain-ratio' },
      { header: 'cpu-ms/meas' },
      { header: 'cpu-s' },
      { header: 'peak-rss-MiB' },
      { header: 'world-cpu-s' },
      { header: 'goal', align: 'left' },
    ],
    rows,
  )) {
    console.log(`  ${line}`);
  }
  for (const r of runs) {
    console.log(`  measurements by probe (concurrency ${r.concurrency}): ${countText(byProbe(r))}`);
    console.log(`  verdicts (concurrency ${r.concurrency}): ${countText(r.db.verdicts)}`);
  }
}

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), {
    concurrency: { type: 'string' },
    'latency-ms': { type: 'string' },
    plain: { type: 'string' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  const concurrencies = positiveIntList('concurrency', flags.concurrency, [20, 50], 5000);
  const latencyMs = nonNegativeNumber('latency-ms', flags['latency-ms'], 50, 10_000);
  const plain = flags.plain ?? 'yes';
  if (plain !== 'yes' && plain !== 'no') throw new BenchUsageError(`--plain: yes or no (got ${JSON.stringify(plain)})`);
  requireRoot('bench/bundled');

  const targets = loadTargets(TARGETS);
  const needs = bundledNeeds(targets);
  const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-bundled-'));
  const removeDir = atTeardown(() => rmSync(dir, { recursive: true, force: true }));
  if (flags.keep) removeDir.cancel();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(CONFIG, null, 2));
  const pki = makeTestPki(dir, needs.names);
  const ns = BenchNetns.create('bundled');
  let world: WorldProcess<BundledWorldStats> | null = null;
  try {
    ns.addLoopbackAddresses(needs.addresses);
    console.log(`rasad bundled bench: the ${targets.length} targets of targets.txt, ${needs.names.length} names, ${needs.addresses.length} fixed addresses on the namespace's lo, ports ${needs.ports.join(',')}; ${latencyMs} ms added to each DNS answer, HTTP response and Tor answer; namespace ${ns.name}`);
    console.log(`  rasad once --probes ${PROBES.join(',')} --resolver 127.0.0.1:53, config ${JSON.stringify(CONFIG)}`);
    world = await startWorldMain<BundledWorldStats>(ns, WORLD_MAIN, ['--latency-ms', String(latencyMs), '--cert', join(dir, 'server.pem'), '--key', join(dir, 'server.key'), '--ports', needs.ports.join(',')], PROJECT);
    const setup: Setup = { ns, world, dir, config, caFile: pki.caFile, cpuProfDir: typeof flags['cpu-prof'] === 'string' ? resolve(flags['cpu-prof']) : null };

    const serial = await runBundled(setup, 1);
    const units = serial.db.unitsMeasured ?? new Set(serial.db.timings.map((t) => t.url)).size;
    const unitS = serial.db.sweepS === null ? Number.NaN : serial.db.sweepS / Math.max(1, units);
    // An app unit is one measurement whose own runtime is its span; a web unit's gap to the next also counts its wait.
    const longestS = Math.max(longestUnitSeconds(serial.db.timings), ...unitSpans(serial.db.timings).map((u) => u.spanS));
    if (!(unitS > 0)) throw new Error('the serial run has no duration: the ideal cannot be computed');
    const runs: Run[] = [];
    for (const c of concurrencies) {
      process.stdout.write(`  running: the bundled list at concurrency ${c} ...\n`);
      runs.push(await runBundled(setup, c));
    }
    const stats = await world.stats();
    world.stop();
    world = null;
    let plainRatio = new Map<number, number>();
    if (plain === 'yes') {
      process.stdout.write(`  running: bench/sweep.ts --targets ${units} --concurrency ${concurrencies.join(',')} --latency-ms ${latencyMs} --uv-threads 64 ...\n`);
      plainRatio = await plainRatios(units, concurrencies, latencyMs);
    }
    console.log('');
    console.log(`calibration: concurrency 1: ${units} units, ${fixed(unitS, 3)} s per unit end to end, the longest ${fixed(longestS, 3)} s`);
    console.log(`sweeps: ideal = max(${units} units x ${fixed(unitS, 3)} s / concurrency, ${fixed(longestS, 3)} s); plain-ratio: bench/sweep.ts's ratio-sweep on ${units} plain-HTTP targets, same concurrency and latency, this run`);
    printRuns([serial, ...runs], serial, units, unitS, longestS, plainRatio);
    console.log('');
    console.log('goals: a sweep of the bundled list, apps and Tor included, stays within the plain sweep bench\'s ratio (ratio <= plain-ratio at the same concurrency; issue 19).');
    console.log("  cpu-ms/meas: rasad's user+system CPU (startup included) per measurement (the serial run and the sweeps measure the same list, so there is no net figure); world-cpu-s: the world's CPU (it shares the cores).");
    console.log(`  world: ${JSON.stringify(stats)}`);
    if (flags.keep) console.log(`  kept ${dir}`);
  } finally {
    world?.stop();
    ns.destroy();
  }
});
