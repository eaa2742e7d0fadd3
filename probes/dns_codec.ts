// A small DNS wire codec (RFC 1035, RFC 3596): queries out, messages in.
// The decoder reads what censors and broken servers send, so it trusts
// nothing: every read is bounds-checked, name compression pointers are
// counted (a loop ends in an error, not a hang), and every malformed input
// becomes a DnsDecodeError.
import { isIPv4, isIPv6 } from 'node:net';

export class DnsDecodeError extends Error {
  override name = 'DnsDecodeError';
}

/** A name or type that cannot be put in a query. */
export class DnsEncodeError extends Error {
  override name = 'DnsEncodeError';
}

export const RR_TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41, ANY: 255 } as const;
const TYPE_NAMES = new Map<number, string>(Object.entries(RR_TYPE).map(([k, v]) => [v, k]));
export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** "NOERROR", "NXDOMAIN", ... or "RCODE<n>" for codes without a name. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

const HEADER_LENGTH = 12;
const MAX_NAME_LENGTH = 255; // wire bytes, including the root label
const MAX_LABEL_LENGTH = 63;
// A name has at most 127 labels, so a legitimate name never needs more
// pointer jumps than that; more means a loop.
const MAX_POINTER_JUMPS = 127;

// ---------------------------------------------------------------------------
// Encoding

function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  // One buffer, written in place (a query is encoded twice per DNS probe):
  // latin1 is one byte per character, so the wire form is the text plus a
  // length byte for the first label and the root label.
  const wire = Buffer.allocUnsafe(trimmed.length + 2);
  let at = 0;
  for (const label of trimmed.split('.')) {
    if (label.length === 0) throw new DnsEncodeError(`empty label in ${JSON.stringify(name)}`);
    if (label.length > MAX_LABEL_LENGTH) throw new DnsEncodeError(`label longer than 63 bytes in ${JSON.stringify(name.slice(0, 80))}`);
    // eslint-disable-next-line no-control-regex
    if (/[^\x21-\x7e]/.test(label)) throw new DnsEncodeError(`name is not printable ASCII: ${JSON.stringify(name.slice(0, 80))}`);
    wire[at++] = label.length;
    at += wire.write(label, at, 'latin1');
  }
  wire[at++] = 0;
  if (at > MAX_NAME_LENGTH) throw new DnsEncodeError('name longer than 255 bytes');
  return wire;
}

function typeNumber(type: string | number): number {
  const value = typeof type === 'number' ? type : (RR_TYPE as Record<string, number>)[type];
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > 0xffff) throw new DnsEncodeError(`bad record type ${String(type)}`);
  return value;
}

/** A standard recursive query for one name and type (one question, RD set). */
export function encodeQuery(name: string, type: 'A' | 'AAAA' | 'CNAME' | number, id: number): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new DnsEncodeError(`bad query id ${id}`);
  const qtype = typeNumber(type);
  const encodedName = encodeName(name);
  const query = Buffer.alloc(HEADER_LENGTH + encodedName.length + 4);
  query.writeUInt16BE(id, 0);
  query.writeUInt16BE(0x0100, 2); // RD
  query.writeUInt16BE(1, 4); // QDCOUNT
  encodedName.copy(query, HEADER_LENGTH);
  query.writeUInt16BE(qtype, HEADER_LENGTH + encodedName.length);
  query.writeUInt16BE(CLASS_IN, HEADER_LENGTH + encodedName.length + 2);
  return query;
}

/** A record to put in an encoded message (used by test servers and the control helper). */
export interface DnsRecordInput {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | number;
  ttl?: number;
  /** An address for A/AAAA, a name for CNAME, raw bytes for anything else. */
  data: string | Uint8Array;
}

export interface DnsMessageInput {
  id: number;
  response?: boolean;
  opcode?: number;
  authoritative?: boolean;
  truncated?: boolean;
  recursionDesired?: boolean;
  recursionAvailable?: boolean;
  rcode?: number;
  questions?: { name: string; type: 'A' | 'AAAA' | 'CNAME' | number; class?: number }[];
  answers?: DnsRecordInput[];
  authorities?: DnsRecordInput[];
  additionals?: DnsRecordInput[];
}

