// What Iran's 2020 protocol filter lets through on ports 53/80/443 (Bock et
// al., FOCI 2020): a first data packet that starts like HTTP, like
// a TLS ClientHello whose record length matches, or like a DNS query.

const HTTP_METHODS = ['GET ', 'POST ', 'HEAD ', 'PUT ', 'DELETE ', 'OPTIONS ', 'CONNECT '].map((m) => Buffer.from(m, 'latin1'));

export function looksLikeHttp(data: Buffer): boolean {
  return HTTP_METHODS.some((m) => data.length >= m.length && data.subarray(0, m.length).equals(m));
}

/** 0x16 0x03 0x01..0x03, a ClientHello, and a record length that matches the handshake's. */
export function looksLikeTls(data: Buffer): boolean {
  if (data.length < 9) return false;
  if (data[0] !== 0x16 || data[1] !== 0x03 || data[2]! < 0x01 || data[2]! > 0x03) return false;
  if (data[5] !== 0x01) return false;
  const recordLength = data.readUInt16BE(3);
  const handshakeLength = (data[6]! << 16) | (data[7]! << 8) | data[8]!;
  return recordLength === handshakeLength + 4;
}

/** A query header: QR=0, opcode 0, one question, no answers or authorities. */
function looksLikeDnsHeader(data: Buffer, offset: number): boolean {
  if (data.length < offset + 12 + 5) return false;
  const flags = data.readUInt16BE(offset + 2);
  return (flags & 0x8000) === 0 && ((flags >> 11) & 0xf) === 0 &&
    data.readUInt16BE(offset + 4) === 1 && data.readUInt16BE(offset + 6) === 0 && data.readUInt16BE(offset + 8) === 0;
}

/** A DNS query, UDP-style at offset 0 or DNS-over-TCP with its 2-byte length prefix. */
export function looksLikeDns(data: Buffer): boolean {
  if (looksLikeDnsHeader(data, 0)) return true;
  return data.length >= 2 && data.readUInt16BE(0) >= 17 && looksLikeDnsHeader(data, 2);
}

export function isAllowedProtocol(data: Buffer): boolean {
  return looksLikeHttp(data) || looksLikeTls(data) || looksLikeDns(data);
}
