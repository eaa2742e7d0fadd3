// tor: do Tor's endpoints answer in Tor's own protocols?
//   tor://host:port      an OR port (a relay, a directory authority, a vanilla bridge): TCP, TLS, then the
//                        link protocol's VERSIONS cell, and the responder's VERSIONS, CERTS, AUTH_CHALLENGE
//                        and NETINFO (tor_cells.ts); with ?fingerprint= the RSA identity is compared too.
//   tor+dir://host:port  a directory port: HTTP GET of the current consensus, the status and the first bytes.
//   obfs4://host:port    an obfs4 bridge: TCP, then the obfs4 client handshake (obfs4.ts), and whether a
//                        server holding the bridge line's cert answered.
// Each first connects TCP/TLS to the same host's port 443 (endpoint_io.ts) for comparison.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { newEndpointDetails, newHandshake, readAnswer, resolveAndCompare, type EndpointDetails, type EndpointProtocol } from './endpoint_io.js';
import { decodeObfs4Cert, parseEndpointUrl, type EndpointUrl } from './endpoint_url.js';
import { checkServerHandshake, clientHandshake, serverHandshakeDone } from './obfs4.js';
import { connectTcp, elapsedMs, failureOf, hostPort, now, ProbeClock, ProbeInputError, tlsHandshake } from './net.js';
import { linkAnswerComplete, parseLinkAnswer, versionsCell } from './tor_cells.js';
import type { Failure, Operation, Probe, ProbeInput, ProbeResult } from './types.js';

declare module './types.js' {
  interface DetailsByKind {
    tor: EndpointDetails;
  }
}

export const CONSENSUS_PATH = '/tor/status-vote/current/consensus';
/** Body bytes of a directory answer read at most: enough to tell a consensus from a blockpage. */
const DIR_BODY_BYTES = 4096;

const PROTOCOL: Record<string, EndpointProtocol> = { tor: 'tor', 'tor+dir': 'tor_dir', obfs4: 'obfs4' };

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<EndpointDetails>> {
  const clock = new ProbeClock();
  const endpoint = parseEndpointUrl(input.url, ['tor', 'tor+dir', 'obfs4']);
  const { timeoutMs } = input.options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ProbeInputError('tor: timeoutMs must be positive');
  const cert = endpoint.scheme === 'obfs4' ? decodeObfs4Cert(endpoint.params.get('cert') ?? '') : null;
  if (endpoint.scheme === 'obfs4' && !cert) throw new ProbeInputError('tor: the obfs4 cert= is not 52 bytes of base64');

  const envelope = clock.envelope<EndpointDetails>('tor');
  const details = newEndpointDetails(PROTOCOL[endpoint.scheme]!, 'tcp', input.url, endpoint.port);
  const unresolved = await resolveAndCompare(details, input, endpoint.host, timeoutMs, signal);
  if (unresolved) return envelope(details, unresolved, 'resolve');
  const ip = details.ip!;

  const t0 = now();
  let socket: Socket;
  try {
    socket = await connectTcp(ip, endpoint.port, signal, timeoutMs);
  } catch (err) {
    details.connect = { failure: failureOf(err, signal), ms: null };
    return envelope(details, details.connect.failure, 'connect');
  }
  details.connect = { failure: null, ms: elapsedMs(t0) };
  let stream: Socket | TLSSocket = socket;
  try {
    if (endpoint.scheme === 'tor') {
      const t1 = now();
      try {
        // Tor's certificates are self-signed and name no host: the link handshake (CERTS) authenticates instead.
        stream = await tlsHandshake(socket, { rejectUnauthorized: false }, signal, timeoutMs);
        details.tls = { failure: null, ms: elapsedMs(t1), tls_version: (stream as TLSSocket).getProtocol() ?? null };
      } catch (err) {
        details.tls = { failure: failureOf(err, signal), ms: null, tls_version: null };
        return envelope(details, details.tls.failure, 'tls_handshake');
      }
      return envelope(details, ...(await orHandshake(stream as TLSSocket, endpoint, details, timeoutMs, signal)));
    }
    if (endpoint.scheme === 'tor+dir') return envelope(details, ...(await dirRequest(socket, endpoint, details, timeoutMs, signal)));
    return envelope(details, ...(await obfs4Handshake(socket, cert!, details, timeoutMs, signal)));
  } finally {
    stream.destroy();
    socket.destroy();
  }
}

type Outcome = [Failure, Operation | null];

