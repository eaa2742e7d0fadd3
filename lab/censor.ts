// The censor's techniques, switched per scenario and per target. planCensor
// turns a scenario's rules into iptables/tc commands and the configs of the
// userspace middleboxes, validating everything first. Pure, no I/O:
// censor-apply.ts runs the plan inside the namespaces.
import { ScenarioError, targetIp } from './censor-targets.js';

export { ScenarioError, targetIp };
import {
  BLOCKPAGE_IP,
  CENSOR_CLIENT_DEV,
  CENSOR_CLIENT_IP,
  CONTROL_IP,
  DOMESTIC_RANGES,
  ECHO_IP,
  ECHO_TCP_PORTS,
  isLabAddress,
  isLabCidr,
  siteByName,
  WEB_SITES,
  WORLD_RANGES,
  type Namespace,
} from './addresses.js';
import { planSignatures, type AddressBlock, type SignatureRule } from './censor-signatures.js';
import type { MiddleboxConfig, MiddleboxListener } from './services/middlebox.js';

export interface DnsRule {
  names: string[];
  /** inject: a forged A answer; nxdomain: a forged NXDOMAIN; timeout: the query is dropped. */
  action: 'inject' | 'nxdomain' | 'timeout';
  /** inject: the forged address (default 10.10.34.36). */
  answer?: string;
  /** inject/nxdomain: drop the real query too, so only the forged answer arrives. */
  dropReal?: boolean;
}

export interface TcpRule {
  /** Site names or lab IPs. */
  targets: string[];
  ports: number[];
  action: 'rst' | 'drop';
}

export interface SniRule {
  names: string[];
  action: 'rst' | 'drop';
}

export interface HttpRule {
  hosts: string[];
  action: 'rst' | 'blockpage';
  /** blockpage: the body (default: Iran's iframe page). */
  body?: string;
  /** blockpage: the status (default: Iran's 403); with another body, a page no fingerprint knows. */
  status?: number;
}

export interface CensorSpec {
  dns?: DnsRule[];
  tcp?: TcpRule[];
  sni?: SniRule[];
  http?: HttpRule[];
  sessionCut?: { targets: string[]; afterS: number; ports?: number[] };
  throttle?: { rateKbit?: number; from?: string[] };
  protocolFilter?: { targets?: string[]; ports?: number[]; inspectPackets?: number };
  shutdown?: boolean;
  noise?: { lossProbability?: number; delayMs?: number };
  /** The control helper's fate: stopped (its port closed) or dropped (its traffic blackholed in censor). */
  control?: 'ok' | 'stopped' | 'dropped';
  /** The probe's own uplink is dead: every packet from and to the client is dropped (the control's too). */
  offline?: boolean;
  /** Circumvention protocols blocked by their signature on the wire (censor-signatures.ts). */
  signature?: SignatureRule[];
  /** Addresses blocked outright: every packet from the client to them is dropped. */
  addressBlock?: AddressBlock;
}

export interface WorldSpec {
  /** Sites whose service is stopped (connections refused), for the "really down" scenario. */
  down?: string[];
}

export interface NfqueueConfig {
  dns?: { queue: number; rules: Array<{ name: string; action: 'inject' | 'nxdomain'; answer?: string; dropReal?: boolean }> };
  delay?: { queue: number; ms: number };
}

export interface CensorPlan {
  /** iptables argument lists per namespace, in order (after the nfqueue program is ready). */
  iptables: Array<{ ns: Namespace; args: string[] }>;
  /** tc argument lists in censor. */
  tc: string[][];
  middlebox: MiddleboxConfig | null;
  nfqueue: NfqueueConfig | null;
}


/** A forged answer may also be the client's own loopback (OONI's localhost case): nothing leaves the client. */
const LOOPBACK_ANSWER = '127.0.0.1';

export const DNS_QUEUE = 1;
export const DELAY_QUEUE = 2;
const MIDDLEBOX_BASE_PORT = 20_000;
const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

const CENSOR_KEYS = ['dns', 'tcp', 'sni', 'http', 'sessionCut', 'throttle', 'protocolFilter', 'shutdown', 'noise', 'control', 'offline', 'signature', 'addressBlock'];

function hostname(name: unknown, where: string): string {
  if (typeof name !== 'string' || !HOSTNAME_RE.test(name) || name.length > 253) {
    throw new ScenarioError(`${where}: ${JSON.stringify(name)} is not a host name`);
  }
  return name.toLowerCase().replace(/\.$/, '');
}

