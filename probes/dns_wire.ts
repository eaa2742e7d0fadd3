// The DNS wire format's shared names (RFC 1035, RFC 3596): record types,
// classes, response codes, the size limits, and the two errors the encoder
// (dns_encode.ts) and the decoder (dns_codec.ts) throw.

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

export const HEADER_LENGTH = 12;
export const MAX_NAME_LENGTH = 255; // wire bytes, including the root label
export const MAX_LABEL_LENGTH = 63;
