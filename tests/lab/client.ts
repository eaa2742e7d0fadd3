// Running standard tools and the lab's small client tools inside the
// `client` namespace, for the lab tests.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { labInfo, REPO_ROOT, setupLab, teardownLab } from '../../lab/harness.js';
import { requireTool, tryRun, type RunResult } from '../../lab/exec.js';

/**
 * A tool run in the client namespace: exit status and output. A missing tool
 * fails the test naming its Debian package (not with exit 127).
 */
export function inClient(cmd: string, args: string[], timeoutMs = 30_000): RunResult {
  requireTool(cmd);
  return tryRun('ip', ['netns', 'exec', 'client', 'env', `NODE_EXTRA_CA_CERTS=${labInfo().pki.caCert}`, cmd, ...args], { timeoutMs });
}

/** curl in the client, trusting the lab CA; `-w` output is the last line of stdout. */
export function curl(args: string[], timeoutMs = 30_000): RunResult {
  return inClient('curl', ['-sS', '--cacert', labInfo().pki.caCert, ...args], timeoutMs);
}

export function dig(args: string[]): RunResult {
  return inClient('dig', ['+tries=1', '+time=2', ...args], 15_000);
}

/** Runs lab/tools/<tool>.ts in the client namespace and parses the JSON line it prints. */
export function clientTool<T>(tool: string, args: string[], timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', 'client', process.execPath, '--import', 'tsx', join('lab', 'tools', `${tool}.ts`), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: labInfo().pki.caCert },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`lab/tools/${tool}.ts exited ${code} without JSON: ${out} ${err}`));
      }
    });
  });
}

/**
 * Builds the lab before a test file (then runs `setup`), and takes it down
 * after (`teardown` first). A lab that cannot be built (no root, a missing
 * package) fails every test with its reason, rather than leaving them
 * skipped behind a failed hook.
 */
export function useLab(hooks: { setup?: () => Promise<void> | void; teardown?: () => void } = {}): void {
  let setupError: unknown = null;
  beforeAll(async () => {
    try {
      await setupLab();
      await hooks.setup?.();
    } catch (err) {
      setupError = err;
    }
  }, 120_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(() => {
    try {
      hooks.teardown?.();
    } finally {
      teardownLab();
    }
  });
}