function ports(list: unknown, where: string): number[] {
  if (!Array.isArray(list) || list.length === 0) throw new ScenarioError(`${where}: ports must be a non-empty list`);
  return list.map((p) => {
    if (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 65535) throw new ScenarioError(`${where}: bad port ${JSON.stringify(p)}`);
    return p as number;
  });
}

function list<T>(value: T[] | undefined, where: string): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ScenarioError(`${where} must be a list`);
  return value;
}

/** The qname's wire form for iptables --hex-string: |04|news|05|world|04|test|00| */
export function qnameHexString(name: string): string {
  return name.split('.').map((label) => `|${label.length.toString(16).padStart(2, '0')}|${label}`).join('') + '|00|';
}

/**
 * Matches a client flow by its ORIGINAL destination: a flow DNATed to a
 * middlebox has a new one, and the block must still see it.
 */
function origDst(ip: string | null, port: number): string[] {
  return ['-p', 'tcp', '-m', 'conntrack', '--ctproto', 'tcp', ...(ip ? ['--ctorigdst', ip] : []), '--ctorigdstport', String(port)];
}

function rstOrDrop(action: string): string[] {
  return action === 'rst' ? ['-j', 'REJECT', '--reject-with', 'tcp-reset'] : ['-j', 'DROP'];
}

function throttleSources(from: string[] | undefined): string[] {
  return (from ?? ['world']).flatMap((f) => {
    if (f === 'world') return [...WORLD_RANGES];
    if (f === 'domestic') return [...DOMESTIC_RANGES];
    if (isLabCidr(f)) return [f.includes('/') ? f : `${f}/32`];
    return [`${targetIp(f, 'throttle.from')}/32`];
  });
}

/** Targets of a rule: "world" / "domestic" stand for every plain web site on that side, anything else is a site or an address. */
function expandTargets(targets: string[]): string[] {
  return targets.flatMap((t) => (t === 'world' || t === 'domestic' ? WEB_SITES.filter((s) => s.side === t).map((s) => s.ip) : [t]));
}

