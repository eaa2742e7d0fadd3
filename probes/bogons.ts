// Addresses a DNS answer should never hold for a public name (bogons), and
// addresses censors are known to inject. The injected addresses have one
// home, the `dns_ip` entries of fingerprints/default.json (with their
// sources); the probe reads that data file, never the analysis code.
import { existsSync, readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Cidr = readonly [network: bigint, prefix: number];

function parseIpv4(ip: string): bigint | null {
  if (!isIPv4(ip)) return null;
  return ip.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** The 128-bit value of an IPv6 address (with an optional embedded IPv4 tail), or null. */
function parseIpv6(input: string): bigint | null {
  const ip = input.replace(/%.*$/, '');
  if (!isIPv6(ip)) return null;
  let text = ip;
  const tail = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (tail) {
    const v4 = parseIpv4(tail[1]!)!;
    text = text.slice(0, -tail[1]!.length) + ((v4 >> 16n) & 0xffffn).toString(16) + ':' + (v4 & 0xffffn).toString(16);
  }
  const [head, rest] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = rest === null ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...restGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function v4(cidr: string): Cidr {
  const [net, prefix] = cidr.split('/') as [string, string];
  return [parseIpv4(net)!, Number(prefix)];
}

function v6(cidr: string): Cidr {
  const [net, prefix] = cidr.split('/') as [string, string];
  return [parseIpv6(net)!, Number(prefix)];
}

function inCidr(value: bigint, bits: number, [network, prefix]: Cidr): boolean {
  const shift = BigInt(bits - prefix);
  return value >> shift === network >> shift;
}

// IANA special-purpose registries (RFC 6890 and successors): not routable on
// the public Internet, so a public name resolving there is suspicious.
const IPV4_BOGONS: Cidr[] = [
  '0.0.0.0/8', // "this network", unspecified
  '10.0.0.0/8', // private
  '100.64.0.0/10', // CGNAT shared space
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.88.99.0/24', // 6to4 relay anycast (deprecated)
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and 255.255.255.255 broadcast
].map(v4);

const IPV6_BOGONS: Cidr[] = [
  '::/128', // unspecified
  '::1/128', // loopback
  '64:ff9b:1::/48', // local-use NAT64
  '100::/64', // discard-only
  '2001:db8::/32', // documentation
  'fc00::/7', // unique local (ULA)
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated)
  'ff00::/8', // multicast
].map(v6);

// Prefixes that carry an IPv4 address in their last 32 bits: judge that one.
const IPV4_EMBEDDING: Cidr[] = ['::ffff:0:0/96', '64:ff9b::/96'].map(v6);
const GLOBAL_UNICAST = v6('2000::/3');

/** True when `ip` is private, loopback, link-local, CGNAT, multicast, reserved or unspecified (IPv4 or IPv6). Not an IP: false. */
export function isBogon(ip: string): boolean {
  const a = parseIpv4(ip);
  if (a !== null) return IPV4_BOGONS.some((c) => inCidr(a, 32, c));
  const b = parseIpv6(ip);
  if (b === null) return false;
  if (IPV4_EMBEDDING.some((c) => inCidr(b, 128, c))) {
    const inner = b & 0xffffffffn;
    return IPV4_BOGONS.some((c) => inCidr(inner, 32, c));
  }
  // Everything outside 2000::/3 (global unicast) is not publicly routed,
  // except what the list names explicitly.
  if (!inCidr(b, 128, GLOBAL_UNICAST)) return true;
  return IPV6_BOGONS.some((c) => inCidr(b, 128, c));
}

/** Addresses censors inject in DNS answers, with the country that uses each (from fingerprints/default.json). */
export const KNOWN_INJECTION_ADDRESSES: Readonly<Record<string, string>> = Object.freeze(loadInjectionAddresses());

function loadInjectionAddresses(): Record<string, string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'fingerprints', 'default.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('rasad: fingerprints/default.json not found above the probes module');
    dir = parent;
  }
  const data = JSON.parse(readFileSync(join(dir, 'fingerprints', 'default.json'), 'utf8')) as { fingerprints?: { kind?: string; pattern?: string; country?: string }[] };
  const out: Record<string, string> = {};
  for (const entry of data.fingerprints ?? []) {
    if (entry.kind === 'dns_ip' && typeof entry.pattern === 'string' && typeof entry.country === 'string') out[entry.pattern] = entry.country;
  }
  return out;
}

const INJECTION_VALUES = new Map<bigint, string>(
  Object.entries(KNOWN_INJECTION_ADDRESSES).map(([ip, cc]) => [(parseIpv4(ip) ?? parseIpv6(ip))! + (isIPv6(ip) ? 1n << 128n : 0n), cc]),
);

/** The country whose censor is known to inject `ip`, or null. Compares values, so "00d0::0011" matches "d0::11". */
export function injectionCountry(ip: string): string | null {
  const a = parseIpv4(ip);
  if (a !== null) return INJECTION_VALUES.get(a) ?? null;
  const b = parseIpv6(ip);
  if (b === null) return null;
  return INJECTION_VALUES.get(b + (1n << 128n)) ?? null;
}

/** True for an address a censor is known to inject (Iran 10.10.34.34-36 and d0::11, China, Russia, Turkey). */
export function isKnownInjectionAddress(ip: string): boolean {
  return injectionCountry(ip) !== null;
}

/** True when an answer holding `ip` is suspicious on its own: a bogon or a fingerprinted injection address. */
export function isSuspiciousAnswer(ip: string): boolean {
  return isBogon(ip) || isKnownInjectionAddress(ip);
}
