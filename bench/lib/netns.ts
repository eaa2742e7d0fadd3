// The bench's own network namespace: only `lo`, up, and a resolv.conf that
// names 127.0.0.1. Everything measured runs inside it, so neither the
// system resolver (getaddrinfo) nor the probe's raw UDP client can send a
// packet to the host's real nameserver, or anywhere else: the namespace has
// no other interface. Removed on exit, on error and on Ctrl-C.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { BenchSetupError } from './args.js';
import { atTeardown, type TeardownHandle } from './teardown.js';

/** The bench needs root for `ip netns`; says so plainly instead of failing halfway. */
export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new BenchSetupError(`${what} needs root: it runs its world in a network namespace of its own (ip netns add), so that nothing leaves loopback. Run it as root (CI has root).`);
  }
}

export class BenchNetns {
  private readonly teardown: TeardownHandle;

  private constructor(readonly name: string) {
    this.teardown = atTeardown(() => BenchNetns.remove(name));
  }

  /** Creates `rasad-bench-<pid>[-suffix]` with lo up and resolv.conf -> 127.0.0.1. */
  static create(suffix = ''): BenchNetns {
    const name = `rasad-bench-${process.pid}${suffix ? `-${suffix}` : ''}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ns = new BenchNetns(name);
    try {
      execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
      // `ip netns exec` bind-mounts /etc/netns/<name>/resolv.conf over /etc/resolv.conf.
      // One try of one second: a lost query costs a second, not the default 5 s x 2.
      mkdirSync(`/etc/netns/${name}`, { recursive: true });
      writeFileSync(`/etc/netns/${name}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n');
    } catch (err) {
      ns.destroy();
      throw err;
    }
    return ns;
  }

  /** argv that runs `command` inside the namespace. `ip netns exec` execs it: the pid stays the command's. */
  wrap(command: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...command];
  }

  /**
   * Adds each address to the namespace's `lo` (as /32), so that connections
   * to a fixed public address a probe uses end at a listener in here. The
   * addresses exist only in this namespace and go with it.
   */
  addLoopbackAddresses(addresses: readonly string[]): void {
    for (const ip of addresses) execFileSync('ip', ['netns', 'exec', this.name, 'ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo'], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  destroy(): void {
    this.teardown.run();
  }

  /** Whether a namespace of this name exists (`ip netns list`). */
  static exists(name: string): boolean {
    const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    return list.split('\n').some((line) => line.split(/\s+/)[0] === name);
  }

  private static remove(name: string): void {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  }
}