function ipv6Bytes(ip: string): Buffer {
  // Expand "::" and an embedded IPv4 tail into eight 16-bit groups.
  let text = ip;
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = rest === null ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function encodeRdata(record: DnsRecordInput, type: number): Buffer {
  if (typeof record.data !== 'string') return Buffer.from(record.data);
  if (type === RR_TYPE.A) {
    if (!isIPv4(record.data)) throw new DnsEncodeError(`not an IPv4 address: ${record.data}`);
    return Buffer.from(record.data.split('.').map(Number));
  }
  if (type === RR_TYPE.AAAA) {
    if (!isIPv6(record.data)) throw new DnsEncodeError(`not an IPv6 address: ${record.data}`);
    return ipv6Bytes(record.data);
  }
  if (type === RR_TYPE.CNAME || type === RR_TYPE.NS || type === RR_TYPE.PTR) return encodeName(record.data);
  return Buffer.from(record.data, 'latin1');
}

function encodeRecord(record: DnsRecordInput): Buffer {
  const type = typeNumber(record.type);
  const rdata = encodeRdata(record, type);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(record.ttl ?? 60, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(record.name), fixed, rdata]);
}

/** Encodes a whole message, uncompressed. */
export function encodeMessage(msg: DnsMessageInput): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(msg.id & 0xffff, 0);
  let flags = 0;
  if (msg.response ?? true) flags |= 0x8000;
  flags |= ((msg.opcode ?? 0) & 0xf) << 11;
  if (msg.authoritative) flags |= 0x0400;
  if (msg.truncated) flags |= 0x0200;
  if (msg.recursionDesired ?? true) flags |= 0x0100;
  if (msg.recursionAvailable ?? true) flags |= 0x0080;
  flags |= (msg.rcode ?? 0) & 0xf;
  header.writeUInt16BE(flags, 2);
  const questions = msg.questions ?? [];
  const sections = [msg.answers ?? [], msg.authorities ?? [], msg.additionals ?? []];
  header.writeUInt16BE(questions.length, 4);
  sections.forEach((s, i) => header.writeUInt16BE(s.length, 6 + i * 2));
  const parts: Buffer[] = [header];
  for (const q of questions) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(typeNumber(q.type), 0);
    tail.writeUInt16BE(q.class ?? CLASS_IN, 2);
    parts.push(encodeName(q.name), tail);
  }
  for (const section of sections) for (const r of section) parts.push(encodeRecord(r));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// Decoding

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  /** "A", "AAAA", "CNAME", ... or "TYPE<n>". */
  typeName: string;
  class: number;
  ttl: number;
  /** The address (A/AAAA) or target name (CNAME, NS, PTR); null for other types. */
  value: string | null;
  rdata: Buffer;
}

