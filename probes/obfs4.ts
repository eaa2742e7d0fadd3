// The obfs4 client handshake, as far as telling that an obfs4 bridge answered
// (obfs4-spec.txt, section 4, of the obfs4 pluggable transport): the client
// sends its ephemeral X25519 key as an Elligator2 representative, random
// padding, a mark and a MAC keyed with the bridge's cert (public key and node
// ID); a bridge that checks them answers with its own representative, AUTH,
// padding, its mark and its MAC, which the probe finds and verifies. AUTH
// (the ntor key agreement) is not verified, and no data is sent after: this
// says "an obfs4 server holding this cert answered", nothing more.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { generatePair } from './wireguard_noise.js';

const P = 2n ** 255n - 19n;
const A = 486662n;
const REPRESENTATIVE_LENGTH = 32;
const MARK_LENGTH = 16;
const MAC_LENGTH = 16;
/** The server's shortest answer: representative, AUTH, mark and MAC. */
export const SERVER_MIN_HANDSHAKE = 32 + 32 + MARK_LENGTH + MAC_LENGTH;
/** A client's padding is at least this long, so that its request is as long as the server's answer plus a seed frame. */
const CLIENT_MIN_PADDING = 77;
const MAX_HANDSHAKE = 8192;

const mod = (x: bigint) => ((x % P) + P) % P;
function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}
const inv = (x: bigint) => pow(x, P - 2n);
const isSquare = (x: bigint) => mod(x) === 0n || pow(x, (P - 1n) / 2n) === 1n;
const SQRT_M1 = pow(2n, (P - 1n) / 4n);
function sqrt(x: bigint): bigint {
  let r = pow(x, (P + 3n) / 8n);
  if (mod(r * r - x) !== 0n) r = mod(r * SQRT_M1);
  return r;
}
const toBig = (le: Buffer) => BigInt('0x' + Buffer.from(le).reverse().toString('hex'));
function toLe(x: bigint): Buffer {
  return Buffer.from(x.toString(16).padStart(64, '0'), 'hex').reverse();
}

/**
 * The Elligator2 representative of a Curve25519 public key u (non-square 2):
 * r = sqrt(-(u + A) / (2u)), the root in [0, (p-1)/2]; null when none exists
 * (about half of all keys).
 */
export function representative(publicKey: Buffer): Buffer | null {
  const u = toBig(publicKey);
  if (u === 0n || mod(u + A) === 0n) return null;
  const x = mod(-(u + A) * inv(2n * u));
  if (!isSquare(x)) return null;
  const r = sqrt(x);
  return toLe(r <= (P - 1n) / 2n ? r : P - r);
}

/** The public key a representative stands for (the Elligator2 map), as a bridge decodes it. */
export function publicKeyOfRepresentative(rep: Buffer): Buffer {
  const bytes = Buffer.from(rep);
  bytes[31]! &= 0x3f; // the two top bits carry no information
  const r = toBig(bytes);
  const w = mod(-A * inv(1n + 2n * r * r));
  const e = mod(w * w * w + A * w * w + w);
  return toLe(isSquare(e) ? w : mod(-w - A));
}

const hmac128 = (key: Buffer, ...parts: Buffer[]) => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, 16);
};

/** The hours since the Unix epoch, as the decimal string both sides MAC. */
export const epochHour = (ms = Date.now()) => String(Math.floor(ms / 3_600_000));

export interface Obfs4Client {
  request: Buffer;
  /** HMAC key: the bridge's public key, then its node ID. */
  macKey: Buffer;
  epochHour: string;
}

export function clientHandshake(nodeId: Buffer, bridgePublicKey: Buffer, nowMs = Date.now()): Obfs4Client {
  let rep: Buffer | null = null;
  while (rep === null) rep = representative(generatePair().publicKey);
  // The top two bits of a representative are random on the wire (newer obfs4) or zero (older); a server masks them.
  const macKey = Buffer.concat([bridgePublicKey, nodeId]);
  const padding = randomBytes(randomInt(CLIENT_MIN_PADDING, 1024));
  const mark = hmac128(macKey, rep);
  const hour = epochHour(nowMs);
  const mac = hmac128(macKey, rep, padding, mark, Buffer.from(hour));
  const request = Buffer.concat([rep, padding, mark, mac]);
  if (request.length > MAX_HANDSHAKE) throw new RangeError('obfs4 request too long');
  return { request, macKey, epochHour: hour };
}

export interface Obfs4Answer {
  /** The server's mark and MAC were found and verify. */
  verified: boolean;
  /** Where the server's mark starts (the length of representative, AUTH and padding). */
  mark_offset: number | null;
}

/** Looks for the server's mark and MAC in what arrived so far. */
export function checkServerHandshake(received: Buffer, client: Obfs4Client): Obfs4Answer {
  if (received.length < SERVER_MIN_HANDSHAKE) return { verified: false, mark_offset: null };
  const mark = hmac128(client.macKey, received.subarray(0, REPRESENTATIVE_LENGTH));
  const hours = [Number(client.epochHour), Number(client.epochHour) - 1, Number(client.epochHour) + 1].map(String);
  const last = Math.min(received.length, MAX_HANDSHAKE) - MARK_LENGTH - MAC_LENGTH;
  for (let offset = 64; offset <= last; offset++) {
    if (!received.subarray(offset, offset + MARK_LENGTH).equals(mark)) continue;
    const mac = received.subarray(offset + MARK_LENGTH, offset + MARK_LENGTH + MAC_LENGTH);
    const ok = hours.some((hour) => hmac128(client.macKey, received.subarray(0, offset + MARK_LENGTH), Buffer.from(hour)).equals(mac));
    return { verified: ok, mark_offset: offset };
  }
  return { verified: false, mark_offset: null };
}

/** Enough has arrived to decide: a found mark with its MAC, or more than a handshake can hold. */
export function serverHandshakeDone(received: Buffer, client: Obfs4Client): boolean {
  return checkServerHandshake(received, client).mark_offset !== null || received.length >= MAX_HANDSHAKE;
}
