// What the circumvention probes (tor, openvpn, wireguard) share: the record
// of one endpoint's handshake, a request/answer exchange over a stream or a
// UDP socket, and the comparison connection to the same host on TCP/TLS 443
// that lets the judge say "the protocol gets no answer while plain TLS to the
// same host passes".
//
// The comparison runs BEFORE the protocol's handshake: a censor that reacts
// to a protocol by blocking the address for a while (residual censorship)
// must not spoil it.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DeadlineError, FAILURE } from './failure.js';
import { connectTcp, elapsedMs, failureOf, firstAddress, now, tlsHandshake } from './net.js';
import type { Failure, ProbeInput } from './types.js';

/** The protocol an endpoint speaks, as the evidence names it. */
export type EndpointProtocol = 'tor' | 'tor_dir' | 'obfs4' | 'openvpn' | 'wireguard';

export interface StepResult {
  failure: Failure;
  /** Milliseconds the step took when it succeeded. */
  ms: number | null;
}

export interface ComparisonResult {
  port: number;
  tcp: StepResult;
  /** TLS over that connection (no SNI for an IP, else the host's name; any certificate accepted); null when TCP failed. */
  tls: StepResult | null;
}

export interface HandshakeStep {
  /** The protocol's first message went out. */
  sent: boolean;
  /** A well-formed answer of the protocol came back. */
  answered: boolean;
  /** Bytes came back that are not the protocol's answer (another server, or a middlebox). */
  unexpected_reply: boolean;
  failure: Failure;
  /** From the first byte sent to the answer. */
  response_ms: number | null;
  bytes_sent: number;
  bytes_received: number;
}

/** The details every circumvention probe records. */
export interface EndpointDetails {
  protocol: EndpointProtocol;
  transport: 'tcp' | 'udp';
  /** The input as given, without secrets (a wireguard clientkey is dropped). */
  endpoint: string;
  ip: string | null;
  port: number;
  /** The TCP connect to the endpoint; null over UDP, or when the address could not be resolved. */
  connect: StepResult | null;
  /** The TLS handshake with the endpoint, for a protocol carried in TLS (Tor's OR port); else null. */
  tls: (StepResult & { tls_version: string | null }) | null;
  handshake: HandshakeStep | null;
  /** What the answer said, protocol by protocol (versions, opcodes, certificates, status). */
  response: Record<string, unknown> | null;
  /** TCP (and TLS) to the same host on port 443, before the handshake; null when the endpoint itself is TCP 443. */
  comparison: ComparisonResult | null;
  /** wireguard: the initiator's static key was configured as known to the server (clientkey=). */
  known_peer?: boolean;
}

export function newHandshake(): HandshakeStep {
  return { sent: false, answered: false, unexpected_reply: false, failure: null, response_ms: null, bytes_sent: 0, bytes_received: 0 };
}

/** The details of one endpoint before anything was measured. */
export function newEndpointDetails(protocol: EndpointProtocol, transport: 'tcp' | 'udp', endpoint: string, port: number): EndpointDetails {
  return { protocol, transport, endpoint, ip: null, port, connect: null, tls: null, handshake: null, response: null, comparison: null };
}

/**
 * The first step of every circumvention probe: resolve the endpoint's host, then TCP (and TLS) to port 443
 * of the same host, before the protocol's own handshake can set off a block. The resolve failure, or null.
 */
export async function resolveAndCompare(details: EndpointDetails, input: ProbeInput, host: string, timeoutMs: number, signal: AbortSignal): Promise<Failure> {
  try {
    details.ip = await firstAddress(input, host, signal);
  } catch (err) {
    return failureOf(err, signal);
  }
  const compare = comparisonPort(details.transport, details.port);
  if (compare !== null) details.comparison = await compareTcpTls(details.ip, host, compare, timeoutMs, signal);
  return null;
}

/** A UDP handshake's step, from its exchange. */
export function udpHandshake(exchange: UdpExchange): HandshakeStep {
  return {
    sent: exchange.bytes_sent > 0,
    answered: exchange.answer !== null,
    unexpected_reply: exchange.answer === null && exchange.ignored > 0,
    failure: exchange.failure,
    response_ms: exchange.ms,
    bytes_sent: exchange.bytes_sent,
    bytes_received: exchange.bytes_received,
  };
}

