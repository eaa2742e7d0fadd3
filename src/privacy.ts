// Privacy of stored and exported data (issue 9: no probe IP is stored or
// exported). A volunteer's data goes to researchers and may be published:
// error strings are free text and may carry an address (the probe's own, from
// Node's "Local (192.168.1.23:51234)", or a resolver's), so every IP in them
// is replaced by "[scrubbed]" (OONI's token). Addresses in structured fields
// (DNS answers, the IP a TCP connect went to) are the measurement itself and
// stay. rasad never stores its own address; fields that would carry one are
// dropped all the same, in case a future probe adds one.
//
// The store applies scrubbedCopy to every measurement before it writes it;
// the export applies scrubErrorStrings again to rows stored before that
// (migration 3). Scrubbing is idempotent, so scrubbing a stored record again
// changes nothing.
import { isIPv6 } from 'node:net';

export const SCRUBBED = '[scrubbed]';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_IN_TEXT = new RegExp(`(?<![0-9])${OCTET}(?:\\.${OCTET}){3}(?![0-9])`, 'g');
// A run of hex digits, colons and dots with at least two colons, not glued to
// a word before it ("Failed::1" is not an address), with an optional zone id.
const IPV6_CANDIDATE = /(?<![0-9A-Za-z_])[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z_.-]+)?/g;

/**
 * Replaces every IPv4 and IPv6 address in free text with "[scrubbed]"; a
 * ":port" after it is kept. Idempotent: scrubbing the result again changes
 * nothing (a stored record is scrubbed at storage and may be scrubbed again
 * on export, and both must give the same bytes).
 */
export function scrubIps(text: string, keep?: (ip: string) => boolean): string {
  if (!/[0-9]/.test(text) && !text.includes('::')) return text;
  if (keep !== undefined || text.length > REMEMBERED_TEXT_MAX_CHARS) return scrubAll(text, keep);
  // Short texts repeat from record to record (the request headers, a
  // server's Content-Type and Server, failure strings): their scrub is
  // remembered, since a Date header's "02:20:00" alone sends a value through
  // both address passes.
  let out = scrubbedTexts.get(text);
  if (out === undefined) {
    out = scrubAll(text, undefined);
    if (scrubbedTexts.size >= TEXTS_REMEMBERED) scrubbedTexts.clear();
    scrubbedTexts.set(text, out);
  }
  return out;
}

const scrubbedTexts = new Map<string, string>();
const TEXTS_REMEMBERED = 4096;
const REMEMBERED_TEXT_MAX_CHARS = 256;

function scrubAll(text: string, keep: ((ip: string) => boolean) | undefined): string {
  let out = scrubOnce(text, keep);
  if (out === text) return text;
  // One pass can uncover an address: in "fe80::1.2.3.4.5" the IPv4 pass takes
  // 1.2.3.4 and leaves "fe80::", itself an address. Each pass that changes the
  // text removes digits or colons ("[scrubbed]" cannot start an address), so this ends.
  for (let again = scrubOnce(out, keep); again !== out; again = scrubOnce(out, keep)) out = again;
  return out;
}

function scrubOnce(text: string, keep: ((ip: string) => boolean) | undefined): string {
  if (keep === undefined) return text.replace(IPV6_CANDIDATE, (run) => scrubIpv6Run(run)).replace(IPV4_IN_TEXT, SCRUBBED);
  // An address kept is left as it is; scrubbing again finds it again and keeps it again (idempotent).
  return text
    .replace(IPV6_CANDIDATE, (run) => scrubIpv6Run(run, keep))
    .replace(IPV4_IN_TEXT, (ip) => (keep(ip) ? ip : SCRUBBED));
}

