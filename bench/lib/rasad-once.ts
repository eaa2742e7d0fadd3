// One measured `rasad once` as a child inside the bench's namespace: its
// environment (the bench's own, less anything that would change rasad's
// configuration), its wall time, its own usage report (report-usage.ts,
// preloaded), its peak RSS and what its database holds. A run that times
// out, fails or is not complete is an error with the tail of its stderr.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runChild, tail } from './child.js';
import type { BenchNetns } from './netns.js';
import { shippedNodeFlags } from './node-flags.js';
import type { ProcessUsage } from './report-usage.js';
import { readSweepDb, type SweepDbFigures } from './sweep-figures.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(PROJECT, 'src/cli.ts');
const REPORT_USAGE = pathToFileURL(join(PROJECT, 'bench/lib/report-usage.ts')).href;

/** The bench's environment without what configures rasad or node (RASAD_*, extra CAs, NODE_OPTIONS, the thread pool), plus `extra`. */
export function benchChildEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('RASAD_') || k.startsWith('SSL_CERT_') || k === 'NODE_EXTRA_CA_CERTS' || k === 'NODE_OPTIONS' || k === 'UV_THREADPOOL_SIZE') continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface RasadOnceRun {
  wallS: number;
  db: SweepDbFigures;
  usage: ProcessUsage;
  /** The larger of ru_maxrss and the VmHWM sampled while it ran, KiB. */
  peakRssKiB: number;
  /** user + system CPU seconds. */
  cpuS: number;
}

export interface RasadOnceLaunch {
  ns: BenchNetns;
  /** Where its database and usage report go: `<workPrefix>.db`, `<workPrefix>.usage.json`. */
  workPrefix: string;
  /** The arguments after `rasad once`. */
  args: string[];
  env: Record<string, string | undefined>;
  /** Node flags before the script (--cpu-prof, --use-openssl-ca), after the shipped ones (bin/node-flags). */
  nodeFlags?: string[];
  timeoutMs: number;
  /** Names the run in errors. */
  what: string;
}

export async function runRasadOnce(launch: RasadOnceLaunch): Promise<RasadOnceRun> {
  const db = `${launch.workPrefix}.db`;
  const usageFile = `${launch.workPrefix}.usage.json`;
  const argv = launch.ns.wrap([process.execPath, ...shippedNodeFlags(), ...(launch.nodeFlags ?? []), '--import', 'tsx', '--import', REPORT_USAGE, CLI, 'once', '--db', db, ...launch.args]);
  const run = await runChild(argv, { cwd: PROJECT, env: benchChildEnv({ ...launch.env, RASAD_BENCH_USAGE_OUT: usageFile }), timeoutMs: launch.timeoutMs });
  const { what } = launch;
  if (run.timedOut) throw new Error(`${what} did not finish within ${launch.timeoutMs / 1000} s; its stderr ends:\n${tail(run.stderr)}`);
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code ?? run.signal}; its stderr ends:\n${tail(run.stderr)}`);
  let usage: ProcessUsage;
  try {
    usage = JSON.parse(readFileSync(usageFile, 'utf8')) as ProcessUsage;
  } catch (err) {
    throw new Error(`${what} left no usage report (${(err as Error).message}); its stderr ends:\n${tail(run.stderr)}`);
  }
  const figures = readSweepDb(db);
  if (figures.runStatus !== 'complete') throw new Error(`${what}: the run is "${figures.runStatus}", not complete; its stderr ends:\n${tail(run.stderr)}`);
  return { wallS: run.wallS, db: figures, usage, peakRssKiB: Math.max(usage.max_rss_kib, run.sampledHwmKiB), cpuS: usage.user_s + usage.system_s };
}
