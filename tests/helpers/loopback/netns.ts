// A throwaway network namespace with only `lo` up, for the failures that
// loopback in the shared namespace cannot produce: a system resolver that
// answers NXDOMAIN/SERVFAIL or nothing (its own /etc/resolv.conf via
// /etc/netns/<name>/), unreachable routes, a kernel connect timeout. Nothing
// in it can reach outside: it has no other interface.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./netns_child.ts', import.meta.url));
const PROJECT = fileURLToPath(new URL('../../../', import.meta.url));
let counter = 0;

export interface ChildOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class TestNetns {
  private constructor(readonly name: string) {}

  /** Creates `rasad-t-<pid>-<n>` with lo up, and a resolv.conf pointing at 127.0.0.1 inside it. */
  static create(): TestNetns {
    const name = `rasad-t-${process.pid}-${++counter}`;
    execFileSync('ip', ['netns', 'add', name]);
    const ns = new TestNetns(name);
    try {
      ns.exec(['ip', 'link', 'set', 'lo', 'up']);
      mkdirSync(`/etc/netns/${name}`, { recursive: true });
      // One try of one second: a silent server must not hold getaddrinfo for long.
      writeFileSync(`/etc/netns/${name}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    } catch (err) {
      ns.destroy();
      throw err;
    }
    return ns;
  }

  /** Runs a command inside the namespace, synchronously. */
  exec(argv: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...argv], { encoding: 'utf8' });
  }

  /** Runs tests/helpers/loopback/netns_child.ts inside the namespace with a JSON scenario; resolves with what it printed. */
  runChild(scenario: unknown, timeoutMs = 25_000): Promise<ChildOutput> {
    return new Promise((resolve) => {
      execFile(
        'ip',
        ['netns', 'exec', this.name, process.execPath, '--import', 'tsx', CHILD, JSON.stringify(scenario)],
        { cwd: PROJECT, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: unknown }).code as number | null) ?? 1 : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
    });
  }

  /** Runs the child and parses its last stdout line as JSON. */
  async child<T>(scenario: unknown, timeoutMs?: number): Promise<T> {
    const out = await this.runChild(scenario, timeoutMs);
    const lines = out.stdout.trim().split('\n');
    try {
      return JSON.parse(lines[lines.length - 1]!) as T;
    } catch {
      throw new Error(`netns child failed (code ${out.code}): ${out.stderr.slice(0, 2000)}`);
    }
  }

  destroy(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name]);
    } catch {
      // already gone
    }
    rmSync(`/etc/netns/${this.name}`, { recursive: true, force: true });
  }
}
