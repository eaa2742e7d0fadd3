// A `rasad helper` (the control) as a child inside the bench's namespace:
// started, waited for until it listens, its answers counted by status from
// its JSON log, its CPU read from /proc, stopped with SIGTERM.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { BenchNetns } from './netns.js';
import { shippedNodeFlags } from './node-flags.js';
import { procCpuSeconds } from './proc.js';
import { atTeardown } from './teardown.js';

export interface HelperProcess {
  pid: number;
  url: string;
  /** Answers by HTTP status so far ("200": n, "503": n). */
  statuses(): Record<string, number>;
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

export interface HelperLaunch {
  cli: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Node flags before the script (e.g. --use-openssl-ca), after the shipped ones (bin/node-flags): bin/rasad starts the helper too. */
  nodeFlags?: string[];
  port: number;
  /** --max-concurrency, or undefined for the CLI's default. */
  maxConcurrency?: number;
  caFile?: string;
}

export async function startHelperProcess(ns: BenchNetns, launch: HelperLaunch): Promise<HelperProcess> {
  const listen = `127.0.0.1:${launch.port}`;
  const args = ['helper', '--listen', listen, '--allow-private'];
  if (launch.maxConcurrency !== undefined) args.push('--max-concurrency', String(launch.maxConcurrency));
  if (launch.caFile) args.push('--ca-file', launch.caFile);
  const argv = ns.wrap([process.execPath, ...shippedNodeFlags(), ...(launch.nodeFlags ?? []), '--import', 'tsx', launch.cli, ...args]);
  const child: ChildProcessWithoutNullStreams = spawn(argv[0]!, argv.slice(1), { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const teardown = atTeardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const statuses: Record<string, number> = {};
  let stderrTail = '';
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail = (stderrTail + line + '\n').slice(-4096);
    const m = /"status":(\d{3})/.exec(line);
    if (m && line.includes('control request')) statuses[m[1]!] = (statuses[m[1]!] ?? 0) + 1;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rasad helper did not listen within 60 s; its stderr:\n${stderrTail}`)), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rasad helper exited (code ${code}) before listening; its stderr:\n${stderrTail}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('rasad helper: listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  }).catch((err: unknown) => {
    teardown.run();
    throw err;
  });
  return {
    pid: child.pid!,
    url: `http://${listen}/`,
    statuses: () => ({ ...statuses }),
    cpuSeconds: () => procCpuSeconds(child.pid!),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(teardown.cancel());
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          teardown.cancel();
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
