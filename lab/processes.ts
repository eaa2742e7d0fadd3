// Starting and stopping the lab's long-running programs inside namespaces.
// Each one is detached, logs to a file, and is known by the pid written next
// to its log: stopping means signalling that pid and nothing else.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Namespace } from './addresses.js';
import { nsTryRun, sleepSync } from './exec.js';

export interface StartedProcess {
  name: string;
  ns: Namespace;
  pid: number;
  logFile: string;
}

export interface StartOptions {
  /** The directory for <name>.log and <name>.pid. */
  dir: string;
  cwd: string;
  env?: Record<string, string>;
}

/** `ip netns exec <ns> <argv...>`, detached; `ip netns exec` execs, so the pid is the program's. */
export function startInNamespace(ns: Namespace, name: string, argv: string[], opts: StartOptions): StartedProcess {
  const logFile = join(opts.dir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...opts.env },
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name} in ${ns}`);
  writeFileSync(join(opts.dir, `${name}.pid`), String(child.pid));
  return { name, ns, pid: child.pid, logFile };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function logTail(file: string): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-8).join('\n');
}

/** Waits until every program printed its "<name>: ready" line; throws with its log if one died or hung. */
export async function waitReady(procs: StartedProcess[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(procs);
  while (pending.size > 0) {
    for (const p of pending) {
      const text = existsSync(p.logFile) ? readFileSync(p.logFile, 'utf8') : '';
      if (/: ready\b/.test(text)) pending.delete(p);
      else if (!isAlive(p.pid)) throw new Error(`lab program ${p.name} (in ${p.ns}) exited before it was ready:\n${logTail(p.logFile)}`);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const names = [...pending].map((p) => `${p.name}: ${logTail(p.logFile)}`).join('\n');
      throw new Error(`lab programs not ready after ${timeoutMs} ms:\n${names}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until something listens on ip:port (tcp) inside a namespace. */
export async function waitListening(ns: Namespace, ip: string, port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const out = nsTryRun(ns, 'ss', ['-Hltn']).stdout;
    if (out.split('\n').some((l) => l.includes(`${ip}:${port} `) || l.includes(`0.0.0.0:${port} `) || l.includes(`*:${port} `))) return true;
    if (!alive()) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** The pid still runs one of the lab's programs (not a stranger that reused the pid). */
function isLabProgram(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('lab/services/') || readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('src/cli.ts');
  } catch {
    return false;
  }
}

/** Stops the program whose pid file is in dir (TERM, then KILL), and removes the pid file. */
export function stopByPidFile(dir: string, name: string): void {
  const pidFile = join(dir, `${name}.pid`);
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 1 && isLabProgram(pid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    for (let i = 0; i < 30 && isAlive(pid); i++) sleepSync(100);
    if (isAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  rmSync(pidFile, { force: true });
}
