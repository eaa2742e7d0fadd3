// Tor's link protocol cells, as far as the probe needs them (tor-spec.txt,
// sections 3 and 4): the client's VERSIONS cell, and the responder's
// VERSIONS, CERTS, AUTH_CHALLENGE and NETINFO cells that follow it.
//
// VERSIONS cells always use a 2-byte circuit id; after them, link protocol
// 4 and later use 4-byte ids. Variable-length cells (VERSIONS, and commands
// 128 and up) carry a 2-byte length; fixed-length cells a 509-byte payload.
import { createHash, X509Certificate } from 'node:crypto';

export const CELL = { versions: 7, netinfo: 8, certs: 129, authChallenge: 130 } as const;
export const OFFERED_VERSIONS = [3, 4, 5] as const;
const FIXED_PAYLOAD = 509;

/** The client's VERSIONS cell: circuit id 0 (2 bytes), command 7, length, the versions as 2-byte values. */
export function versionsCell(versions: readonly number[] = OFFERED_VERSIONS): Buffer {
  const cell = Buffer.alloc(5 + 2 * versions.length);
  cell.writeUInt16BE(0, 0);
  cell[2] = CELL.versions;
  cell.writeUInt16BE(2 * versions.length, 3);
  versions.forEach((v, i) => cell.writeUInt16BE(v, 5 + 2 * i));
  return cell;
}

export interface TorCert {
  /** 1: TLS link (X.509), 2: RSA identity (X.509), 3: RSA authenticate, 4..7: Ed25519 certificates. */
  type: number;
  length: number;
}

export interface LinkAnswer {
  /** The versions the responder offered (null: no VERSIONS cell came). */
  versions: number[] | null;
  /** The highest version both sides offered; null when none. */
  link_protocol: number | null;
  certs: TorCert[] | null;
  /** SHA-1 of the RSA identity key (DER, PKCS#1), hex upper case: the relay's fingerprint. */
  identity_fingerprint: string | null;
  auth_challenge: boolean;
  netinfo: boolean;
  /** Commands of the cells read, in order. */
  commands: number[];
  /** The bytes do not parse as Tor cells. */
  malformed: boolean;
}

export function emptyAnswer(): LinkAnswer {
  return { versions: null, link_protocol: null, certs: null, identity_fingerprint: null, auth_challenge: false, netinfo: false, commands: [], malformed: false };
}

/** Reads the cells in `bytes` (the responder's stream so far). */
export function parseLinkAnswer(bytes: Buffer): LinkAnswer {
  const answer = emptyAnswer();
  let offset = 0;
  while (offset < bytes.length) {
    const circIdLength = answer.link_protocol !== null && answer.link_protocol >= 4 ? 4 : 2;
    if (bytes.length < offset + circIdLength + 1) break;
    const command = bytes[offset + circIdLength]!;
    if (answer.versions === null && command !== CELL.versions) {
      answer.malformed = true;
      break;
    }
    const variable = command === CELL.versions || command >= 128;
    let payload: Buffer;
    if (variable) {
      if (bytes.length < offset + circIdLength + 3) break;
      const length = bytes.readUInt16BE(offset + circIdLength + 1);
      const start = offset + circIdLength + 3;
      if (bytes.length < start + length) break;
      payload = bytes.subarray(start, start + length);
      offset = start + length;
    } else {
      const start = offset + circIdLength + 1;
      if (bytes.length < start + FIXED_PAYLOAD) break;
      payload = bytes.subarray(start, start + FIXED_PAYLOAD);
      offset = start + FIXED_PAYLOAD;
    }
    answer.commands.push(command);
    if (command === CELL.versions && answer.versions === null) {
      if (payload.length % 2 !== 0) {
        answer.malformed = true;
        break;
      }
      answer.versions = Array.from({ length: payload.length / 2 }, (_, i) => payload.readUInt16BE(2 * i));
      const common = answer.versions.filter((v) => (OFFERED_VERSIONS as readonly number[]).includes(v));
      answer.link_protocol = common.length > 0 ? Math.max(...common) : null;
      if (answer.link_protocol === null) break; // nothing more can be read without a common version
    } else if (command === CELL.certs) {
      answer.certs = [];
      readCerts(payload, answer);
    } else if (command === CELL.authChallenge) {
      answer.auth_challenge = true;
    } else if (command === CELL.netinfo) {
      answer.netinfo = true;
    }
  }
  return answer;
}

function readCerts(payload: Buffer, answer: LinkAnswer): void {
  const count = payload[0] ?? 0;
  let offset = 1;
  for (let i = 0; i < count && offset + 3 <= payload.length; i++) {
    const type = payload[offset]!;
    const length = payload.readUInt16BE(offset + 1);
    const body = payload.subarray(offset + 3, offset + 3 + length);
    offset += 3 + length;
    answer.certs!.push({ type, length });
    if (type === 2) answer.identity_fingerprint = rsaFingerprint(body);
  }
}

/** The fingerprint of the RSA identity certificate's key, or null when it does not parse. */
function rsaFingerprint(der: Buffer): string | null {
  try {
    const key = new X509Certificate(der).publicKey.export({ type: 'pkcs1', format: 'der' });
    return createHash('sha1').update(key).digest('hex').toUpperCase();
  } catch {
    return null;
  }
}

/** The responder's answer is complete: NETINFO came (it ends the responder's side of the link handshake). */
export function linkAnswerComplete(bytes: Buffer): boolean {
  const answer = parseLinkAnswer(bytes);
  return answer.netinfo || answer.malformed || (answer.versions !== null && answer.link_protocol === null);
}
