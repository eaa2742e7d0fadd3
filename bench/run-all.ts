// Runs every bench at small sizes, one after the other (they would disturb
// each other's figures if run at once), printing each one's output as it
// comes, then a summary of exit codes and times. `npm run bench`.
//
//   node --import tsx bench/run-all.ts [--smoke] [--only sweep,store]
//
// The default sizes finish in about 15 minutes on 2 cores (the soak is most of it); --smoke uses the
// smallest sizes that still print every figure (CI: the scripts cannot rot).
// One bench failing does not stop the others; the exit code is 1 if any failed.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BenchUsageError, parseBenchFlags, runBench } from './lib/args.js';
import { fixed, formatTable } from './lib/table.js';

const usage = `Usage: node --import tsx bench/run-all.ts [--smoke] [--only sweep,realistic,bundled,soak,sessions,store,export]

  --smoke      the smallest sizes (CI)
  --only LIST  run only these benches
`;

const PROJECT = fileURLToPath(new URL('../', import.meta.url));

interface BenchRun {
  name: string;
  script: string;
  args: string[];
}

/** Small sizes for `npm run bench`, and the smallest for --smoke. */
function plan(smoke: boolean): BenchRun[] {
  return smoke
    ? [
        { name: 'sweep', script: 'bench/sweep.ts', args: ['--targets', '20', '--concurrency', '5,20', '--latency-ms', '20', '--uv-threads', 'default'] },
        { name: 'realistic', script: 'bench/realistic.ts', args: ['--targets', '20', '--concurrency', '10,20', '--rtt-ms', '20', '--sample', '10', '--trust', 'extra-ca'] },
        { name: 'bundled', script: 'bench/bundled.ts', args: ['--concurrency', '20', '--latency-ms', '20'] },
        // Targets 0-8 hold no failing one: a sweep is about one DNS listen window, so 11 sweeps stay short.
        { name: 'soak', script: 'bench/soak.ts', args: ['--sweeps', '11', '--targets', '9', '--rtt-ms', '5', '--modes', 'extra-ca'] },
        { name: 'sessions', script: 'bench/sessions.ts', args: ['--sessions', '20', '--hold-s', '1'] },
        { name: 'store', script: 'bench/store.ts', args: ['--rows', '2000', '--batch', '500'] },
        { name: 'export', script: 'bench/export.ts', args: ['--rows', '2000', '--small', '500'] },
      ]
    : [
        { name: 'sweep', script: 'bench/sweep.ts', args: ['--targets', '200', '--concurrency', '50,200', '--latency-ms', '50', '--uv-threads', 'default,64'] },
        { name: 'realistic', script: 'bench/realistic.ts', args: ['--targets', '200', '--concurrency', '50,200', '--rtt-ms', '150', '--sample', '20'] },
        { name: 'bundled', script: 'bench/bundled.ts', args: ['--concurrency', '20,50', '--latency-ms', '50'] },
        { name: 'soak', script: 'bench/soak.ts', args: ['--sweeps', '30', '--targets', '20', '--modes', 'extra-ca,plain'] },
        { name: 'sessions', script: 'bench/sessions.ts', args: ['--sessions', '200', '--hold-s', '10'] },
        { name: 'store', script: 'bench/store.ts', args: ['--rows', '20000', '--batch', '500'] },
        { name: 'export', script: 'bench/export.ts', args: ['--rows', '200000', '--small', '50000'] },
      ];
}

/** The bench running now, so that a signal can be passed on to it. */
let current: ReturnType<typeof spawn> | null = null;
let interruptedBy: NodeJS.Signals | null = null;

function runOne(run: BenchRun): Promise<{ code: number | null; seconds: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    // The child's output goes straight to ours: figures appear as they are measured.
    const child = spawn(process.execPath, ['--import', 'tsx', run.script, ...run.args], { cwd: PROJECT, stdio: ['ignore', 'inherit', 'inherit'] });
    current = child;
    child.on('error', (err) => {
      process.stderr.write(`${run.name}: cannot start: ${err.message}\n`);
    });
    child.on('close', (code) => {
      current = null;
      resolve({ code, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** A signal ends the bench that runs (its own teardown runs) and the ones after it; the summary still prints. */
function onSignal(signal: NodeJS.Signals): void {
  interruptedBy ??= signal;
  current?.kill(signal);
}

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), { smoke: { type: 'boolean' }, only: { type: 'string' } });
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  let runs = plan(flags.smoke ?? false);
  if (flags.only !== undefined) {
    const wanted = flags.only.split(',').map((s) => s.trim());
    const unknown = wanted.filter((w) => !runs.some((r) => r.name === w));
    if (unknown.length > 0 || wanted.length === 0) throw new BenchUsageError(`--only: unknown bench ${JSON.stringify(unknown[0] ?? '')} (known: ${runs.map((r) => r.name).join(', ')})`);
    runs = runs.filter((r) => wanted.includes(r.name));
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const results: { run: BenchRun; code: number | null; seconds: number }[] = [];
  const started = performance.now();
  for (const run of runs) {
    if (interruptedBy) break;
    console.log(`\n=== bench ${run.name}: node --import tsx ${run.script} ${run.args.join(' ')}`);
    const result = await runOne(run);
    results.push({ run, ...result });
  }

  console.log(`\n=== summary (${flags.smoke ? 'smoke sizes' : 'small sizes'}), ${fixed((performance.now() - started) / 1000, 1)} s in all`);
  for (const line of formatTable(
    [{ header: 'bench', align: 'left' }, { header: 'exit' }, { header: 'seconds' }],
    results.map((r) => [r.run.name, String(r.code ?? 'killed'), fixed(r.seconds, 1)]),
  )) {
    console.log(`  ${line}`);
  }
  if (interruptedBy) {
    console.log(`  interrupted by ${interruptedBy}: ${runs.length - results.length} bench(es) not run`);
    process.exitCode = 130;
  } else if (results.some((r) => r.code !== 0)) {
    process.exitCode = 1;
  }
});