function scrubIpv6Run(run: string, keep?: (ip: string) => boolean): string {
  const percent = run.indexOf('%');
  const address = percent < 0 ? run : run.slice(0, percent);
  // As found, then shedding trailing punctuation one character at a time ("... 2001:db8::1." ends a sentence).
  for (let cut = address; cut.length > 0; cut = cut.slice(0, -1)) {
    // A zone id ("%wlan0") goes with its address.
    if (isIPv6(cut)) return keep?.(cut) ? run : SCRUBBED + (percent < 0 ? address.slice(cut.length) : '');
    if (!/[.:]$/.test(cut)) break;
  }
  // Node writes "connect ECONNREFUSED 2001:db8::1:443" without brackets: try again without a ":port".
  const port = /^(.*):([0-9]{1,5})$/.exec(address);
  if (port && isIPv6(port[1]!)) return keep?.(port[1]!) ? run : `${SCRUBBED}:${port[2]}`;
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

/** What scrubbedCopy saw besides error strings. */
export interface ScrubWalk {
  /**
   * Set when the value holds something JSON.stringify would not write as it
   * is (a Date, a Buffer, a Map, a class instance, a function, a symbol): what is
   * stored could then differ from what was scrubbed, so the caller should
   * scrub a JSON round trip of the value instead.
   */
  notPlainJson: boolean;
}

/**
 * What scrubErrorStrings would make of `value`, without touching `value`:
 * the objects and arrays on the way to a change are copied, everything else
 * is shared (a sweep's measurements stay as the sweep built them). Most
 * records have nothing to scrub and come back as they are, with no copy.
 */
export function scrubbedCopy<T>(value: T, walk?: ScrubWalk, extra?: ExtraScrub): T {
  return copyNode(value, 0, walk ?? { notPlainJson: false }, extra ?? null) as T;
}

/**
 * Rules a caller adds to scrubbedCopy's walk (the store's, for addresses a
 * server echoes: src/privacy/echoed.ts). Error-text keys keep their rule.
 */
export interface ExtraScrub {
  /** The transform for a string under `key`, or null to leave it. */
  text(key: string): ((text: string) => string) | null;
  /** What an object or array under `key` becomes (itself when nothing changes), or undefined to walk it as usual. */
  object(key: string, value: object): unknown;
  /** After an object was copied with changes: fixes what derives from them (a hash of a scrubbed body). */
  after(original: Record<string, unknown>, copy: Record<string, unknown>): void;
}

function isPlainObject(node: object): boolean {
  const proto = Object.getPrototypeOf(node) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Sets an own property, "__proto__" included (plain assignment would set the prototype instead). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// Keys repeat from record to record (failure, t0, Content-Type, ...): their
// verdict is remembered, up to a bound, since a regex per key is most of a walk.
const errorTextKeys = new Map<string, boolean>();
const ERROR_TEXT_KEYS_REMEMBERED = 4096;

function isErrorTextKey(key: string): boolean {
  let yes = errorTextKeys.get(key);
  if (yes === undefined) {
    yes = ERROR_TEXT_KEY.test(key);
    if (errorTextKeys.size < ERROR_TEXT_KEYS_REMEMBERED) errorTextKeys.set(key, yes);
  }
  return yes;
}

/** A shallow copy with the same prototype; Object.assign onto a null-prototype object makes "__proto__" an own key, as spread does. */
function shallowCopy(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.getPrototypeOf(obj) === null ? Object.assign(Object.create(null) as Record<string, unknown>, obj) : { ...obj };
}

// The copy-on-write twin of scrubNode: the same keys, the same depths, the same replacements.
function copyNode(node: unknown, depth: number, walk: ScrubWalk, extra: ExtraScrub | null): unknown {
  if (node === null || typeof node !== 'object') {
    // JSON.stringify leaves a function or a symbol out, and calls a function named toJSON.
    if (typeof node === 'function' || typeof node === 'symbol') walk.notPlainJson = true;
    return node;
  }
  if (depth > MAX_DEPTH) return node;
  if (Array.isArray(node)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') continue;
      const scrubbed = copyNode(item, depth + 1, walk, extra);
      if (scrubbed !== item) (copy ??= node.slice())[i] = scrubbed;
    }
    return copy ?? node;
  }
  if (!isPlainObject(node)) walk.notPlainJson = true;
  const obj = node as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (PROBE_ADDRESS_KEYS.has(key)) {
      copy ??= shallowCopy(obj);
      delete copy[key];
    } else if (typeof v === 'string') {
      const rule = isErrorTextKey(key) ? scrubIps : (extra?.text(key) ?? null);
      if (rule) {
        const scrubbed = rule(v);
        if (scrubbed !== v) setOwn((copy ??= shallowCopy(obj)), key, scrubbed);
      }
    } else if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined) {
      // Nothing to scrub, nothing JSON rewrites.
    } else if (Array.isArray(v) && isErrorTextKey(key)) {
      let items: unknown[] | null = null;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        const scrubbed = typeof item === 'string' ? scrubIps(item) : copyNode(item, depth + 1, walk, extra);
        if (scrubbed !== item) (items ??= v.slice())[i] = scrubbed;
      }
      if (items) (copy ??= shallowCopy(obj))[key] = items;
    } else {
      const replaced = extra && typeof v === 'object' ? extra.object(key, v) : undefined;
      const scrubbed = replaced !== undefined ? replaced : copyNode(v, depth + 1, walk, extra);
      if (scrubbed !== v) setOwn((copy ??= shallowCopy(obj)), key, scrubbed);
    }
  }
  if (copy && extra) extra.after(obj, copy);
  return copy ?? obj;
}
