// Privacy of exported data. A volunteer's export goes to researchers and may
// be published: error strings are free text and may carry an address (the
// probe's own, from Node's "Local (192.168.1.23:51234)", or a resolver's),
// so every IP in them is replaced by "[scrubbed]" (OONI's token). Addresses in
// structured fields (DNS answers, the IP a TCP connect went to) are the
// measurement itself and stay. rasad never stores its own address; fields
// that would carry one are dropped all the same, in case a future probe adds one.
import { isIPv6 } from 'node:net';

export const SCRUBBED = '[scrubbed]';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_IN_TEXT = new RegExp(`(?<![0-9])${OCTET}(?:\\.${OCTET}){3}(?![0-9])`, 'g');
// A run of hex digits, colons and dots with at least two colons, not glued to
// a word before it ("Failed::1" is not an address), with an optional zone id.
const IPV6_CANDIDATE = /(?<![0-9A-Za-z_])[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z_.-]+)?/g;

/** Replaces every IPv4 and IPv6 address in free text with "[scrubbed]"; a ":port" after it is kept. */
export function scrubIps(text: string): string {
  if (!/[0-9]/.test(text) && !text.includes('::')) return text;
  return text.replace(IPV6_CANDIDATE, scrubIpv6Run).replace(IPV4_IN_TEXT, SCRUBBED);
}

function scrubIpv6Run(run: string): string {
  const percent = run.indexOf('%');
  const address = percent < 0 ? run : run.slice(0, percent);
  // As found, then shedding trailing punctuation one character at a time ("... 2001:db8::1." ends a sentence).
  for (let cut = address; cut.length > 0; cut = cut.slice(0, -1)) {
    // A zone id ("%wlan0") goes with its address.
    if (isIPv6(cut)) return SCRUBBED + (percent < 0 ? address.slice(cut.length) : '');
    if (!/[.:]$/.test(cut)) break;
  }
  // Node writes "connect ECONNREFUSED 2001:db8::1:443" without brackets: try again without a ":port".
  const port = /^(.*):([0-9]{1,5})$/.exec(address);
  if (port && isIPv6(port[1]!)) return `${SCRUBBED}:${port[2]}`;
  // Not an IPv6 address (a time, a MAC address, "a::b::c"): an IPv4 inside is still found by the second pass.
  return run;
}

/** true when the text holds an IPv4 or IPv6 address (what scrubIps would replace). */
export function containsIp(text: string): boolean {
  return scrubIps(text) !== text;
}

/** A key whose string value is free-text error prose: `failure`, `error`, `message`, `reason`, or `*_failure` etc. */
const ERROR_TEXT_KEY = /(?:^|_)(?:failure|error|message|reason)s?$/;

/** Keys that would hold the probe's own address. rasad stores none; an export never carries one. */
export const PROBE_ADDRESS_KEYS: ReadonlySet<string> = new Set([
  'probe_ip',
  'client_ip',
  'local_ip',
  'local_address',
  'local_port',
  'source_ip',
  'source_address',
]);

/**
 * Scrubs, in place, every string held under an error-text key at any depth
 * of `value`, and deletes any probe-address key. Returns `value`.
 */
export function scrubErrorStrings<T>(value: T): T {
  scrubNode(value as unknown, 0);
  return value;
}

// JSON nests a few levels; a cycle or an absurd depth (bad input) stops the walk rather than the export.
const MAX_DEPTH = 64;

function scrubNode(node: unknown, depth: number): void {
  if (node === null || typeof node !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(node)) {
    for (const item of node) scrubNode(item, depth + 1);
    return;
  }
  const obj = node as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (PROBE_ADDRESS_KEYS.has(key)) {
      delete obj[key];
    } else if (typeof v === 'string') {
      if (ERROR_TEXT_KEY.test(key)) obj[key] = scrubIps(v);
    } else if (ERROR_TEXT_KEY.test(key) && Array.isArray(v)) {
      // e.g. `failures: [...]` or `errors: [...]` of strings.
      obj[key] = v.map((item) => (typeof item === 'string' ? scrubIps(item) : (scrubNode(item, depth + 1), item)));
    } else {
      scrubNode(v, depth + 1);
    }
  }
}