export function planCensor(spec: CensorSpec, world: WorldSpec = {}): CensorPlan {
  if (typeof spec !== 'object' || spec === null) throw new ScenarioError('censor must be an object');
  for (const key of Object.keys(spec)) if (!CENSOR_KEYS.includes(key)) throw new ScenarioError(`censor: unknown technique ${JSON.stringify(key)}`);
  const ipt: CensorPlan['iptables'] = [];
  const filter = (...args: string[]) => ipt.push({ ns: 'censor', args: ['-A', 'LAB', ...args] });
  const fromClient = ['-i', CENSOR_CLIENT_DEV];
  const toClient = ['-o', CENSOR_CLIENT_DEV];
  const dnsRules: NonNullable<NfqueueConfig['dns']>['rules'] = [];

  list(spec.dns, 'censor.dns').forEach((rule, i) => {
    const where = `censor.dns[${i}]`;
    if (!['inject', 'nxdomain', 'timeout'].includes(rule.action)) throw new ScenarioError(`${where}: action must be inject, nxdomain or timeout`);
    if (rule.answer !== undefined && !isLabAddress(rule.answer) && rule.answer !== LOOPBACK_ANSWER) throw new ScenarioError(`${where}: answer ${rule.answer} is not a lab address`);
    for (const raw of list(rule.names, `${where}.names`)) {
      const name = hostname(raw, where);
      const match = ['-m', 'string', '--algo', 'bm', '--icase', '--hex-string', qnameHexString(name)];
      if (rule.action === 'timeout') {
        for (const proto of ['udp', 'tcp']) {
          ipt.push({ ns: 'censor', args: ['-t', 'mangle', '-A', 'LAB_PRE', ...fromClient, '-p', proto, '--dport', '53', ...match, '-j', 'DROP'] });
        }
      } else {
        dnsRules.push({ name, action: rule.action, answer: rule.answer ?? BLOCKPAGE_IP, dropReal: rule.dropReal ?? false });
        // Queued before routing, so a query to any resolver (even one with no route) is seen.
        ipt.push({ ns: 'censor', args: ['-t', 'mangle', '-A', 'LAB_PRE', ...fromClient, '-p', 'udp', '--dport', '53', ...match,
          '-j', 'NFQUEUE', '--queue-num', String(DNS_QUEUE), '--queue-bypass'] });
      }
    }
  });

  list(spec.tcp, 'censor.tcp').forEach((rule, i) => {
    const where = `censor.tcp[${i}]`;
    if (!['rst', 'drop'].includes(rule.action)) throw new ScenarioError(`${where}: action must be rst or drop`);
    for (const t of list(rule.targets, `${where}.targets`)) {
      for (const port of ports(rule.ports, where)) {
        filter(...fromClient, ...origDst(targetIp(t, where), port), ...rstOrDrop(rule.action));
      }
    }
  });

  list(spec.sni, 'censor.sni').forEach((rule, i) => {
    const where = `censor.sni[${i}]`;
    if (!['rst', 'drop'].includes(rule.action)) throw new ScenarioError(`${where}: action must be rst or drop`);
    for (const raw of list(rule.names, `${where}.names`)) {
      const name = hostname(raw, where);
      filter(...fromClient, ...origDst(null, 443), '-m', 'string', '--algo', 'bm', '--icase', '--string', name, ...rstOrDrop(rule.action));
    }
  });

  for (const args of planSignatures(spec.signature, spec.addressBlock)) filter(...args);

  const listeners: MiddleboxListener[] = [];
  const taken = new Map<string, string>();
  const divert = (kind: MiddleboxListener['kind'], ip: string, port: number, extra: Partial<MiddleboxListener>) => {
    const key = `${ip}:${port}`;
    if (taken.has(key)) throw new ScenarioError(`censor: ${key} is diverted through both ${taken.get(key)} and ${kind}`);
    taken.set(key, kind);
    const listenPort = MIDDLEBOX_BASE_PORT + listeners.length;
    listeners.push({ kind, listenHost: CENSOR_CLIENT_IP, listenPort, upstreamHost: ip, upstreamPort: port, ...extra });
    ipt.push({ ns: 'censor', args: ['-t', 'nat', '-A', 'LAB_NAT', ...fromClient, '-p', 'tcp', '-d', ip, '--dport', String(port),
      '-j', 'DNAT', '--to-destination', `${CENSOR_CLIENT_IP}:${listenPort}`] });
  };

  const blockHosts: string[] = [];
  let blockBody: string | undefined;
  let blockStatus: number | undefined;
  list(spec.http, 'censor.http').forEach((rule, i) => {
    const where = `censor.http[${i}]`;
    if (!['rst', 'blockpage'].includes(rule.action)) throw new ScenarioError(`${where}: action must be rst or blockpage`);
    for (const raw of list(rule.hosts, `${where}.hosts`)) {
      const host = hostname(raw, where);
      if (rule.action === 'rst') {
        filter(...fromClient, ...origDst(null, 80), '-m', 'string', '--algo', 'bm', '--icase', '--string', `Host: ${host}`, '-j', 'REJECT', '--reject-with', 'tcp-reset');
      } else {
        blockHosts.push(host);
        if (rule.body !== undefined) {
          if (typeof rule.body !== 'string') throw new ScenarioError(`${where}: body must be a string`);
          blockBody = rule.body;
        }
        if (rule.status !== undefined) {
          // One middlebox answers every listed Host: one status for all of them.
          if (!Number.isInteger(rule.status) || rule.status < 200 || rule.status > 599) throw new ScenarioError(`${where}: status must be an HTTP status 200..599`);
          if (blockStatus !== undefined && blockStatus !== rule.status) throw new ScenarioError(`${where}: every blockpage rule must use the same status`);
          blockStatus = rule.status;
        }
      }
    }
  });
  if (blockHosts.length > 0) {
    // Every site's port 80 goes through the HTTP middlebox: a listed Host may be asked of any address.
    for (const site of WEB_SITES) divert('http-filter', site.ip, 80, { blockHosts, body: blockBody, ...(blockStatus !== undefined ? { status: blockStatus } : {}) });
  }

  if (spec.sessionCut) {
    const cut = spec.sessionCut;
    if (typeof cut.afterS !== 'number' || !(cut.afterS > 0) || cut.afterS > 600) throw new ScenarioError('censor.sessionCut.afterS must be a number of seconds in (0, 600]');
    for (const t of expandTargets(list(cut.targets, 'censor.sessionCut.targets'))) {
      for (const port of cut.ports ? ports(cut.ports, 'censor.sessionCut') : [443]) {
        divert('cut', targetIp(t, 'censor.sessionCut'), port, { cutAfterMs: Math.round(cut.afterS * 1000) });
      }
    }
  }

  if (spec.protocolFilter) {
    const pf = spec.protocolFilter;
    const inspect = pf.inspectPackets ?? 2;
    if (!Number.isInteger(inspect) || inspect < 1 || inspect > 10) throw new ScenarioError('censor.protocolFilter.inspectPackets must be 1..10');
    for (const t of pf.targets ? expandTargets(list(pf.targets, 'censor.protocolFilter.targets')) : [ECHO_IP]) {
      for (const port of pf.ports ? ports(pf.ports, 'censor.protocolFilter') : [...ECHO_TCP_PORTS]) {
        divert('protocol-filter', targetIp(t, 'censor.protocolFilter'), port, { inspectPackets: inspect });
      }
    }
  }

  const tc: string[][] = [];
  if (spec.throttle) {
    const rate = spec.throttle.rateKbit ?? 128;
    if (typeof rate !== 'number' || !(rate >= 8) || rate > 1_000_000) throw new ScenarioError('censor.throttle.rateKbit must be 8..1000000');
    const dev = ['dev', CENSOR_CLIENT_DEV];
    // htb only splits the traffic (this kernel has no prio qdisc); the tbf child is the policer.
    tc.push(['qdisc', 'add', ...dev, 'root', 'handle', '1:', 'htb', 'default', '20']);
    tc.push(['class', 'add', ...dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit']);
    tc.push(['class', 'add', ...dev, 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '10gbit']);
    tc.push(['qdisc', 'add', ...dev, 'parent', '1:10', 'handle', '10:', 'tbf', 'rate', `${rate}kbit`, 'burst', '3000', 'latency', '1s']);
    for (const src of throttleSources(spec.throttle.from)) {
      tc.push(['filter', 'add', ...dev, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'src', src, 'flowid', '1:10']);
    }
  }

  if (spec.offline !== undefined && typeof spec.offline !== 'boolean') throw new ScenarioError('censor.offline must be true or false');
  if (spec.offline) {
    // Routed or addressed to the censor itself (INPUT), nothing passes: no resolver, no site, no control.
    filter(...fromClient, '-j', 'DROP');
    filter(...toClient, '-j', 'DROP');
  }

  if (spec.shutdown) {
    for (const range of WORLD_RANGES) {
      filter(...fromClient, '-d', range, '-j', 'DROP');
      filter(...toClient, '-s', range, '-j', 'DROP');
    }
  }

  let delay: NfqueueConfig['delay'];
  if (spec.noise) {
    const p = spec.noise.lossProbability ?? 0;
    if (typeof p !== 'number' || p < 0 || p > 0.5) throw new ScenarioError('censor.noise.lossProbability must be 0..0.5');
    const ms = spec.noise.delayMs ?? 0;
    if (typeof ms !== 'number' || ms < 0 || ms > 2000) throw new ScenarioError('censor.noise.delayMs must be 0..2000');
    if (p > 0) {
      for (const dir of [fromClient, toClient]) {
        filter(...dir, '-m', 'statistic', '--mode', 'random', '--probability', String(p), '-m', 'comment', '--comment', 'lab-noise-loss', '-j', 'DROP');
      }
    }
    if (ms > 0) {
      delay = { queue: DELAY_QUEUE, ms };
      ipt.push({ ns: 'censor', args: ['-t', 'mangle', '-A', 'LAB_MFWD', ...toClient, '-j', 'NFQUEUE', '--queue-num', String(DELAY_QUEUE), '--queue-bypass'] });
    }
  }

  const control = spec.control ?? 'ok';
  if (control === 'dropped') filter(...fromClient, '-d', CONTROL_IP, '-j', 'DROP');
  else if (control === 'stopped') ipt.push({ ns: 'control', args: ['-A', 'LAB', '-p', 'tcp', '--dport', '80', '-j', 'REJECT', '--reject-with', 'tcp-reset'] });
  else if (control !== 'ok') throw new ScenarioError('censor.control must be ok, stopped or dropped');

  if (typeof world !== 'object' || world === null) throw new ScenarioError('world must be an object');
  for (const t of list(world.down, 'world.down')) {
    ipt.push({ ns: 'world', args: ['-A', 'LAB', '-p', 'tcp', '-d', targetIp(t, 'world.down'), '-j', 'REJECT', '--reject-with', 'tcp-reset'] });
  }

  const nfqueue: NfqueueConfig | null = dnsRules.length > 0 || delay ? { ...(dnsRules.length > 0 ? { dns: { queue: DNS_QUEUE, rules: dnsRules } } : {}), ...(delay ? { delay } : {}) } : null;
  return { iptables: ipt, tc, middlebox: listeners.length > 0 ? { listeners } : null, nfqueue };
}
