// Running the lab's system commands. Everything is synchronous on purpose:
// teardown must also work from a signal handler and from process 'exit'.
import { spawnSync } from 'node:child_process';
import type { Namespace } from './addresses.js';

export class LabCommandError extends Error {
  override name = 'LabCommandError';
  constructor(
    readonly command: string[],
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${command.join(' ')} failed (exit ${status ?? 'signal'}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command and returns its output, whatever its exit code. */
export function tryRun(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    return { status: 127, stdout: '', stderr: `${cmd}: not found (is its Debian package installed? see lab/packages.txt)` };
  }
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** Runs a command; throws LabCommandError when it fails. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = tryRun(cmd, args, opts);
  if (r.status !== 0) throw new LabCommandError([cmd, ...args], r.status, r.stderr);
  return r.stdout;
}

/** `ip netns exec <ns> cmd args...` */
export function nsRun(ns: Namespace, cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export function nsTryRun(ns: Namespace, cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
  return tryRun('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** iptables inside a namespace (-w: wait for the xtables lock instead of failing). */
export function iptables(ns: Namespace, args: string[]): string {
  return nsRun(ns, 'iptables', ['-w', ...args]);
}

/** `ip -n <ns> ...` */
export function ipIn(ns: Namespace, args: string[]): string {
  return run('ip', ['-n', ns, ...args]);
}

/** Blocks the thread for a while (used in synchronous teardown loops only). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Throws a clear error when not root: the lab needs namespaces and iptables. */
export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the rasad lab needs root (network namespaces, iptables, tc): run it with sudo, as CI does');
  }
}

export function hasCommand(cmd: string): boolean {
  return tryRun('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** The Debian package (lab/packages.txt) each tool the lab or its tests run comes from. */
export const TOOL_PACKAGES: Record<string, string> = {
  ip: 'iproute2', tc: 'iproute2', ss: 'iproute2', iptables: 'iptables', sysctl: 'procps', openssl: 'openssl',
  python3: 'python3', dig: 'dnsutils', curl: 'curl',
};

/** Throws one clear line naming the Debian package to install when a tool is missing. */
export function requireTool(cmd: string): void {
  if (hasCommand(cmd)) return;
  const pkg = TOOL_PACKAGES[cmd];
  throw new Error(`${cmd} is not installed: ${pkg ? `apt-get install ${pkg}` : 'install it'} (the lab's packages: apt-get install $(cat lab/packages.txt))`);
}
