// The addresses a public control helper refuses to connect to: private,
// loopback, link-local and reserved ones (probes/bogons.ts), and the IPv6
// forms that carry such an IPv4 address inside them (issue 16 #12): 6to4
// (2002::/16, RFC 3056), Teredo (2001::/32, RFC 4380: server in bits 32-63,
// client in the last 32 bits XORed with ones), NAT64 (64:ff9b::/96 and the
// local-use 64:ff9b:1::/48, RFC 6052/8215) and IPv4-mapped/-compatible.
// A helper on a host with a 6to4, Teredo or NAT64 gateway would otherwise
// reach 127.0.0.1 through [2002:7f00:1::1].
import { isIP } from 'node:net';
import { isBogon } from '../../probes/bogons.js';

/** OONI's name for an address it will not measure (a bogon); the analysis reads it as "not measured". */
export const REFUSED_FAILURE = 'dns_bogon_error';

/** The 128-bit value of an IPv6 address, or null when `ip` is not one. */
export function ipv6Value(input: string): bigint | null {
  const ip = input.replace(/%.*$/, '');
  if (isIP(ip) !== 6) return null;
  let text = ip;
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, -tail[0].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const groups = rest === null ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function ipv4Text(value: bigint): string {
  const n = Number(value & 0xffffffffn);
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function hasPrefix(value: bigint, network: bigint, prefix: number): boolean {
  const shift = BigInt(128 - prefix);
  return value >> shift === network >> shift;
}

/** The IPv4 addresses an IPv6 address carries by a transition mechanism (6to4, Teredo, NAT64, mapped), if any. */
export function embeddedIpv4(ip: string): string[] {
  const v = ipv6Value(ip);
  if (v === null) return [];
  if (hasPrefix(v, 0x2002n << 112n, 16)) return [ipv4Text(v >> 80n)];
  if (hasPrefix(v, 0x20010000n << 96n, 32)) return [ipv4Text(v >> 64n), ipv4Text(v ^ 0xffffffffn)];
  if (hasPrefix(v, 0x0064ff9bn << 96n, 96)) return [ipv4Text(v)];
  if (hasPrefix(v, 0xffffn << 32n, 96) || hasPrefix(v, 0n, 96)) return [ipv4Text(v)];
  return [];
}

/** True when the helper must not connect to `ip`: a bogon, or an IPv6 form of one. */
export function isRefusedAddress(ip: string): boolean {
  if (isBogon(ip)) return true;
  // Local-use NAT64 may embed the IPv4 at any of six offsets: refuse it all.
  const v = ipv6Value(ip);
  if (v !== null && hasPrefix(v, (0x0064ff9bn << 96n) | (1n << 80n), 48)) return true;
  return embeddedIpv4(ip).some((inner) => isBogon(inner));
}
