// IP address → autonomous system number, from the bundled @ip-location-db/asn
// data (RouteViews, the five RIRs and DB-IP's IP-to-ASN Lite, CC BY 4.0;
// snapshot of 2026-06-17, the last one published on npm). OONI's DNS
// consistency rule needs it: two answers in the same AS are consistent (a CDN
// answering each resolver with its own addresses), two in different ASes are
// not. The tables load lazily on first use (about 0.2 s and 8 MiB), so a probe
// that never asks pays nothing; a sweep preloads them in slices before it
// starts (preloadAsnTable), so that no probe in flight waits for the load.
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isIP } from 'node:net';

/** Where the data came from, for the README and the evidence. */
export const ASN_DATA = {
  source: '@ip-location-db/asn 2.3.2026061719 (RouteViews, RIRs, DB-IP ASN Lite)',
  snapshot: '2026-06-17',
  licence: 'CC BY 4.0: IP to ASN data by DB-IP (https://db-ip.com) and RouteViews (https://www.routeviews.org)',
} as const;

interface V4Table {
  starts: Uint32Array;
  ends: Uint32Array;
  asns: Uint32Array;
}

interface V6Table {
  /** The top 64 bits of each range's first and last address: ranges are never finer than a /64 in practice. */
  starts: BigUint64Array;
  ends: BigUint64Array;
  asns: Uint32Array;
}

export interface AsnTable {
  v4: V4Table;
  v6: V6Table;
}

let loaded: AsnTable | null | undefined;

function dataDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@ip-location-db/asn/package.json'));
}

/** Parses the `-num` CSV builds (`first,last,asn,"org"`, sorted by first). */
export function parseAsnCsv(v4Text: string | Buffer, v6Text: string): AsnTable {
  return { v4: parseV4(v4Text), v6: parseV6(v6Text) };
}

function rows(text: string, each: (first: string, last: string, asn: number) => void): void {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const c1 = text.indexOf(',', start);
    const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
    if (c1 > start && c2 > c1 && c2 < end) {
      const c3 = text.indexOf(',', c2 + 1);
      const asn = Number(text.slice(c2 + 1, c3 > c2 && c3 < end ? c3 : end));
      if (Number.isInteger(asn) && asn >= 0) each(text.slice(start, c1), text.slice(c1 + 1, c2), asn);
    }
    start = end + 1;
  }
}

/**
 * The IPv4 table, parsed from the CSV's bytes: the three numbers of each row
 * are read digit by digit into preallocated arrays, with no string per row.
 * It is the bulk of the data (21 MB); this takes about a third of the time a
 * row-by-row string parse did, which every `rasad once` and a Pi's first
 * sweep pay.
 */
function parseV4(text: string | Buffer): V4Table {
  const parser = new V4Parser(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  parser.step(Number.POSITIVE_INFINITY);
  return parser.table();
}

/**
 * parseV4 in slices: step(deadline) works until performance.now() passes the
 * deadline, so a load beside running probes never holds the event loop for
 * long (preloadAsnTable).
 */
class V4Parser {
  private rowsMax = 1;
  /** Where the row count has got to; -1 once counted. */
  private countAt = 0;
  private starts = new Uint32Array(0);
  private ends = new Uint32Array(0);
  private asns = new Uint32Array(0);
  private n = 0;
  private i = 0;

  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.countAt < 0 && this.i >= this.bytes.length;
  }

  step(deadline: number): void {
    const bytes = this.bytes;
    while (this.countAt >= 0) {
      const nl = bytes.indexOf(10, this.countAt);
      if (nl < 0) {
        this.countAt = -1;
        this.starts = new Uint32Array(this.rowsMax);
        this.ends = new Uint32Array(this.rowsMax);
        this.asns = new Uint32Array(this.rowsMax);
        break;
      }
      this.rowsMax++;
      this.countAt = nl + 1;
      if ((this.rowsMax & 0xfff) === 0 && performance.now() > deadline) return;
    }
    const { starts, ends, asns } = this;
    const length = bytes.length;
    let i = this.i;
    let n = this.n;
    let rows = 0;
    while (i < length) {
      if ((++rows & 0xfff) === 0 && performance.now() > deadline) break;
      // first,last,asn[,"org"]: a row that does not start so is skipped.
      let first = 0;
      let last = 0;
      let asn = 0;
      let field = 0;
      let digits = 0;
      let valid = true;
      for (; i < length; i++) {
        const c = bytes[i]!;
        if (c === 10) break;
        if (field > 2) continue;
        if (c >= 48 && c <= 57) {
          if (field === 0) first = first * 10 + (c - 48);
          else if (field === 1) last = last * 10 + (c - 48);
          else asn = asn * 10 + (c - 48);
          digits++;
        } else if (c === 44) {
          if (digits === 0) valid = false;
          field++;
          digits = 0;
        } else if (c !== 13) {
          valid = false;
          field = 3;
        }
      }
      i++;
      if (valid && field >= 2 && (field > 2 || digits > 0) && first <= 0xffffffff && last <= 0xffffffff) {
        starts[n] = first;
        ends[n] = last;
        asns[n] = asn;
        n++;
      }
    }
    this.i = i;
    this.n = n;
  }

  table(): V4Table {
    return { starts: this.starts.subarray(0, this.n), ends: this.ends.subarray(0, this.n), asns: this.asns.subarray(0, this.n) };
  }
}