export interface DnsMessage {
  id: number;
  /** QR: true for a response. */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  /** TC: the server cut the message to fit in UDP. */
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  rcodeName: string;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  /** True when TC was set and the sections ended early; what was complete is kept. */
  partial: boolean;
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public offset = 0,
  ) {}

  need(n: number, what: string): void {
    if (this.offset + n > this.buf.length) {
      throw new DnsDecodeError(`message ends inside ${what} (offset ${this.offset}, need ${n}, length ${this.buf.length})`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.offset++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
}

function labelText(bytes: Buffer): string {
  // Escape what would make the name ambiguous or unprintable, as dig does.
  let out = '';
  for (const b of bytes) {
    if (b === 0x2e || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\' + b.toString().padStart(3, '0');
  }
  return out;
}

/**
 * Reads a possibly compressed name starting at `start`. Returns the name
 * (without the trailing dot; "." for the root) and the offset just after
 * the name's bytes at `start`. `end` bounds the uncompressed part (for names
 * inside RDATA).
 */
function readName(buf: Buffer, start: number, end = buf.length): { name: string; next: number } {
  const labels: string[] = [];
  let offset = start;
  let next = -1; // where reading continues once the first pointer is followed
  let jumps = 0;
  let wireLength = 1;
  for (;;) {
    const limit = next === -1 ? end : buf.length;
    if (offset >= limit) throw new DnsDecodeError(`name runs past the end (offset ${offset})`);
    const len = buf[offset]!;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (offset + 1 >= limit) throw new DnsDecodeError(`compression pointer cut short at offset ${offset}`);
      const target = ((len & 0x3f) << 8) | buf[offset + 1]!;
      if (next === -1) next = offset + 2;
      if (++jumps > MAX_POINTER_JUMPS) throw new DnsDecodeError('compression pointer loop');
      if (target >= buf.length) throw new DnsDecodeError(`compression pointer to ${target}, past the end`);
      offset = target;
      continue;
    }
    if (kind !== 0) throw new DnsDecodeError(`unsupported label type 0x${kind.toString(16)} at offset ${offset}`);
    if (len === 0) {
      if (next === -1) next = offset + 1;
      break;
    }
    if (offset + 1 + len > limit) throw new DnsDecodeError(`label runs past the end (offset ${offset})`);
    wireLength += len + 1;
    if (wireLength > MAX_NAME_LENGTH) throw new DnsDecodeError('name longer than 255 bytes');
    labels.push(labelText(buf.subarray(offset + 1, offset + 1 + len)));
    offset += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), next };
}

function formatIpv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // The longest run (of 2 or more) of zero groups becomes "::" (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function readRecord(r: Reader): DnsRecord {
  const { name, next } = readName(r.buf, r.offset);
  r.offset = next;
  const type = r.u16('record type');
  const klass = r.u16('record class');
  const ttl = r.u32('record ttl');
  const rdlength = r.u16('rdlength');
  const rdataStart = r.offset;
  const rdata = r.bytes(rdlength, 'rdata');
  let value: string | null = null;
  if (type === RR_TYPE.A && klass === CLASS_IN) {
    if (rdlength !== 4) throw new DnsDecodeError(`A record with ${rdlength} bytes of data`);
    value = Array.from(rdata).join('.');
  } else if (type === RR_TYPE.AAAA && klass === CLASS_IN) {
    if (rdlength !== 16) throw new DnsDecodeError(`AAAA record with ${rdlength} bytes of data`);
    value = formatIpv6(rdata);
  } else if (type === RR_TYPE.CNAME || type === RR_TYPE.NS || type === RR_TYPE.PTR) {
    const target = readName(r.buf, rdataStart, rdataStart + rdlength);
    if (target.next !== rdataStart + rdlength) throw new DnsDecodeError(`${typeName(type)} data length does not match its name`);
    value = target.name;
  }
  return { name, type, typeName: typeName(type), class: klass, ttl, value, rdata };
}

/** Decodes a DNS message. Anything malformed throws DnsDecodeError; nothing else escapes. */
export function decodeMessage(input: Uint8Array): DnsMessage {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  try {
    return decode(buf);
  } catch (err) {
    if (err instanceof DnsDecodeError) throw err;
    // A reader bug must not leak a RangeError to the probe: say what it was.
    throw new DnsDecodeError(`malformed message (${err instanceof Error ? err.message : String(err)})`);
  }
}

function decode(buf: Buffer): DnsMessage {
  if (buf.length < HEADER_LENGTH) throw new DnsDecodeError(`message shorter than a header (${buf.length} bytes)`);
  const r = new Reader(buf);
  const id = r.u16('header');
  const flags = r.u16('header');
  const counts = [r.u16('header'), r.u16('header'), r.u16('header'), r.u16('header')] as const;
  const rcode = flags & 0xf;
  const msg: DnsMessage = {
    id,
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode,
    rcodeName: rcodeName(rcode),
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    partial: false,
  };
  try {
    for (let i = 0; i < counts[0]; i++) {
      const { name, next } = readName(buf, r.offset);
      r.offset = next;
      msg.questions.push({ name, type: r.u16('question type'), class: r.u16('question class') });
    }
    const sections = [msg.answers, msg.authorities, msg.additionals];
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < counts[s + 1]!; i++) sections[s]!.push(readRecord(r));
    }
  } catch (err) {
    // A truncated (TC) message may legally stop early: keep what was whole.
    if (msg.truncated && err instanceof DnsDecodeError && /ends inside|runs past|cut short/.test(err.message)) {
      msg.partial = true;
      return msg;
    }
    throw err;
  }
  return msg;
}
