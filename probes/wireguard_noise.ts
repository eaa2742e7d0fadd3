// WireGuard's handshake (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s), from the
// WireGuard paper (Donenfeld, NDSS 2017, section 5.4): the initiator's
// message (type 1, 148 bytes) and the check of the responder's (type 2,
// 92 bytes). X25519 and ChaCha20-Poly1305 are Node's; BLAKE2s, its HMAC and
// the KDF are ./blake2s.ts. The pre-shared key is the all-zero default.
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { blake2s, hmacBlake2s } from './blake2s.js';

const CONSTRUCTION = Buffer.from('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
const IDENTIFIER = Buffer.from('WireGuard v1 zx2c4 Jason@zx2c4.com');
const LABEL_MAC1 = Buffer.from('mac1----');
// DER prefixes of a raw X25519 key (RFC 8410): PKCS#8 private, SubjectPublicKeyInfo public.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
/** TAI64 label of the Unix epoch (2^62 + 10 leap seconds), as WireGuard writes its timestamps. */
const TAI64_EPOCH = 0x400000000000000an;

export const INITIATION_LENGTH = 148;
export const RESPONSE_LENGTH = 92;
export const COOKIE_REPLY_LENGTH = 64;

export interface X25519Pair {
  privateKey: Buffer;
  publicKey: Buffer;
}

export function privateKeyObject(raw: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
}

export function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
}

/** The raw public key of a raw private key. */
export function publicKeyOf(privateKey: Buffer): Buffer {
  return createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);
}

export function generatePair(): X25519Pair {
  const { privateKey } = generateKeyPairSync('x25519');
  const raw = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_X25519.length);
  return { privateKey: Buffer.from(raw), publicKey: publicKeyOf(Buffer.from(raw)) };
}

export function dh(privateKey: Buffer, publicKey: Buffer): Buffer {
  return diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) });
}

const hash = (...parts: Uint8Array[]) => blake2s(parts);

/** The Noise KDF: n keys from the chaining key and input. */
export function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Buffer[] {
  const t0 = hmacBlake2s(key, input);
  const out: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(0);
  for (let i = 1; i <= n; i++) {
    previous = hmacBlake2s(t0, previous, Uint8Array.of(i));
    out.push(previous);
  }
  return out;
}

function nonce(counter: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32LE(counter, 4);
  return n;
}

export function aeadSeal(key: Buffer, counter: number, plaintext: Buffer, aad: Buffer): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or null when the tag does not verify. */
export function aeadOpen(key: Buffer, counter: number, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < 16) return null;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: 16 });
  decipher.setAAD(aad, { plaintextLength: sealed.length - 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return null;
  }
}

/** mac1 of a message: keyed BLAKE2s-128 over the bytes before it, keyed with HASH("mac1----" || receiver's public key). */
export function mac1(receiverPublicKey: Buffer, messageBeforeMacs: Buffer): Buffer {
  return blake2s([messageBeforeMacs], 16, hash(LABEL_MAC1, receiverPublicKey));
}

/** TAI64N of a time: 8 bytes of seconds since the TAI64 epoch, 4 of nanoseconds, big-endian. */
export function tai64n(ms: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeBigUInt64BE(TAI64_EPOCH + BigInt(Math.floor(ms / 1000)));
  out.writeUInt32BE((ms % 1000) * 1_000_000, 8);
  return out;
}

/** What the initiator keeps to check the response. */
export interface InitiatorState {
  senderIndex: number;
  chainingKey: Buffer;
  hash: Buffer;
  ephemeral: X25519Pair;
  static: X25519Pair;
}

/** The handshake initiation (type 1, 148 bytes) from `initiatorStatic` to the responder's public key. */
export function buildInitiation(responderPublic: Buffer, initiatorStatic: X25519Pair, nowMs = Date.now()): { message: Buffer; state: InitiatorState } {
  const ephemeral = generatePair();
  const senderIndex = randomBytes(4).readUInt32LE(0);
  let c = hash(CONSTRUCTION);
  let h = hash(c, IDENTIFIER);
  h = hash(h, responderPublic);
  [c] = kdf(1, c, ephemeral.publicKey) as [Buffer];
  h = hash(h, ephemeral.publicKey);
  let k: Buffer;
  [c, k] = kdf(2, c, dh(ephemeral.privateKey, responderPublic)) as [Buffer, Buffer];
  const encryptedStatic = aeadSeal(k, 0, initiatorStatic.publicKey, h);
  h = hash(h, encryptedStatic);
  [c, k] = kdf(2, c, dh(initiatorStatic.privateKey, responderPublic)) as [Buffer, Buffer];
  const encryptedTimestamp = aeadSeal(k, 0, tai64n(nowMs), h);
  h = hash(h, encryptedTimestamp);

  const message = Buffer.alloc(INITIATION_LENGTH);
  message[0] = 1; // type; three reserved zero bytes follow
  message.writeUInt32LE(senderIndex, 4);
  ephemeral.publicKey.copy(message, 8);
  encryptedStatic.copy(message, 40);
  encryptedTimestamp.copy(message, 88);
  mac1(responderPublic, message.subarray(0, 116)).copy(message, 116);
  // mac2 stays zero: it is only asked for (with a cookie) when the responder is under load.
  return { message, state: { senderIndex, chainingKey: c, hash: h, ephemeral, static: initiatorStatic } };
}

export interface ResponseCheck {
  type: number;
  length: number;
  /** The response names our sender index as its receiver. */
  receiver_matches: boolean;
  /** mac1 verifies with our static public key. */
  mac1_valid: boolean;
  /** The empty payload decrypts: the responder holds the private key of the configured public key. */
  authenticated: boolean;
}

/** Checks a datagram against the initiation; null when it is no handshake response or cookie reply to it. */
export function checkResponse(datagram: Buffer, state: InitiatorState): ResponseCheck | null {
  if (datagram.length < 8) return null;
  const type = datagram[0]!;
  const receiver = datagram.readUInt32LE(4);
  if (type === 3 && datagram.length === COOKIE_REPLY_LENGTH) {
    // Cookie reply: the responder is alive but under load; its receiver index is at offset 4.
    return { type, length: datagram.length, receiver_matches: receiver === state.senderIndex, mac1_valid: false, authenticated: false };
  }
  if (type !== 2 || datagram.length !== RESPONSE_LENGTH) return null;
  const receiverIndex = datagram.readUInt32LE(8);
  const ephemeral = datagram.subarray(12, 44);
  const encryptedNothing = datagram.subarray(44, 60);
  const macValid = mac1(state.static.publicKey, datagram.subarray(0, 60)).equals(datagram.subarray(60, 76));
  let c = kdf(1, state.chainingKey, ephemeral)[0]!;
  let h = hash(state.hash, ephemeral);
  let authenticated = false;
  try {
    c = kdf(1, c, dh(state.ephemeral.privateKey, ephemeral))[0]!;
    c = kdf(1, c, dh(state.static.privateKey, ephemeral))[0]!;
    const [, tau, k] = kdf(3, c, Buffer.alloc(32)) as [Buffer, Buffer, Buffer];
    h = hash(h, tau);
    authenticated = aeadOpen(k, 0, encryptedNothing, h)?.length === 0;
  } catch {
    authenticated = false; // a low-order point: X25519 refuses it
  }
  return { type, length: datagram.length, receiver_matches: receiverIndex === state.senderIndex, mac1_valid: macValid, authenticated };
}