async function orHandshake(tls: TLSSocket, endpoint: EndpointUrl, details: EndpointDetails, timeoutMs: number, signal: AbortSignal): Promise<Outcome> {
  const handshake = (details.handshake = newHandshake());
  const cell = versionsCell();
  tls.write(cell);
  handshake.sent = true;
  handshake.bytes_sent = cell.length;
  const answer = await readAnswer(tls, linkAnswerComplete, timeoutMs, signal);
  handshake.bytes_received = answer.received.length;
  const link = parseLinkAnswer(answer.received);
  handshake.answered = link.link_protocol !== null && !link.malformed;
  handshake.unexpected_reply = !handshake.answered && answer.received.length > 0;
  // The VERSIONS answer is the handshake's answer; the cells after it are recorded when they come in time.
  handshake.failure = handshake.answered ? null : (link.malformed ? 'unknown_failure: not a Tor VERSIONS cell' : answer.failure ?? 'unknown_failure: no common link protocol');
  handshake.response_ms = handshake.answered ? answer.ms : null;
  const expected = endpoint.params.get('fingerprint') ?? null;
  details.response = {
    ...link,
    ...(expected ? { fingerprint_expected: expected, fingerprint_matches: link.identity_fingerprint === expected } : {}),
  };
  return [handshake.failure, 'read'];
}

async function dirRequest(socket: Socket, endpoint: EndpointUrl, details: EndpointDetails, timeoutMs: number, signal: AbortSignal): Promise<Outcome> {
  const handshake = (details.handshake = newHandshake());
  const request = Buffer.from(`GET ${CONSENSUS_PATH} HTTP/1.0\r\nHost: ${hostPort(endpoint.host, endpoint.port)}\r\n\r\n`, 'latin1');
  socket.write(request);
  handshake.sent = true;
  handshake.bytes_sent = request.length;
  const enough = (received: Buffer) => {
    const end = received.indexOf('\r\n\r\n');
    return end !== -1 && received.length >= end + 4 + DIR_BODY_BYTES;
  };
  const answer = await readAnswer(socket, enough, timeoutMs, signal);
  handshake.bytes_received = answer.received.length;
  const response = parseDirResponse(answer.received);
  // HTTP/1.0: the server closes after the body, so an EOF after a whole status line is an answer.
  handshake.answered = response !== null;
  handshake.unexpected_reply = response === null && answer.received.length > 0;
  handshake.failure = handshake.answered ? null : (answer.failure ?? 'unknown_failure: not an HTTP response');
  handshake.response_ms = handshake.answered ? answer.ms : null;
  details.response = response;
  return [handshake.failure, 'http_round_trip'];
}

/** A directory's answer: its status, content type and what the body looks like; null when no status line came. */
export function parseDirResponse(bytes: Buffer): Record<string, unknown> | null {
  const text = bytes.toString('latin1');
  const status = /^HTTP\/1\.[01] ([0-9]{3}) ?([^\r\n]*)\r\n/.exec(text);
  if (!status) return null;
  const headerEnd = text.indexOf('\r\n\r\n');
  const headers = headerEnd === -1 ? text : text.slice(0, headerEnd);
  const contentType = /\r\ncontent-type: *([^\r\n]*)/i.exec(headers)?.[1] ?? null;
  const body = headerEnd === -1 ? '' : text.slice(headerEnd + 4);
  const start = body.trimStart().slice(0, 200);
  const looksLike = /^network-status-version /.test(start)
    ? 'consensus'
    : /^router /.test(start)
      ? 'descriptor'
      : /^<(!doctype|html|head|body)/i.test(start) || /text\/html/i.test(contentType ?? '')
        ? 'html'
        : 'other';
  return { status_code: Number(status[1]), reason: status[2]!.slice(0, 120), content_type: contentType, body_start: start.split('\n')[0]!.slice(0, 80), looks_like: looksLike };
}

async function obfs4Handshake(socket: Socket, cert: { nodeId: Buffer; publicKey: Buffer }, details: EndpointDetails, timeoutMs: number, signal: AbortSignal): Promise<Outcome> {
  const handshake = (details.handshake = newHandshake());
  const client = clientHandshake(cert.nodeId, cert.publicKey);
  socket.write(client.request);
  handshake.sent = true;
  handshake.bytes_sent = client.request.length;
  const answer = await readAnswer(socket, (received) => serverHandshakeDone(received, client), timeoutMs, signal);
  handshake.bytes_received = answer.received.length;
  const check = checkServerHandshake(answer.received, client);
  handshake.answered = check.verified;
  handshake.unexpected_reply = !check.verified && answer.received.length > 0;
  handshake.failure = check.verified ? null : (answer.failure ?? 'unknown_failure: not an obfs4 server handshake');
  handshake.response_ms = check.verified ? answer.ms : null;
  details.response = { mark_found: check.mark_offset !== null, mac_verified: check.verified, server_padding: check.mark_offset === null ? null : check.mark_offset - 64, auth_verified: false };
  return [handshake.failure, 'read'];
}

export const torProbe: Probe<EndpointDetails> = { kind: 'tor', run };
