// A realistic sweep: the size of the Citizen Lab Iran list (903 targets),
// two thirds HTTPS (HTTP/2 or HTTP/1.1, certificates from a test CA) and
// the rest plain HTTP, one target in ten failing (NXDOMAIN, or reset at the
// first byte), every exchange at a simulated RTT, all web probes, a
// `rasad helper` control, retries and the DNS listen window at their
// defaults. Runs the real `rasad once` and prints, per trust path and
// concurrency: a work-based ratio, CPU per measurement, peak RSS and the
// helper's CPU. Goals are printed beside the figures, never asserted.
//
//   node --import tsx bench/realistic.ts [--targets 903] [--concurrency 50,200] [--rtt-ms 150]
//                                        [--sample 20] [--trust extra-ca,system] [--helper-max auto] [--node-flags shipped] [--keep]
//
// Trust paths: "extra-ca" hands rasad and the helper the test CA through
// NODE_EXTRA_CA_CERTS (the lab's way; rasad reads it into probe.extraCaPem);
// "system" installs it as the only system CA instead (node --use-openssl-ca
// with SSL_CERT_FILE), so no extra CA is set: the production trust path.
//
// The ideal is work-based: a serial run (concurrency 1) of the first
// `--sample` targets, which hold the same mix, gives the seconds one unit
// takes end to end (retries, the listen window and the control included).
// ideal = targets x that / concurrency; ratio = the sweep's own duration /
// ideal. Nothing leaves the bench's network namespace. Needs root.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchUsageError, nonNegativeNumber, parseBenchFlags, positiveInt, positiveIntList, runBench } from './lib/args.js';
import { runChild, tail } from './lib/child.js';
import { startHelperProcess } from './lib/helper-process.js';
import { BenchNetns, requireRoot } from './lib/netns.js';
import { nodeFlagsOf, type NodeFlagsChoice } from './lib/node-flags.js';
import { procCpuSeconds } from './lib/proc.js';
import type { RealisticWorldStats } from './lib/realistic-world.js';
import { realisticTargetsFile } from './lib/realistic-world.js';
import type { ProcessUsage } from './lib/report-usage.js';
import { readSweepDb, type SweepDbFigures, longestUnitSeconds, workIdealSeconds } from './lib/sweep-figures.js';
import { fixed, formatTable } from './lib/table.js';
import { atTeardown } from './lib/teardown.js';
import { makeTestPki, type TestPki } from './lib/test-ca.js';
import { MAX_TARGETS } from './lib/world.js';
import { startWorldMain, type WorldProcess } from './lib/world-process.js';

const usage = `Usage: node --import tsx bench/realistic.ts [--targets 903] [--concurrency 50,200] [--rtt-ms 150]
                                            [--sample 20] [--trust extra-ca,system] [--helper-max auto] [--node-flags shipped] [--keep]

  --targets N         targets (default 903, the Citizen Lab Iran list)
  --concurrency LIST  rasad once --concurrency values (default 50,200)
  --rtt-ms D          simulated round-trip time (default 150)
  --sample N          targets of the serial calibration run (default 20: both failure kinds)
  --trust LIST        extra-ca (NODE_EXTRA_CA_CERTS), system (the CA as the system store) (default: both)
  --helper-max M      the helper's --max-concurrency: auto (max(64, concurrency)), default (the CLI's own), or N
  --cpu-prof DIR      write V8 CPU profiles of each sweep (not the calibration) into DIR/<run> (one file per thread: the largest is the main thread),
                      and of its helper into DIR/<run>/helper
  --node-flags F      rasad's node flags: shipped (bin/node-flags, as bin/rasad passes them) or none (Node's defaults) (default: shipped)
  --keep              keep the work directory
`;

const PROJECT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(PROJECT, 'src/cli.ts');
const WORLD_MAIN = join(PROJECT, 'bench/lib/realistic-world-main.ts');
const REPORT_USAGE = pathToFileURL(join(PROJECT, 'bench/lib/report-usage.ts')).href;
const HELPER_PORT = 8081;
const GOAL_RATIO = 1.3;
const GOAL_CPU_MS = 1;
const GOAL_WALL_S_AT_50 = 180;
const TRUSTS = ['extra-ca', 'system'] as const;
type Trust = (typeof TRUSTS)[number];

/** The defaults, except what must not run in a bench: no webhooks, no dashboard. The control is given by --control. */
const CONFIG = { webhooks: [], http: { enabled: false } };

