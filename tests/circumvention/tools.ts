// Helpers for the circumvention tests: real servers (tor, openvpn,
// wireguard-go) started on loopback for one test file, and the probe options.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { ProbeInput, ProbeOptions, Target } from '../../probes/types.js';

/** Fails (never skips) when a tool is missing, naming the Debian package that has it. */
export function requireTool(command: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') throw new Error(`${command} is not installed: apt-get install ${debianPackage}`);
  return path;
}

export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Starts a child and resolves once `ready` matches its output (stdout or stderr); rejects with the output on exit or timeout. */
export function startServer(command: string, args: string[], ready: RegExp, timeoutMs = 20_000, env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} was not ready within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    });
  });
}

/** Stops a child started by this file, by its own pid, and waits for it. */
export async function stopServer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export const OPTIONS: ProbeOptions = {
  timeoutMs: 3000,
  resolver: '127.0.0.1:53',
  dohUrl: null,
  dnsListenWindowMs: 0,
  innocuousSni: 'example.com',
  bodyCapBytes: 4096,
  bodyReadLimitBytes: 65536,
  userAgent: 'rasad-test',
  sessionHorizonMs: 1000,
  sessionIntervalMs: 500,
  throughputBytes: 1024,
  throughputMaxMs: 1000,
};

export function probeInput(url: string, options: Partial<ProbeOptions> = {}): ProbeInput {
  const target: Target = { raw: url, category: 'ANON', tags: ['circumvention'], inputs: [url] };
  return { target, url, addresses: [], options: { ...OPTIONS, ...options } };
}
