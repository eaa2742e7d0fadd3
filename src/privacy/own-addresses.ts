// The probe's own addresses (issue 16 #10): what the volunteer's machine is
// known as, learned without contacting anyone new (the local address of a
// socket, src/privacy/local-address.ts, or what a control reveals). A server
// that echoes the client's address (X-Client-IP, Set-Cookie, "Your IP is
// ...") hands one back inside a response; the store removes every spelling
// of it from the whole stored text (src/records/stored-record.ts), wherever
// it is, structural fields and keys included.
//
// Spellings matched: IPv4 dotted, with leading zeros, with "-" or "_"
// between the octets (reverse-DNS names such as "ip-5-6-7-8" or
// "8-7-6-5.dsl.example"), in either octet order; IPv6 in any case,
// compressed or expanded, with a zone or a ":port", bracketed or not; and
// IPv6 forms that embed an own IPv4 (::ffff:5.6.7.8, ::ffff:506:708,
// 64:ff9b::/96, 6to4 2002:0506:0708::/48, Teredo).
import { isIPv4, isIPv6 } from 'node:net';
import { SCRUBBED } from '../privacy.js';

/** An IPv4 address as a number, or null. Leading zeros are read as decimal ("010" is 10). */
export function ipv4Value(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** An IPv6 address (any spelling, a dotted IPv4 tail allowed, no zone) as a 128-bit value, or null. */
export function ipv6Value(text: string): bigint | null {
  if (!isIPv6(text)) return null;
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // "::ffff:5.6.7.8": the dotted tail is the last two groups.
    const v4 = ipv4Value(text.slice(lastColon + 1));
    if (v4 === null) return null;
    hex = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const double = hex.indexOf('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(double < 0 ? hex : hex.slice(0, double));
  const right = double < 0 ? [] : groups(hex.slice(double + 2));
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (double < 0 && fill !== 0)) return null;
  let value = 0n;
  for (const g of [...left, ...new Array<number>(fill).fill(0), ...right]) value = (value << 16n) | BigInt(g);
  return value;
}

/** The IPv4 addresses an IPv6 value carries inside it: mapped, compatible, NAT64, 6to4, Teredo. */
function embeddedIpv4(v: bigint): number[] {
  const out: number[] = [];
  const low = Number(v & 0xffffffffn);
  if (v >> 32n === 0xffffn || v >> 32n === 0n || v >> 32n === 0x64ff9b0000000000000000n) out.push(low);
  if (v >> 112n === 0x2002n) out.push(Number((v >> 80n) & 0xffffffffn));
  // Teredo (2001:0::/32): the client's public IPv4 is the last 32 bits, inverted.
  if (v >> 96n === 0x20010000n) out.push(~low >>> 0);
  return out;
}

/** "1.2.3.4", "[2001:db8::1]:443", "1.2.3.4:80", "fe80::1%eth0" → the bare address, or null. */
function bareAddress(text: string): string | null {
  let t = text.trim();
  const bracket = /^\[([^\]]+)\](?::[0-9]{1,5})?$/.exec(t);
  if (bracket) t = bracket[1]!;
  else if (/^[0-9.]+:[0-9]{1,5}$/.test(t)) t = t.slice(0, t.indexOf(':'));
  const zone = t.indexOf('%');
  if (zone > 0) t = t.slice(0, zone);
  return isIPv4(t) || isIPv6(t) || ipv4Value(t) !== null ? t : null;
}

