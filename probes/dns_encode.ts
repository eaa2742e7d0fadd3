// DNS messages out: a recursive query for the probe, and whole messages for
// the test servers, the bench worlds and the control helper. Uncompressed.
import { isIPv4, isIPv6 } from 'node:net';
import { CLASS_IN, DnsEncodeError, HEADER_LENGTH, MAX_LABEL_LENGTH, MAX_NAME_LENGTH, RR_TYPE } from './dns_wire.js';

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
