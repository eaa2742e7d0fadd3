// Blocking fingerprints: known injected DNS addresses and blockpage markers.
// The data lives in fingerprints/default.json (and any file a volunteer adds);
// this module validates it, and matches DNS answers and HTTP responses
// against it. Matching is pure; only the two loaders read files.
import { existsSync } from 'node:fs';
import { readBoundedText, readFailure } from '../read-bounded.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import type { HttpHop } from '../../probes/types.js';

export const FINGERPRINT_KINDS = [
  'dns_ip',
  'body_contains',
  'body_prefix',
  'body_regexp',
  'header_prefix',
  'title_contains',
] as const;
export type FingerprintKind = (typeof FINGERPRINT_KINDS)[number];

/** One entry of a fingerprint file. */
export interface Fingerprint {
  /** Unique, stable: it is what the verdict's evidence names. */
  id: string;
  /** ISO 3166 alpha-2 code of the country the fingerprint was seen in. */
  country: string;
  kind: FingerprintKind;
  /** An address (dns_ip), a substring, a prefix or a regular expression source. */
  pattern: string;
  /** header_prefix only: the header's name (case-insensitive). */
  header?: string;
  /** HTTP kinds only: the response must also have this status code. */
  status_code?: number;
  /** Where the fact comes from. */
  source: string;
  /**
   * What a match means: a censor's blockpage (the default), or a page the
   * site itself serves to refuse the country (site.geoblocked), which only
   * counts when the page is the site's own.
   */
  meaning?: 'blockpage' | 'geoblock';
}

/** What the evidence of a verdict records about a match. */
export interface FingerprintMatch {
  id: string;
  country: string;
  kind: FingerprintKind;
  /** What matched: the address, or the hop URL for HTTP kinds. */
  matched: string;
}

/** A validated, compiled set of fingerprints. */
export interface Fingerprints {
  readonly entries: readonly Fingerprint[];
  /** The first blockpage fingerprint that this response matches, or null. */
  matchHttp(hop: HttpHop): FingerprintMatch | null;
  /** The first geoblock fingerprint (the site refusing the country) that this response matches, or null. */
  matchGeoblock(hop: HttpHop): FingerprintMatch | null;
  /** The DNS fingerprint of this answer address, or null. */
  matchDnsAddress(ip: string): FingerprintMatch | null;
}

/** A fingerprint file that cannot be used: names the file and the entry. */
export class FingerprintsError extends Error {
  override name = 'FingerprintsError';
}

/**
 * Validates the parsed content of a fingerprint file: either an array of
 * entries or `{ "fingerprints": [...] }`. `origin` names the file in errors.
 */
export function validateFingerprints(data: unknown, origin: string): Fingerprint[] {
  const list = Array.isArray(data) ? data : isRecord(data) ? data.fingerprints : undefined;
  if (!Array.isArray(list)) throw new FingerprintsError(`${origin}: expected an array of fingerprints or {"fingerprints": [...]}`);
  const seen = new Set<string>();
  return list.map((raw, index) => {
    const entry = validateEntry(raw, `${origin}: fingerprint #${index + 1}`);
    if (seen.has(entry.id)) throw new FingerprintsError(`${origin}: fingerprint #${index + 1} ("${entry.id}"): duplicate id`);
    seen.add(entry.id);
    return entry;
  });
}

