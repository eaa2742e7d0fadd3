// The lab's namespaces, veth links, addresses and routes. Each veth pair is
// created inside a lab namespace and its peer moved to the other one, so no
// lab interface ever exists in the root namespace. No namespace gets a
// default route: an address outside the lab has nowhere to go.
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import {
  BLOCKPAGE_IPS,
  BLOCKPAGE_RANGE,
  CDN_CONTROL_IP,
  DOMESTIC_DNS_IP,
  DOMESTIC_RANGES,
  LAB_RANGE,
  LINKS,
  NAMESPACES,
  PUBLIC_BLOCKPAGE_IP,
  REFUSING_IP,
  SITES,
  WORLD_ALT_DNS_IP,
  REWRITING_DNS_IP,
  WORLD_DNS_IP,
  WORLD_RANGES,
  type Namespace,
} from './addresses.js';
import { ipIn, nsRun, run, sleepSync, tryRun } from './exec.js';

/** Routes per namespace: [destination, via]. Only lab ranges, never a default. */
export const ROUTES: Record<Namespace, Array<[string, string]>> = {
  client: [
    [LAB_RANGE, '10.77.1.1'],
    [BLOCKPAGE_RANGE, '10.77.1.1'],
    ...WORLD_RANGES.map((r): [string, string] => [r, '10.77.1.1']),
    ...DOMESTIC_RANGES.map((r): [string, string] => [r, '10.77.1.1']),
  ],
  censor: [
    ...WORLD_RANGES.map((r): [string, string] => [r, '10.77.2.2']),
    ...DOMESTIC_RANGES.map((r): [string, string] => [r, '10.77.3.2']),
  ],
  world: [
    ['10.77.1.0/24', '10.77.2.1'],
    ['10.77.4.0/24', '10.77.5.2'],
  ],
  domestic: [
    ['10.77.1.0/24', '10.77.3.1'],
    ['10.77.4.0/24', '10.77.3.1'],
  ],
  control: [
    ['10.77.1.0/24', '10.77.4.1'],
    ...DOMESTIC_RANGES.map((r): [string, string] => [r, '10.77.4.1']),
    ...WORLD_RANGES.map((r): [string, string] => [r, '10.77.5.1']),
  ],
};

/** Extra /32 addresses on each namespace's lo: the services' addresses. */
export function loopbackAddresses(ns: Namespace): string[] {
  // The CDN's second face and the refusing address live in world too (nothing listens on the latter).
  if (ns === 'world') return [...SITES.filter((s) => s.side === 'world').map((s) => s.ip), CDN_CONTROL_IP, REFUSING_IP, WORLD_DNS_IP, WORLD_ALT_DNS_IP, REWRITING_DNS_IP];
  if (ns === 'domestic') return [...SITES.filter((s) => s.side === 'domestic').map((s) => s.ip), DOMESTIC_DNS_IP];
  return [];
}

export function namespaceExists(ns: string): boolean {
  return tryRun('ip', ['netns', 'list']).stdout.split('\n').some((line) => line.split(' ')[0] === ns);
}

function sysctl(ns: Namespace, settings: string[]): void {
  nsRun(ns, 'sysctl', ['-q', '-w', ...settings]);
}

export function createTopology(): void {
  for (const ns of NAMESPACES) {
    run('ip', ['netns', 'add', ns]);
    ipIn(ns, ['link', 'set', 'lo', 'up']);
  }
  for (const link of LINKS) {
    ipIn(link.a.ns, ['link', 'add', link.a.dev, 'type', 'veth', 'peer', 'name', link.b.dev]);
    ipIn(link.a.ns, ['link', 'set', link.b.dev, 'netns', link.b.ns]);
    for (const end of [link.a, link.b]) {
      ipIn(end.ns, ['addr', 'add', `${end.ip}/24`, 'dev', end.dev]);
      ipIn(end.ns, ['link', 'set', end.dev, 'up']);
    }
  }
  for (const ns of NAMESPACES) {
    for (const ip of loopbackAddresses(ns)) ipIn(ns, ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
    // The lab is IPv4 only: no stray IPv6 autoconfiguration or router solicitations.
    sysctl(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  // The blockpage addresses live on a port-less bridge (this kernel has no dummy driver).
  ipIn('censor', ['link', 'add', 'blockpage0', 'type', 'bridge']);
  for (const ip of [...BLOCKPAGE_IPS, PUBLIC_BLOCKPAGE_IP]) ipIn('censor', ['addr', 'add', `${ip}/32`, 'dev', 'blockpage0']);
  ipIn('censor', ['link', 'set', 'blockpage0', 'up']);
  sysctl('censor', ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  for (const ns of NAMESPACES) {
    for (const [dst, via] of ROUTES[ns]) ipIn(ns, ['route', 'add', dst, 'via', via]);
  }
  writeResolvConf('client', WORLD_DNS_IP);
  writeResolvConf('control', WORLD_DNS_IP);
  assertNoDefaultRoutes();
}

/** The lab must not leak: fail loudly if any lab namespace has a default route. */
export function assertNoDefaultRoutes(): void {
  for (const ns of NAMESPACES) {
    const routes = ipIn(ns, ['route', 'show', 'default']).trim();
    if (routes !== '') throw new Error(`lab namespace ${ns} has a default route (${routes}): refusing to run a leaking lab`);
  }
}

/**
 * `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf.
 * Short timeouts keep the DNS-timeout scenarios fast; two attempts keep the
 * noise scenarios fair (a real stub retries a lost query).
 */
export function writeResolvConf(ns: Namespace, resolverIp: string): void {
  const dir = `/etc/netns/${ns}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/resolv.conf`, `# written by rasad's lab (lab/topology.ts)\nnameserver ${resolverIp}\noptions timeout:2 attempts:2\n`);
}

export function clientResolverFor(which: 'world' | 'domestic' | 'rewriting'): string {
  return which === 'domestic' ? DOMESTIC_DNS_IP : which === 'rewriting' ? REWRITING_DNS_IP : WORLD_DNS_IP;
}

/** Pids of every process running in a namespace (all of them were started by the lab). */
export function namespacePids(ns: Namespace): number[] {
  const r = tryRun('ip', ['netns', 'pids', ns]);
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Stops every process in the lab's namespaces, deletes them and their /etc/netns files. Idempotent. */
export function destroyTopology(): void {
  const present = NAMESPACES.filter((ns) => namespaceExists(ns));
  for (const ns of present) signalAll(namespacePids(ns), 'SIGTERM');
  for (let i = 0; i < 20 && present.some((ns) => namespacePids(ns).length > 0); i++) sleepSync(100);
  for (const ns of present) signalAll(namespacePids(ns), 'SIGKILL');
  for (const ns of present) tryRun('ip', ['netns', 'del', ns]);
  for (const ns of NAMESPACES) {
    const dir = `/etc/netns/${ns}`;
    if (existsSync(dir)) {
      rmSync(`${dir}/resolv.conf`, { force: true });
      if (readdirSync(dir).length === 0) rmdirSync(dir);
    }
  }
  if (existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmdirSync('/etc/netns');
}