// Octets as a reverse-DNS name or a log writes them: one separator, used throughout.
const IPV4_SPELLING = /(?<![0-9])([0-9]{1,3})([._-])([0-9]{1,3})\2([0-9]{1,3})\2([0-9]{1,3})(?![0-9])/g;
// A run of what an IPv6 address is made of, with two colons at least.
// "0000:0000:0000:0000:0000:ffff:255.255.255.255".
const LONGEST_IPV6 = 45;
// A run starts where the characters before it cannot be part of it (a letter
// other than a-f may be: in JSON text a newline is written "\\n2001:...").
const IPV6_RUN = /(?<![0-9A-Fa-f.:])[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*/g;
// Every IPv6 spelling has "::" or six colons at least ("a:b:c:d:e:f:1.2.3.4"); a time ("10:00:00") has not.
const SIX_COLONS = /(?::[^:]*){6}/;

/**
 * A set of addresses that are the probe's own. add() takes any spelling and
 * ignores loopback and unspecified addresses (they identify no one, and tests
 * and the lab measure loopback servers). scrub() replaces every spelling of a
 * member in a text with "[scrubbed]".
 */
export class OwnAddressSet {
  private readonly v4 = new Set<number>();
  private readonly v6 = new Set<bigint>();
  /** Substrings every IPv4 spelling of a member holds (its middle octets): most texts hold none, and skip the regex. */
  private readonly v4Needles = new Set<string>();
  /** Lower-case hex groups that every IPv6 spelling of a member (or an IPv6 form embedding a member IPv4) holds. */
  private readonly v6Needles = new Set<string>();
  /** A member has no group to look for (all zero but one bit): every text takes the IPv6 pass. */
  private v6Always = false;

  /** Adds an address; false when it is not one, or is loopback or unspecified. */
  add(address: string): boolean {
    const bare = bareAddress(address);
    if (bare === null) return false;
    const v4 = ipv4Value(bare);
    if (v4 !== null) {
      if (v4 >>> 24 === 127 || v4 === 0) return false;
      this.addV4(v4);
      return true;
    }
    const v6 = ipv6Value(bare);
    if (v6 === null || v6 === 0n || v6 === 1n) return false;
    // An IPv4-mapped address is the IPv4 address itself.
    if (v6 >> 32n === 0xffffn) {
      const mapped = Number(v6 & 0xffffffffn);
      if (mapped >>> 24 === 127 || mapped === 0) return false;
      this.addV4(mapped);
      return true;
    }
    this.v6.add(v6);
    this.v6Filter = null;
    // Its longest group, as any spelling writes it (leading zeros aside): the most telling substring.
    const groups = Array.from({ length: 8 }, (_, i) => Number((v6 >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
    const longest = groups.reduce((a, g) => (g.length > a.length ? g : a), '');
    if (longest.length >= 2) this.v6Needles.add(longest);
    else this.v6Always = true;
    return true;
  }

  private addV4(value: number): void {
    this.v4.add(value);
    this.v4Filter = null;
    this.v6Filter = null;
    // IPv6 forms that embed it hold its last 16 bits in hex (mapped, NAT64, 6to4), or their inverse (Teredo).
    this.v6Needles.add((value & 0xffff).toString(16));
    this.v6Needles.add((~value & 0xffff).toString(16));
    const b = (value >>> 16) & 255;
    const c = (value >>> 8) & 255;
    // "a.b.c.d", "a-b-c-d", "00a.00b.00c.00d", reversed "d.c.b.a": each holds
    // b, a separator, c and the separator again (or c then b), c maybe zero-padded.
    for (const [x, y] of [[b, c], [c, b]] as const) {
      for (const sep of ['.', '-', '_']) {
        for (const second of new Set([String(y), String(y).padStart(2, '0'), String(y).padStart(3, '0')])) this.v4Needles.add(`${x}${sep}${second}${sep}`);
      }
    }
  }

  /** true when `address` (any spelling) is one of the set. */
  has(address: string): boolean {
    const bare = bareAddress(address);
    if (bare === null) return false;
    const v4 = ipv4Value(bare);
    if (v4 !== null) return this.v4.has(v4);
    const v6 = ipv6Value(bare);
    return v6 !== null && this.isOwnV6(v6);
  }

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  clear(): void {
    this.v4.clear();
    this.v4Needles.clear();
    this.v6Needles.clear();
    this.v6Always = false;
    this.v4Filter = null;
    this.v6Filter = null;
    this.v6.clear();
  }

  /** `text` with every spelling of an own address replaced by "[scrubbed]"; the same string when there is none. */
  scrub(text: string): string {
    if (this.size === 0) return text;
    let out = text;
    if (this.mayHoldIpv6(out)) out = out.replace(IPV6_RUN, (run) => this.scrubIpv6Run(run));
    if (this.v4.size > 0 && this.mayHoldIpv4(out)) out = this.scrubIpv4Spellings(out);
    return out;
  }

  /** true when the text holds an own address in some spelling. */
  foundIn(text: string): boolean {
    return this.scrub(text) !== text;
  }

  // One pass over the text for all needles of a family (built on first use after a change).
  private v4Filter: RegExp | null = null;
  private v6Filter: RegExp | null = null;

  private mayHoldIpv6(text: string): boolean {
    if (!text.includes(':')) return false;
    if (this.v6Always) return true;
    this.v6Filter ??= new RegExp([...this.v6Needles].join('|'), 'i');
    return this.v6Filter.test(text);
  }

  private mayHoldIpv4(text: string): boolean {
    this.v4Filter ??= new RegExp([...this.v4Needles].map((n) => n.replace(/[.]/g, '\\.')).join('|'));
    return this.v4Filter.test(text);
  }

  private isOwnV6(v: bigint): boolean {
    if (this.v6.has(v)) return true;
    return this.v4.size > 0 && embeddedIpv4(v).some((a) => this.v4.has(a));
  }

  private scrubIpv6Run(run: string): string {
    if (!run.includes('::') && !SIX_COLONS.test(run)) return run;
    // An own address may sit anywhere in the run: after other groups or
    // letters ("cafe:2001:db8::1", "ab2001:db8::1"), before a ":port"
    // ("2001:db8::1:443", as Node writes it) or trailing punctuation. Try each
    // start whose first group is at most four digits, and each end before a
    // colon or a dot, up to the longest spelling.
    for (let start = 0; start < run.length - 1; start++) {
      const colon = run.indexOf(':', start);
      if (colon < 0) break;
      if (colon - start > 4) continue;
      for (let end = Math.min(run.length, start + LONGEST_IPV6); end > start + 1; end--) {
        if (end < run.length && run[end] !== ':' && run[end] !== '.') continue;
        const v = ipv6Value(run.slice(start, end));
        if (v !== null && this.isOwnV6(v)) return run.slice(0, start) + SCRUBBED + this.scrubIpv6Run(run.slice(end));
      }
    }
    return run;
  }

  private scrubIpv4Spellings(text: string): string {
    let out = '';
    let copied = 0;
    IPV4_SPELLING.lastIndex = 0;
    for (let m = IPV4_SPELLING.exec(text); m; m = IPV4_SPELLING.exec(text)) {
      const o = [m[1], m[3], m[4], m[5]].map(Number);
      const own = o.every((x) => x <= 255) && (this.v4.has(quad(o[0]!, o[1]!, o[2]!, o[3]!)) || this.v4.has(quad(o[3]!, o[2]!, o[1]!, o[0]!)));
      if (own) {
        out += text.slice(copied, m.index) + SCRUBBED;
        copied = m.index + m[0].length;
      } else {
        // Overlapping spellings: "1.5.6.7.8" holds 5.6.7.8 one octet further on.
        IPV4_SPELLING.lastIndex = m.index + 1;
      }
    }
    return copied === 0 ? text : out + text.slice(copied);
  }
}

function quad(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/**
 * The probe's own addresses for this process: the sweep adds what it learns,
 * and the store scrubs every record it writes with them.
 */
export const probeAddresses = new OwnAddressSet();