function parseV6(text: string): V6Table {
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  const asns: number[] = [];
  rows(text, (first, last, asn) => {
    starts.push(BigInt(first) >> 64n);
    ends.push(BigInt(last) >> 64n);
    asns.push(asn);
  });
  return { starts: BigUint64Array.from(starts), ends: BigUint64Array.from(ends), asns: Uint32Array.from(asns) };
}

/** The bundled table, loaded once; null when the data package is missing or unreadable. */
export function bundledAsnTable(): AsnTable | null {
  if (loaded !== undefined) return loaded;
  try {
    const dir = dataDir();
    loaded = parseAsnCsv(readFileSync(join(dir, 'asn-ipv4-num.csv')), readFileSync(join(dir, 'asn-ipv6-num.csv'), 'latin1'));
  } catch {
    loaded = null;
  }
  return loaded;
}

let preloading: Promise<AsnTable | null> | null = null;

/**
 * Loads the bundled table without holding the event loop more than about
 * `sliceMs` at a time, so probes running beside it keep their timings. A
 * sweep judges its units as they finish, and the first judgement that asks
 * for an AS would otherwise stop every probe in flight for the whole load
 * (about 0.2 s; more on a Pi). Called before a sweep starts; a lookup made
 * while it runs loads the table at once.
 */
export function preloadAsnTable(sliceMs = 4): Promise<AsnTable | null> {
  if (loaded !== undefined) return Promise.resolve(loaded);
  preloading ??= (async () => {
    try {
      const dir = dataDir();
      const [v4, v6] = await Promise.all([readWhole(join(dir, 'asn-ipv4-num.csv')), readWhole(join(dir, 'asn-ipv6-num.csv'))]);
      // A lookup that came first loaded the table already: the slices stop.
      const table = await parseAsnCsvInSlices(v4, v6.toString('latin1'), sliceMs, () => loaded !== undefined);
      loaded ??= table;
    } catch {
      loaded ??= null;
    }
    return loaded;
  })();
  return preloading;
}

/** A file's bytes in one buffer of its size (readFile gathers chunks and copies them: twice the memory for a moment). */
async function readWhole(path: string): Promise<Buffer> {
  const file = await open(path);
  try {
    const { size } = await file.stat();
    const bytes = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await file.read(bytes, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } finally {
    await file.close();
  }
}

/**
 * parseAsnCsv, yielding to the event loop (setImmediate) after each slice of
 * about `sliceMs` (at least 4,096 rows); null when `abandon` says to stop.
 */
export async function parseAsnCsvInSlices(v4: Buffer, v6Text: string, sliceMs: number, abandon: () => boolean = () => false): Promise<AsnTable | null> {
  const parser = new V4Parser(v4);
  while (!parser.done) {
    if (abandon()) return null;
    parser.step(performance.now() + sliceMs);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { v4: parser.table(), v6: parseV6(v6Text) };
}

/** The ASN announcing `ip`, or null when unknown (private, unannounced, or no data). */
export function lookupAsn(ip: string, table: AsnTable | null = bundledAsnTable()): number | null {
  if (!table) return null;
  const family = isIP(ip);
  if (family === 4) return search(table.v4.starts, table.v4.ends, table.v4.asns, ipv4ToNumber(ip));
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return lookupAsn(mapped[1]!, table);
    return search(table.v6.starts, table.v6.ends, table.v6.asns, ipv6Top64(ip));
  }
  return null;
}

function search<T extends number | bigint>(starts: ArrayLike<T>, ends: ArrayLike<T>, asns: Uint32Array, key: T): number | null {
  // The last range starting at or before the key.
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0 || ends[found]! < key) return null;
  const asn = asns[found]!;
  return asn === 0 ? null : asn;
}

export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** The first 64 bits of an IPv6 address, as a bigint. */
export function ipv6Top64(ip: string): bigint {
  const [head = '', tail] = ip.toLowerCase().split('%')[0]!.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<string>(Math.max(0, fill)).fill('0'), ...tailGroups];
  let value = 0n;
  for (let i = 0; i < 4; i++) value = (value << 16n) | BigInt(parseInt(groups[i] ?? '0', 16) || 0);
  return value;
}