interface Setup {
  cpuProfDir?: string;
  /** rasad's node flags (the helper always runs with the shipped ones). */
  nodeFlags: NodeFlagsChoice;
  ns: BenchNetns;
  dir: string;
  config: string;
  pki: TestPki;
}

interface RunFigures {
  trust: Trust;
  targets: number;
  concurrency: number;
  helperConcurrency: number | 'default';
  wallS: number;
  db: SweepDbFigures;
  usage: ProcessUsage;
  peakRssKiB: number;
  helperCpuS: number | null;
  helperStatuses: Record<string, number>;
  worldCpuS: number | null;
}

/** The environment of rasad and the helper: ours, less anything that would change their configuration; the trust path's additions. */
function childEnv(trust: Trust, pki: TestPki, usageFile?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('RASAD_') || k.startsWith('SSL_CERT_') || k === 'NODE_EXTRA_CA_CERTS' || k === 'NODE_OPTIONS' || k === 'UV_THREADPOOL_SIZE') continue;
    env[k] = v;
  }
  env.UV_THREADPOOL_SIZE = '64'; // as bin/rasad sets it
  if (trust === 'extra-ca') env.NODE_EXTRA_CA_CERTS = pki.caFile;
  else env.SSL_CERT_FILE = pki.caFile;
  if (usageFile) env.RASAD_BENCH_USAGE_OUT = usageFile;
  return env;
}

const nodeFlags = (trust: Trust) => (trust === 'system' ? ['--use-openssl-ca'] : []);

async function runOnce(setup: Setup, world: WorldProcess<RealisticWorldStats>, trust: Trust, targets: number, concurrency: number, helperConcurrency: number | 'default'): Promise<RunFigures> {
  const name = `${trust}-n${targets}-c${concurrency}-h${helperConcurrency}`;
  const targetsPath = join(setup.dir, `targets-${targets}.txt`);
  writeFileSync(targetsPath, realisticTargetsFile(targets));
  const db = join(setup.dir, `${name}.db`);
  const usageFile = join(setup.dir, `${name}.usage.json`);
  const profile = setup.cpuProfDir && concurrency > 1 ? ['--cpu-prof', `--cpu-prof-dir=${join(setup.cpuProfDir, name)}`] : [];
  const helper = await startHelperProcess(setup.ns, {
    cli: CLI,
    cwd: PROJECT,
    env: childEnv(trust, setup.pki),
    // The helper's profile goes beside rasad's, under <run>/helper (written when it stops).
    nodeFlags: [...(profile.length > 0 ? ['--cpu-prof', `--cpu-prof-dir=${join(setup.cpuProfDir!, name, 'helper')}`] : []), ...nodeFlags(trust)],
    port: HELPER_PORT,
    maxConcurrency: helperConcurrency === 'default' ? undefined : helperConcurrency,
  });
  try {
    const argv = setup.ns.wrap([
      process.execPath, ...nodeFlagsOf(setup.nodeFlags), ...profile, ...nodeFlags(trust), '--import', 'tsx', '--import', REPORT_USAGE, CLI, 'once',
      '--targets', targetsPath, '--db', db, '--config', setup.config, '--control', helper.url, '--concurrency', String(concurrency),
    ]);
    const helperBefore = helper.cpuSeconds();
    const worldBefore = procCpuSeconds(world.pid);
    const timeoutMs = Math.max(300_000, targets * 2000);
    const run = await runChild(argv, { cwd: PROJECT, env: childEnv(trust, setup.pki, usageFile), timeoutMs });
    const helperAfter = helper.cpuSeconds();
    const worldAfter = procCpuSeconds(world.pid);
    const what = `rasad once (${targets} targets, concurrency ${concurrency}, trust ${trust})`;
    if (run.timedOut) throw new Error(`${what} did not finish within ${timeoutMs / 1000} s; its stderr ends:\n${tail(run.stderr)}`);
    if (run.code !== 0) throw new Error(`${what} exited with ${run.code ?? run.signal}; its stderr ends:\n${tail(run.stderr)}`);
    const usageReport = JSON.parse(readFileSync(usageFile, 'utf8')) as ProcessUsage;
    const figures = readSweepDb(db);
    if (figures.runStatus !== 'complete') throw new Error(`${what}: the run is "${figures.runStatus}"; its stderr ends:\n${tail(run.stderr)}`);
    return {
      trust,
      targets,
      concurrency,
      helperConcurrency,
      wallS: run.wallS,
      db: figures,
      usage: usageReport,
      peakRssKiB: Math.max(usageReport.max_rss_kib, run.sampledHwmKiB),
      helperCpuS: helperBefore !== null && helperAfter !== null ? helperAfter - helperBefore : null,
      helperStatuses: helper.statuses(),
      worldCpuS: worldBefore !== null && worldAfter !== null ? worldAfter - worldBefore : null,
    };
  } finally {
    await helper.stop();
  }
}

