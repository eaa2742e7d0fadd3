// A TLS ClientHello record built by hand, for the protocol probe: it must be
// sent as one well-formed first packet (0x16 0x03 0x01, record length
// matching the handshake) so that a protocol filter that reads the first
// packet sees real TLS (Bock et al., FOCI 2020). It
// offers what a current browser offers (TLS 1.3 and 1.2, an X25519 key
// share), so a real server answers it with a ServerHello.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

const CIPHER_SUITES = [
  0x1301, 0x1302, 0x1303, // TLS 1.3: AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305
  0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, // ECDHE with AEAD
  0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035, // older fallbacks
];
const GROUPS = [0x001d, 0x0017, 0x0018]; // x25519, secp256r1, secp384r1
const SIGNATURE_ALGORITHMS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** A vector with a 1- or 2-byte length prefix. */
function vec(lengthBytes: 1 | 2, body: Buffer): Buffer {
  return Buffer.concat([lengthBytes === 1 ? Buffer.from([body.length]) : u16(body.length), body]);
}

function list16(values: number[]): Buffer {
  return Buffer.concat(values.map(u16));
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vec(2, body)]);
}

/** The raw 32-byte public key of a fresh X25519 key pair (the private half is dropped: no handshake is finished). */
function x25519PublicKey(): Buffer {
  const der = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

/** True when `name` can go in the SNI extension: a DNS name, not an IP literal (RFC 6066 §3). */
export function isSniName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && isIP(name) === 0 && /^[A-Za-z0-9._-]+$/.test(name);
}

/**
 * A complete TLS ClientHello record. `serverName` goes in the SNI extension
 * unless it is null or an IP literal.
 */
export function buildClientHello(serverName: string | null): Buffer {
  const extensions: Buffer[] = [];
  if (serverName !== null && isSniName(serverName)) {
    const name = Buffer.from(serverName.toLowerCase(), 'ascii');
    extensions.push(extension(0x0000, vec(2, Buffer.concat([Buffer.from([0x00]), vec(2, name)]))));
  }
  extensions.push(
    extension(0x0017, Buffer.alloc(0)), // extended_master_secret
    extension(0xff01, Buffer.from([0x00])), // renegotiation_info
    extension(0x000a, vec(2, list16(GROUPS))), // supported_groups
    extension(0x000b, vec(1, Buffer.from([0x00]))), // ec_point_formats: uncompressed
    extension(0x0023, Buffer.alloc(0)), // session_ticket
    extension(0x0010, vec(2, Buffer.concat([vec(1, Buffer.from('h2')), vec(1, Buffer.from('http/1.1'))]))), // ALPN
    extension(0x000d, vec(2, list16(SIGNATURE_ALGORITHMS))), // signature_algorithms
    extension(0x0033, vec(2, Buffer.concat([u16(0x001d), vec(2, x25519PublicKey())]))), // key_share
    extension(0x002d, vec(1, Buffer.from([0x01]))), // psk_key_exchange_modes: psk_dhe_ke
    extension(0x002b, vec(1, list16([0x0304, 0x0303]))), // supported_versions
  );
  const hello = Buffer.concat([
    Buffer.from([0x03, 0x03]), // legacy_version TLS 1.2
    randomBytes(32), // random
    vec(1, randomBytes(32)), // legacy_session_id (middlebox compatibility mode)
    vec(2, list16(CIPHER_SUITES)),
    vec(1, Buffer.from([0x00])), // compression: null
    vec(2, Buffer.concat(extensions)),
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01]), u24(hello.length), hello]); // ClientHello
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(handshake.length), handshake]);
}
