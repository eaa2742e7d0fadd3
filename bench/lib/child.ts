// Running a measured command as a child: its wall time from spawn to exit,
// its output kept (the tail, for error messages), its peak RSS sampled from
// /proc while it runs, and a deadline after which it is killed (by its own
// pid: a hung run must not hang the bench).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { samplePeakRss } from './proc.js';
import { atTeardown } from './teardown.js';

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallS: number;
  stdout: string;
  stderr: string;
  /** The largest VmHWM read while it ran, KiB (0 when it ended before the first read). */
  sampledHwmKiB: number;
  timedOut: boolean;
}

/** Output kept per stream at most: a chatty child must not fill the bench's memory. */
const KEEP_BYTES = 256 * 1024;

function keepTail(current: string, chunk: Buffer): string {
  const next = current + chunk.toString('utf8');
  return next.length > KEEP_BYTES ? next.slice(next.length - KEEP_BYTES) : next;
}

export function runChild(argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    // A bench that is interrupted must not leave its measured child running.
    const teardown = atTeardown(() => child.kill('SIGKILL'));
    const sampler = child.pid === undefined ? null : samplePeakRss(child.pid);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout = keepTail(stdout, d)));
    child.stderr.on('data', (d: Buffer) => (stderr = keepTail(stderr, d)));
    child.on('error', (err) => {
      teardown.cancel();
      clearTimeout(timer);
      sampler?.stop();
      reject(err);
    });
    child.on('close', (code, signal) => {
      teardown.cancel();
      clearTimeout(timer);
      const peak = sampler?.stop() ?? { hwmKiB: 0 };
      resolve({ code, signal, wallS: (performance.now() - started) / 1000, stdout, stderr, sampledHwmKiB: peak.hwmKiB, timedOut });
    });
  });
}

/** The last `lines` lines of a text, indented, for an error message. */
export function tail(text: string, lines = 15): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join('\n');
}