const cpuOf = (r: RunFigures) => r.usage.user_s + r.usage.system_s;
const statusText = (s: Record<string, number>) => Object.entries(s).map(([k, n]) => `${k}:${n}`).join(',') || 'none';
const verdictText = (v: Record<string, number>) => Object.entries(v).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';

/** Seconds one unit takes alone, end to end: the serial run's own duration over its units. */
function unitSeconds(serial: RunFigures): number {
  return serial.db.sweepS === null ? Number.NaN : serial.db.sweepS / Math.max(1, serial.targets);
}

function printRuns(title: string, runs: RunFigures[], unitS: number, longestS: number, baseline: RunFigures | null): void {
  console.log(title);
  const rows = runs.map((r) => {
    const ideal = workIdealSeconds(r.targets, r.concurrency, unitS, longestS);
    const ratio = r.db.sweepS === null ? Number.NaN : r.db.sweepS / ideal;
    const cpuMs = (cpuOf(r) / Math.max(1, r.db.measurements)) * 1000;
    // Less the serial run's CPU (startup, store, exit and its own few units): the sweep's own share.
    const netCpuMs = baseline ? ((cpuOf(r) - cpuOf(baseline)) / Math.max(1, r.db.measurements - baseline.db.measurements)) * 1000 : Number.NaN;
    return [
      r.trust,
      String(r.concurrency),
      String(r.helperConcurrency),
      String(r.targets),
      String(r.db.measurements),
      fixed(r.wallS, 1),
      fixed(r.db.sweepS, 1),
      fixed(ideal, 1),
      fixed(ratio, 2),
      fixed(cpuMs, 2),
      fixed(netCpuMs, 2),
      fixed(cpuOf(r), 1),
      fixed(r.peakRssKiB / 1024, 0),
      fixed(r.helperCpuS, 1),
      fixed(r.worldCpuS, 1),
      statusText(r.helperStatuses),
      r.concurrency === 1 ? '-' : `${ratio <= GOAL_RATIO ? 'meets' : 'MISSES'}/${netCpuMs <= GOAL_CPU_MS ? 'meets' : 'MISSES'}`,
    ];
  });
  for (const line of formatTable(
    [
      { header: 'trust', align: 'left' },
      { header: 'concurrency' },
      { header: 'helper-max' },
      { header: 'targets' },
      { header: 'measurements' },
      { header: 'wall-s' },
      { header: 'sweep-s' },
      { header: 'ideal-s' },
      { header: 'ratio' },
      { header: 'cpu-ms/meas' },
      { header: 'net-cpu-ms/meas' },
      { header: 'cpu-s' },
      { header: 'peak-rss-MiB' },
      { header: 'helper-cpu-s' },
      { header: 'world-cpu-s' },
      { header: 'helper-answers', align: 'left' },
      { header: 'goal-ratio/cpu', align: 'left' },
    ],
    rows,
  )) {
    console.log(`  ${line}`);
  }
  for (const r of runs) console.log(`  verdicts (${r.trust}, concurrency ${r.concurrency}): ${verdictText(r.db.verdicts)}`);
  console.log('');
}

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), {
    targets: { type: 'string' },
    concurrency: { type: 'string' },
    'rtt-ms': { type: 'string' },
    sample: { type: 'string' },
    trust: { type: 'string' },
    'helper-max': { type: 'string' },
    'node-flags': { type: 'string' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  const targets = positiveInt('targets', flags.targets, 903, MAX_TARGETS);
  const concurrencies = positiveIntList('concurrency', flags.concurrency, [50, 200], 5000);
  const rttMs = nonNegativeNumber('rtt-ms', flags['rtt-ms'], 150, 10_000);
  const sample = positiveInt('sample', flags.sample, 20, targets);
  const trusts = (flags.trust ?? TRUSTS.join(',')).split(',').map((s) => s.trim());
  for (const t of trusts) if (!(TRUSTS as readonly string[]).includes(t)) throw new BenchUsageError(`--trust: unknown trust path ${JSON.stringify(t)} (known: ${TRUSTS.join(', ')})`);
  const helperMax = flags['helper-max'] ?? 'auto';
  if (helperMax !== 'auto' && helperMax !== 'default') positiveInt('helper-max', helperMax, 0, 1000);
  const nodeFlagsChoice = (flags['node-flags'] ?? 'shipped').trim();
  if (nodeFlagsChoice !== 'shipped' && nodeFlagsChoice !== 'none') throw new BenchUsageError(`--node-flags: "shipped" or "none", got ${JSON.stringify(flags['node-flags'])}`);
  requireRoot('bench/realistic');

  const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-realistic-'));
  const removeDir = atTeardown(() => rmSync(dir, { recursive: true, force: true }));
  if (flags.keep) removeDir.cancel();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(CONFIG, null, 2));
  const pki = makeTestPki(dir);
  const ns = BenchNetns.create('real');
  let world: WorldProcess<RealisticWorldStats> | null = null;
  try {
    console.log(`rasad realistic bench: ${targets} targets (i mod 10: 0-5 https, 6-8 http, 9 failing: NXDOMAIN or reset), ${rttMs} ms RTT, rasad's node flags ${nodeFlagsChoice} ${JSON.stringify(nodeFlagsOf(nodeFlagsChoice).join(' '))}, namespace ${ns.name}`);
    console.log(`  rasad once --control <rasad helper> --concurrency C; all web probes, retries and listen window at their defaults; config ${JSON.stringify(CONFIG)}`);
    console.log('  RTT: DNS answers held one RTT; TCP to :80/:443 through a proxy holding each chunk RTT/2 each way (TCP connects themselves are loopback-fast)');
    world = await startWorldMain<RealisticWorldStats>(ns, WORLD_MAIN, ['--targets', String(targets), '--rtt-ms', String(rttMs), '--cert', join(dir, 'server.pem'), '--key', join(dir, 'server.key')], PROJECT);
    const setup: Setup = { ns, dir, config, pki, nodeFlags: nodeFlagsChoice, ...(flags['cpu-prof'] ? { cpuProfDir: resolvePath(flags['cpu-prof']) } : {}) };

    const serial = await runOnce(setup, world, trusts[0] as Trust, sample, 1, 'default');
    const unitS = unitSeconds(serial);
    const longestS = longestUnitSeconds(serial.db.timings);
    if (!(unitS > 0)) throw new Error('the serial run has no duration: the ideal cannot be computed');
    console.log('');
    printRuns(`calibration: ${sample} targets at concurrency 1: ${fixed(unitS, 3)} s per unit end to end, the longest ${fixed(longestS, 3)} s`, [serial], unitS, longestS, null);

    const runs: RunFigures[] = [];
    for (const trust of trusts as Trust[]) {
      for (const c of concurrencies) {
        process.stdout.write(`  running: ${targets} targets at concurrency ${c}, trust ${trust} ...\n`);
        // auto: the helper sized for the probe, at least its concurrency; "default": the helper's own default.
        const max = helperMax === 'auto' ? Math.max(64, c) : helperMax === 'default' ? 'default' : Number(helperMax);
        runs.push(await runOnce(setup, world, trust, targets, c, max));
      }
    }
    console.log('');
    printRuns(`sweeps: ideal = max(targets x ${fixed(unitS, 3)} s / concurrency, ${fixed(longestS, 3)} s)`, runs, unitS, longestS, serial);
    console.log(`goals: ratio <= ${GOAL_RATIO} at concurrency 50 and 200; <= ${GOAL_CPU_MS} ms CPU per measurement; the whole list in under ${GOAL_WALL_S_AT_50} s at concurrency 50.`);
    for (const r of runs.filter((x) => x.concurrency === 50)) {
      console.log(`  whole list at concurrency 50 (${r.trust}): ${fixed(r.wallS, 1)} s wall: ${r.wallS <= GOAL_WALL_S_AT_50 ? 'meets' : 'MISSES'}`);
    }
    console.log("  cpu-ms/meas: rasad's user+system CPU (startup included) per measurement; net-cpu-ms/meas: less the serial run's CPU (the goal's figure);");
    console.log("  helper-cpu-s: the helper's CPU during the run; world-cpu-s: the DNS, proxies and origin servers (they share the cores).");
    console.log('  helper-answers: the helper\'s answers by HTTP status (503 = busy); helper-max: its --max-concurrency.');
    const stats = await world.stats();
    console.log(`  world: ${JSON.stringify(stats)}`);
    if (flags.keep) console.log(`  kept ${dir}`);
  } finally {
    world?.stop();
    ns.destroy();
  }
});