function validateEntry(raw: unknown, where: string): Fingerprint {
  if (!isRecord(raw)) throw new FingerprintsError(`${where}: not an object`);
  const id = raw.id;
  if (typeof id !== 'string' || id.trim() === '') throw new FingerprintsError(`${where}: "id" must be a non-empty string`);
  const named = `${where} ("${id}")`;
  const text = (key: string): string => {
    const value = raw[key];
    if (typeof value !== 'string' || value === '') throw new FingerprintsError(`${named}: "${key}" must be a non-empty string`);
    return value;
  };
  const country = text('country');
  const source = text('source');
  const pattern = text('pattern');
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(FINGERPRINT_KINDS as readonly string[]).includes(kind)) {
    throw new FingerprintsError(`${named}: "kind" must be one of ${FINGERPRINT_KINDS.join(', ')}`);
  }
  const entry: Fingerprint = { id, country, kind: kind as FingerprintKind, pattern, source };
  if (kind === 'dns_ip') {
    if (isIP(pattern) === 0) throw new FingerprintsError(`${named}: "pattern" must be an IP address for kind dns_ip`);
    entry.pattern = normalizeIp(pattern);
  }
  if (kind === 'body_regexp') {
    try {
      new RegExp(pattern, 'u');
    } catch (err) {
      throw new FingerprintsError(`${named}: "pattern" is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (raw.meaning !== undefined) {
    if (raw.meaning !== 'blockpage' && raw.meaning !== 'geoblock') throw new FingerprintsError(`${named}: "meaning" must be "blockpage" or "geoblock"`);
    if (kind === 'dns_ip') throw new FingerprintsError(`${named}: "meaning" is only for HTTP kinds`);
    entry.meaning = raw.meaning;
  }
  if (kind === 'header_prefix') entry.header = text('header').toLowerCase();
  else if (raw.header !== undefined) throw new FingerprintsError(`${named}: "header" is only for kind header_prefix`);
  if (raw.status_code !== undefined) {
    const code = raw.status_code;
    if (kind === 'dns_ip') throw new FingerprintsError(`${named}: "status_code" is only for HTTP kinds`);
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599) {
      throw new FingerprintsError(`${named}: "status_code" must be an HTTP status code`);
    }
    entry.status_code = code;
  }
  return entry;
}

/** Compiles validated entries. Later entries may not reuse an earlier id. */
export function compileFingerprints(entries: readonly Fingerprint[]): Fingerprints {
  const ids = new Set<string>();
  for (const entry of entries) {
    if (ids.has(entry.id)) throw new FingerprintsError(`fingerprint "${entry.id}": duplicate id`);
    ids.add(entry.id);
  }
  const byAddress = new Map<string, Fingerprint>();
  for (const entry of entries) if (entry.kind === 'dns_ip') byAddress.set(normalizeIp(entry.pattern), entry);
  const compiled = entries
    .filter((entry) => entry.kind !== 'dns_ip')
    .map((entry) => ({ entry, regexp: entry.kind === 'body_regexp' ? new RegExp(entry.pattern, 'u') : null }));
  const blockpages = compiled.filter(({ entry }) => entry.meaning !== 'geoblock');
  const geoblocks = compiled.filter(({ entry }) => entry.meaning === 'geoblock');

  return {
    entries: [...entries],
    matchDnsAddress(ip) {
      if (typeof ip !== 'string' || isIP(ip) === 0) return null;
      const entry = byAddress.get(normalizeIp(ip));
      return entry ? { id: entry.id, country: entry.country, kind: entry.kind, matched: ip } : null;
    },
    matchHttp: (hop) => firstHttpMatch(blockpages, hop),
    matchGeoblock: (hop) => firstHttpMatch(geoblocks, hop),
  };
}

function firstHttpMatch(list: { entry: Fingerprint; regexp: RegExp | null }[], hop: HttpHop): FingerprintMatch | null {
  if (!hop || hop.status_code === null || hop.status_code === undefined) return null;
  const body = hop.body_sample ?? '';
  for (const { entry, regexp } of list) {
    if (entry.status_code !== undefined && entry.status_code !== hop.status_code) continue;
    if (matchesHttpEntry(entry, regexp, hop, body)) return { id: entry.id, country: entry.country, kind: entry.kind, matched: hop.url };
  }
  return null;
}

function matchesHttpEntry(entry: Fingerprint, regexp: RegExp | null, hop: HttpHop, body: string): boolean {
  switch (entry.kind) {
    case 'body_contains':
      return body.includes(entry.pattern);
    case 'body_prefix':
      // Injected pages often start with whitespace before their first tag.
      return body.trimStart().startsWith(entry.pattern);
    case 'body_regexp':
      return regexp !== null && regexp.test(body);
    case 'title_contains':
      return (hop.title ?? '').normalize('NFC').includes(entry.pattern.normalize('NFC'));
    case 'header_prefix': {
      const name = entry.header ?? '';
      for (const [key, value] of Object.entries(hop.headers ?? {})) {
        if (key.toLowerCase() === name && typeof value === 'string' && value.startsWith(entry.pattern)) return true;
      }
      return false;
    }
    case 'dns_ip':
      return false;
  }
}

/** OONI's whole fingerprint list is about 100 KiB. */
export const MAX_FINGERPRINTS_FILE_BYTES = 5 * 1024 * 1024;

/** Reads and validates one fingerprint file; `base` (e.g. the defaults) is kept in front. */
export function loadFingerprintsFile(path: string, base?: Fingerprints): Fingerprints {
  let text: string;
  try {
    text = readBoundedText(path, MAX_FINGERPRINTS_FILE_BYTES);
  } catch (err) {
    throw new FingerprintsError(`${path}: cannot read fingerprint file: ${readFailure(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FingerprintsError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  const entries = validateFingerprints(data, path);
  const all = [...(base?.entries ?? []), ...entries];
  try {
    return compileFingerprints(all);
  } catch (err) {
    throw new FingerprintsError(`${path}: ${(err as Error).message}`);
  }
}

let defaults: Fingerprints | null = null;

/**
 * The bundled fingerprints: fingerprints/default.json (censors' blockpages and
 * injected addresses) and fingerprints/geoblock.json (sites refusing the
 * country), found from the package root (works from src/ and dist/src/).
 */
export function defaultFingerprints(): Fingerprints {
  defaults ??= loadFingerprintsFile(join(packageRoot(), 'fingerprints', 'geoblock.json'), loadFingerprintsFile(join(packageRoot(), 'fingerprints', 'default.json')));
  return defaults;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new FingerprintsError('cannot find the rasad package root (no package.json above the analysis module)');
    dir = parent;
  }
}

/** One spelling per address: IPv6 compressed and lower-case, IPv4-mapped IPv6 as IPv4. */
export function normalizeIp(ip: string): string {
  const trimmed = ip.trim();
  if (isIP(trimmed) === 4) return trimmed;
  if (isIP(trimmed) !== 6) return trimmed;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  // The WHATWG URL parser serialises IPv6 hosts in their canonical form.
  const canonical = new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (hexMapped) {
    const high = parseInt(hexMapped[1]!, 16);
    const low = parseInt(hexMapped[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return canonical;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
