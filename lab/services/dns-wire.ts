// The few pieces of the DNS wire format (RFC 1035) the lab needs: queries,
// A answers, rcodes. Malformed input throws DnsWireError; callers drop it.

export class DnsWireError extends Error {
  override name = 'DnsWireError';
}

export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, AAAA: 28, OPT: 41, ANY: 255 } as const;
export const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;

export interface Question {
  name: string;
  type: number;
  cls: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  cls: number;
  ttl: number;
  /** Dotted quad for A records, raw bytes as hex otherwise. */
  data: string;
}

export interface DnsMessage {
  id: number;
  qr: boolean;
  opcode: number;
  rcode: number;
  rd: boolean;
  questions: Question[];
  answers: ResourceRecord[];
}

function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1;
  for (let hops = 0; hops < 64; hops++) {
    if (pos >= buf.length) throw new DnsWireError('name runs past the message');
    const len = buf[pos]!;
    if (len === 0) {
      return { name: labels.join('.'), next: next === -1 ? pos + 1 : next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsWireError('truncated compression pointer');
      if (next === -1) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len > 63 || pos + 1 + len > buf.length) throw new DnsWireError('bad label length');
    labels.push(buf.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
  }
  throw new DnsWireError('too many labels or pointer loop');
}

export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  const parts = trimmed === '' ? [] : trimmed.split('.');
  const chunks: Buffer[] = [];
  for (const label of parts) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new DnsWireError(`bad label in ${JSON.stringify(name)}`);
    chunks.push(Buffer.from([bytes.length]), bytes);
  }
  chunks.push(Buffer.from([0]));
  return Buffer.concat(chunks);
}

export function parseMessage(buf: Buffer): DnsMessage {
  if (buf.length < 12) throw new DnsWireError('shorter than a DNS header');
  const flags = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  let pos = 12;
  const questions: Question[] = [];
  for (let i = 0; i < qdcount; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw new DnsWireError('truncated question');
    questions.push({ name, type: buf.readUInt16BE(next), cls: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const answers: ResourceRecord[] = [];
  for (let i = 0; i < ancount; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 10 > buf.length) throw new DnsWireError('truncated answer');
    const type = buf.readUInt16BE(next);
    const rdlen = buf.readUInt16BE(next + 8);
    const rdata = buf.subarray(next + 10, next + 10 + rdlen);
    if (rdata.length !== rdlen) throw new DnsWireError('truncated rdata');
    const data = type === QTYPE.A && rdlen === 4 ? [...rdata].join('.') : rdata.toString('hex');
    answers.push({ name, type, cls: buf.readUInt16BE(next + 2), ttl: buf.readUInt32BE(next + 4), data });
    pos = next + 10 + rdlen;
  }
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    rcode: flags & 0xf,
    questions,
    answers,
  };
}

export function buildQuery(id: number, name: string, type: number = QTYPE.A): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** An IPv6 address as its 16 bytes. */
function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? (addr.split('::') as [string, string]) : [addr, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

/**
 * An authoritative answer to `query` with the given rcode and address records
 * (A for dotted IPv4, AAAA for IPv6; the question is copied).
 */
export function buildResponse(query: DnsMessage, rcode: number, addresses: string[], ttl = 60): Buffer {
  const q = query.questions[0];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (query.rd ? 0x0100 : 0) | 0x0080 | (rcode & 0xf), 2); // QR AA RD? RA rcode
  header.writeUInt16BE(q ? 1 : 0, 4);
  header.writeUInt16BE(addresses.length, 6);
  const parts: Buffer[] = [header];
  if (q) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.cls, 2);
    parts.push(encodeName(q.name), tail);
  }
  for (const addr of addresses) {
    const v6 = addr.includes(':');
    const rdata = v6 ? ipv6Bytes(addr) : Buffer.from(addr.split('.').map((octet) => Number(octet) & 0xff));
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(v6 ? QTYPE.AAAA : QTYPE.A, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(rdata.length, 10);
    parts.push(rr, rdata);
  }
  return Buffer.concat(parts);
}

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}
