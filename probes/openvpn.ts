// openvpn: does an OpenVPN server answer the first packet of a session? The
// probe sends P_CONTROL_HARD_RESET_CLIENT_V2 (OpenVPN's reliability layer,
// openvpn/src/openvpn/ssl_pkt.h and the protocol notes in ssl.h), over UDP
// as one datagram or over TCP behind the 2-byte length prefix, and waits for
// P_CONTROL_HARD_RESET_SERVER_V2. The packet:
//
//   opcode 7 << 3 | key id 0 (1 byte), session id (8 random bytes),
//   packet-id array length 0 (1 byte), message packet id 0 (4 bytes)
//
// A server with tls-auth or tls-crypt drops it unauthenticated (it needs the
// shared key), so only such a server's silence is no evidence of blocking.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { exchangeUdp, newEndpointDetails, newHandshake, readAnswer, resolveAndCompare, udpHandshake, type EndpointDetails } from './endpoint_io.js';
import { parseEndpointUrl } from './endpoint_url.js';
import { connectTcp, elapsedMs, failureOf, now, ProbeClock, ProbeInputError } from './net.js';
import type { Probe, ProbeInput, ProbeResult } from './types.js';

declare module './types.js' {
  interface DetailsByKind {
    openvpn: EndpointDetails;
  }
}

export const P_CONTROL_HARD_RESET_CLIENT_V2 = 7;
export const P_CONTROL_HARD_RESET_SERVER_V2 = 8;
const OPCODE_NAMES: Record<number, string> = {
  1: 'P_CONTROL_HARD_RESET_CLIENT_V1',
  2: 'P_CONTROL_HARD_RESET_SERVER_V1',
  3: 'P_CONTROL_SOFT_RESET_V1',
  4: 'P_CONTROL_V1',
  5: 'P_ACK_V1',
  6: 'P_DATA_V1',
  7: 'P_CONTROL_HARD_RESET_CLIENT_V2',
  8: 'P_CONTROL_HARD_RESET_SERVER_V2',
  9: 'P_DATA_V2',
  10: 'P_CONTROL_HARD_RESET_CLIENT_V3',
  11: 'P_CONTROL_WKC_V1',
};

/** The client's first packet, without the TCP length prefix. */
export function hardResetClient(sessionId: Buffer): Buffer {
  if (sessionId.length !== 8) throw new RangeError('an OpenVPN session id is 8 bytes');
  const packet = Buffer.alloc(14);
  packet[0] = P_CONTROL_HARD_RESET_CLIENT_V2 << 3; // key id 0
  sessionId.copy(packet, 1);
  packet[9] = 0; // no packet ids acknowledged
  packet.writeUInt32BE(0, 10); // message packet id
  return packet;
}

export interface OpenVpnReply {
  opcode: number;
  opcode_name: string;
  key_id: number;
  /** The reply acknowledges packet 0 of our session id. */
  acks_client_session: boolean;
  length: number;
}

/** Reads one OpenVPN packet (without a length prefix); null when it is too short to be one. */
export function parseReply(packet: Buffer, clientSession: Buffer): OpenVpnReply | null {
  if (packet.length < 10) return null;
  const opcode = packet[0]! >> 3;
  const acks = packet[9]!;
  let acksClient = false;
  if (acks > 0 && packet.length >= 10 + 4 * acks + 8) {
    const ids = Array.from({ length: acks }, (_, i) => packet.readUInt32BE(10 + 4 * i));
    acksClient = ids.includes(0) && packet.subarray(10 + 4 * acks, 18 + 4 * acks).equals(clientSession);
  }
  return { opcode, opcode_name: OPCODE_NAMES[opcode] ?? `unknown(${opcode})`, key_id: packet[0]! & 7, acks_client_session: acksClient, length: packet.length };
}

/** A whole length-prefixed packet has arrived on the TCP stream. */
function framed(received: Buffer): boolean {
  return received.length >= 2 && received.length >= 2 + received.readUInt16BE(0);
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<EndpointDetails>> {
  const clock = new ProbeClock();
  const endpoint = parseEndpointUrl(input.url, ['openvpn+udp', 'openvpn+tcp']);
  const { timeoutMs } = input.options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ProbeInputError('openvpn: timeoutMs must be positive');
  const transport = endpoint.scheme === 'openvpn+udp' ? 'udp' : 'tcp';
  const envelope = clock.envelope<EndpointDetails>('openvpn');
  const details = newEndpointDetails('openvpn', transport, input.url, endpoint.port);
  const unresolved = await resolveAndCompare(details, input, endpoint.host, timeoutMs, signal);
  if (unresolved) return envelope(details, unresolved, 'resolve');
  const ip = details.ip!;

  const session = randomBytes(8);
  const packet = hardResetClient(session);
  const handshake = (details.handshake = newHandshake());
  const accept = (reply: Buffer | null) => {
    const parsed = reply && parseReply(reply, session);
    if (parsed) details.response = { ...parsed };
    return !!parsed && parsed.opcode === P_CONTROL_HARD_RESET_SERVER_V2;
  };

  if (transport === 'udp') {
    const exchange = await exchangeUdp(ip, endpoint.port, packet, accept, timeoutMs, signal);
    Object.assign(handshake, udpHandshake(exchange));
    return envelope(details, handshake.failure, 'read');
  }

  const t0 = now();
  let socket: Socket;
  try {
    socket = await connectTcp(ip, endpoint.port, signal, timeoutMs);
  } catch (err) {
    details.connect = { failure: failureOf(err, signal), ms: null };
    details.handshake = null;
    return envelope(details, details.connect.failure, 'connect');
  }
  details.connect = { failure: null, ms: elapsedMs(t0) };
  try {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(packet.length);
    socket.write(Buffer.concat([prefix, packet]));
    handshake.sent = true;
    handshake.bytes_sent = packet.length + 2;
    const answer = await readAnswer(socket, framed, timeoutMs, signal);
    handshake.bytes_received = answer.received.length;
    const reply = framed(answer.received) ? answer.received.subarray(2, 2 + answer.received.readUInt16BE(0)) : null;
    handshake.answered = accept(reply);
    handshake.unexpected_reply = !handshake.answered && answer.received.length > 0;
    handshake.failure = handshake.answered ? null : (answer.failure ?? 'unknown_failure: not an OpenVPN server reset');
    handshake.response_ms = handshake.answered ? answer.ms : null;
  } finally {
    socket.destroy();
  }
  return envelope(details, handshake.failure, 'read');
}

export const openvpnProbe: Probe<EndpointDetails> = { kind: 'openvpn', run };
