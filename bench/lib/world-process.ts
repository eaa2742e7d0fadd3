// Starts bench/lib/world-main.ts as a child inside the bench's namespace
// and talks to it over its stdin/stdout lines (world-ready, stats).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchNetns } from './netns.js';
import { atTeardown } from './teardown.js';
import type { WorldStats } from './world.js';

const WORLD_MAIN = fileURLToPath(new URL('./world-main.ts', import.meta.url));
const READY_TIMEOUT_MS = 60_000;

export interface WorldProcess<S = WorldStats> {
  pid: number;
  stats(): Promise<S>;
  stop(): void;
}

export async function startWorldProcess(ns: BenchNetns, options: { targets: number; latencyMs: number; cwd: string }): Promise<WorldProcess> {
  return startWorldMain<WorldStats>(ns, WORLD_MAIN, ['--targets', String(options.targets), '--latency-ms', String(options.latencyMs)], options.cwd);
}

/** Starts a world main script (world-main.ts or realistic-world-main.ts) inside the namespace. */
export async function startWorldMain<S>(ns: BenchNetns, main: string, args: string[], cwd: string): Promise<WorldProcess<S>> {
  const argv = ns.wrap([process.execPath, '--import', 'tsx', main, ...args]);
  const options = { cwd };
  const child: ChildProcessWithoutNullStreams = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const teardown = atTeardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stop = () => teardown.run();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => boolean)[] = [];
  lines.on('line', (line) => {
    const i = waiting.findIndex((w) => w(line));
    if (i >= 0) waiting.splice(i, 1);
  });
  const expect = (prefix: string, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bench world did not say "${prefix}" within ${timeoutMs / 1000} s; its stderr:\n${stderr}`)), timeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`the bench world exited (code ${code}) before saying "${prefix}"; its stderr:\n${stderr}`));
      };
      child.once('exit', onExit);
      waiting.push((line) => {
        if (!line.startsWith(`${prefix} `)) return false;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(line.slice(prefix.length + 1));
        return true;
      });
    });

  try {
    await expect('world-ready', READY_TIMEOUT_MS);
  } catch (err) {
    stop();
    throw err;
  }
  return {
    pid: child.pid!,
    async stats() {
      const answer = expect('world-stats', 10_000);
      child.stdin.write('stats\n');
      return JSON.parse(await answer) as S;
    },
    stop,
  };
}
