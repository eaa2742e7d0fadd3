// A small DNS wire codec (RFC 1035, RFC 3596): queries out (dns_encode.ts),
// messages in (here). The decoder reads what censors and broken servers
// send, so it trusts nothing: every read is bounds-checked, name compression
// pointers are counted (a loop ends in an error, not a hang), and every
// malformed input becomes a DnsDecodeError.
import { CLASS_IN, DnsDecodeError, HEADER_LENGTH, MAX_NAME_LENGTH, RR_TYPE, rcodeName, typeName } from './dns_wire.js';

export * from './dns_wire.js';
export * from './dns_encode.js';

// A name has at most 127 labels, so a legitimate name never needs more
// pointer jumps than that; more means a loop.
const MAX_POINTER_JUMPS = 127;

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