/** TCP, then TLS, to host:port; recorded, never thrown. */
export async function compareTcpTls(ip: string, serverName: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ComparisonResult> {
  const t0 = now();
  let socket: Socket;
  try {
    socket = await connectTcp(ip, port, signal, timeoutMs);
  } catch (err) {
    return { port, tcp: { failure: failureOf(err, signal), ms: null }, tls: null };
  }
  const tcp: StepResult = { failure: null, ms: elapsedMs(t0) };
  const t1 = now();
  try {
    const tls = await tlsHandshake(socket, { servername: isIP(serverName) ? undefined : serverName, rejectUnauthorized: false }, signal, timeoutMs);
    tls.destroy();
    return { port, tcp, tls: { failure: null, ms: elapsedMs(t1) } };
  } catch (err) {
    return { port, tcp, tls: { failure: failureOf(err, signal), ms: null } };
  }
}

/**
 * Reads from a connected stream until `complete` says the collected bytes
 * hold a whole answer (or `timeoutMs` passes, or the peer closes). Resolves
 * with what arrived; `failure` is null only when `complete` was satisfied.
 */
export function readAnswer(socket: Socket | TLSSocket, complete: (received: Buffer) => boolean, timeoutMs: number, signal: AbortSignal): Promise<{ received: Buffer; failure: Failure; ms: number | null }> {
  const t0 = now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (failure: Failure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve({ received: Buffer.concat(chunks, length), failure, ms: failure === null ? elapsedMs(t0) : null });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (complete(Buffer.concat(chunks, length))) finish(null);
    };
    const onError = (err: Error) => finish(failureOf(err, signal));
    const onEnd = () => finish(FAILURE.eof);
    const onAbort = () => finish(failureOf(signal.reason, signal));
    const timer = setTimeout(() => finish(failureOf(new DeadlineError('read'), signal)), Math.max(0, timeoutMs));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface UdpExchange {
  /** The first datagram `accept` took, or null. */
  answer: Buffer | null;
  /** Datagrams that came back and were not accepted. */
  ignored: number;
  failure: Failure;
  ms: number | null;
  bytes_sent: number;
  bytes_received: number;
}

/**
 * Sends `packet` from a connected UDP socket, again after each `resendMs`
 * (UDP may lose it), and waits up to `timeoutMs` in all for a datagram that
 * `accept` takes. An ICMP port unreachable surfaces as connection_refused.
 */
export function exchangeUdp(ip: string, port: number, packet: Buffer, accept: (datagram: Buffer) => boolean, timeoutMs: number, signal: AbortSignal, resendMs = 1000): Promise<UdpExchange> {
  const t0 = now();
  return new Promise((resolve) => {
    const result: UdpExchange = { answer: null, ignored: 0, failure: null, ms: null, bytes_sent: 0, bytes_received: 0 };
    const socket: UdpSocket = createSocket(isIP(ip) === 6 ? 'udp6' : 'udp4');
    let settled = false;
    let resend: NodeJS.Timeout | null = null;
    const finish = (failure: Failure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (resend) clearInterval(resend);
      signal.removeEventListener('abort', onAbort);
      result.failure = failure;
      result.ms = failure === null ? elapsedMs(t0) : null;
      socket.close();
      resolve(result);
    };
    const send = () => {
      if (settled) return;
      socket.send(packet, (err) => {
        if (err) finish(failureOf(err, signal));
        else result.bytes_sent += packet.length;
      });
    };
    const onAbort = () => finish(failureOf(signal.reason, signal));
    const timer = setTimeout(() => finish(failureOf(new DeadlineError('read'), signal)), Math.max(0, timeoutMs));
    socket.on('error', (err) => finish(failureOf(err, signal)));
    socket.on('message', (datagram) => {
      result.bytes_received += datagram.length;
      if (accept(datagram)) {
        result.answer = datagram;
        finish(null);
      } else {
        result.ignored++;
      }
    });
    socket.connect(port, ip, () => {
      send();
      resend = setInterval(send, Math.max(50, resendMs));
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The comparison's port: TCP/TLS 443, unless the endpoint itself is TCP 443 (then it is its own comparison). */
export function comparisonPort(transport: 'tcp' | 'udp', port: number): number | null {
  return transport === 'tcp' && port === 443 ? null : 443;
}
