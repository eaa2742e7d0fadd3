// protocol: does the path drop flows that are not HTTP, TLS or DNS? Iran's
// protocol filter (2020) reads the first two data packets of a client flow on
// ports 53, 80 and 443; when neither looks like DNS, HTTP or TLS it drops the
// client's later packets (Bock
// et al., FOCI 2020). For each port the probe sends two flows, a few hundred
// ms apart packet by packet:
//   valid_first: an HTTP request in three writes, or one well-formed ClientHello;
//   junk_first:  random bytes, more random bytes, then "\r\n\r\n".
// Data flows later when bytes come back after the last write (an echo, an
// HTTP 400 at the line end, a ServerHello). The verdict reads junk_first
// dropped while valid_first flows as protocol.filtered.
import { randomBytes, randomInt } from 'node:crypto';
import { connect, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { buildClientHello } from './client_hello.js';
import { abortFailure, classifyError, DeadlineError, FAILURE } from './failure.js';
import { failureOf, firstAddress, parseProbeUrl, ProbeInputError, resultEnvelope } from './net.js';
import type { Failure, Operation, Probe, ProbeInput, ProbeResult, ProtocolDetails, ProtocolFlowResult } from './types.js';

/** Pause between the writes of a flow, so each is its own packet and the filter sees them apart. */
export const PACKET_GAP_MS = 300;

const HTTP_METHODS = ['GET ', 'POST ', 'HEAD ', 'PUT ', 'DELETE ', 'OPTIONS ', 'CONNECT '];

/** What the filter would take the first bytes of a packet for (Bock et al.'s rules), or null for none of them. */
export function classifyFirstBytes(packet: Buffer): 'http' | 'tls' | 'dns' | null {
  const head = packet.toString('latin1', 0, 8);
  if (HTTP_METHODS.some((m) => head.startsWith(m))) return 'http';
  if (packet.length >= 3 && packet[0] === 0x16 && packet[1] === 0x03 && packet[2]! >= 0x01 && packet[2]! <= 0x03) return 'tls';
  // DNS: a header with QR=0 (a query), as over UDP, or after a TCP length prefix.
  if (packet.length >= 12 && (packet[2]! & 0x80) === 0) return 'dns';
  if (packet.length >= 14 && ((packet[4]! & 0x80) === 0 || packet.readUInt16BE(0) === packet.length - 2)) return 'dns';
  return null;
}

/**
 * Random bytes that look like none of HTTP, TLS or DNS, and hold no CR or LF
 * (a line-reading server must not see a line end before the last write).
 */
export function junkPacket(): Buffer {
  for (let attempt = 0; ; attempt++) {
    const packet = randomBytes(randomInt(48, 97));
    for (let i = 0; i < packet.length; i++) if (packet[i] === 0x0a || packet[i] === 0x0d) packet[i]! ^= 0x80;
    if (attempt >= 64) {
      // Vanishingly unlikely; make it a DNS "response" with a mismatched length instead of looping on.
      packet[0] = 0xff;
      packet[2]! |= 0x80;
      packet[4]! |= 0x80;
    }
    if (classifyFirstBytes(packet) === null) return packet;
  }
}

interface PortPlan {
  port: number;
  valid: 'http' | 'tls';
}

interface ProtocolTarget {
  host: string;
  ports: PortPlan[];
}

function parseTarget(input: ProbeInput): ProtocolTarget {
  const target = parseProbeUrl(input.url); // throws ProbeInputError on an invalid input (tcp:// needs a port)
  const { host, port } = target;
  if (target.scheme === 'tcp') return { host, ports: [{ port, valid: port === 443 ? 'tls' : 'http' }] };
  // An explicit port is measured alone, with its scheme's protocol; otherwise both web ports.
  if (target.url.port !== '') return { host, ports: [{ port, valid: target.scheme === 'https' ? 'tls' : 'http' }] };
  return { host, ports: [{ port: 80, valid: 'http' }, { port: 443, valid: 'tls' }] };
}

function hostHeader(host: string, port: number): string {
  const name = isIP(host) === 6 ? `[${host}]` : host;
  return port === 80 ? name : `${name}:${port}`;
}

/** The writes of the valid flow: an HTTP request cut in three, or one ClientHello. */
function validWrites(plan: PortPlan, host: string, userAgent: string): Buffer[] {
  if (plan.valid === 'tls') return [buildClientHello(isIP(host) ? null : host)];
  return [
    Buffer.from('GET / HTTP/1.1\r\n', 'latin1'),
    Buffer.from(`Host: ${hostHeader(host, plan.port)}\r\nUser-Agent: ${userAgent}\r\n`, 'latin1'),
    Buffer.from('Accept: */*\r\nConnection: close\r\n\r\n', 'latin1'),
  ];
}

function junkWrites(): Buffer[] {
  return [junkPacket(), junkPacket(), Buffer.from('\r\n\r\n', 'latin1')];
}

// ---------------------------------------------------------------------------
// One flow: connect, write packet by packet, then wait for bytes that answer
// the last write. One socket, one timer at a time.

function runFlow(
  kind: ProtocolFlowResult['kind'],
  ip: string,
  port: number,
  writes: Buffer[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProtocolFlowResult> {
  return new Promise((resolve) => {
    const result: ProtocolFlowResult = {
      kind,
      ip,
      port,
      failure: null,
      later_data_flows: false,
      bytes_sent: 0,
      bytes_received: 0,
      failed_operation: null,
      writes_sent: 0,
      first_byte_after_write: null,
    };
    let connected = false;
    let writePending = false;
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    const arm = (ms: number, fn: () => void) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };

    const finish = (failure: Failure, operation: Operation | null) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      result.failure = failure;
      result.failed_operation = failure === null ? null : operation;
      socket.destroy();
      resolve(result);
    };
    const phaseOperation = (): Operation => (!connected ? 'connect' : writePending ? 'write' : 'read');
    const onAbort = () => finish(abortFailure(signal), phaseOperation());

    const socket: Socket = connect({ host: ip, port });
    socket.setNoDelay(true); // each write leaves as its own packet
    socket.on('error', (err) => finish(classifyError(err), phaseOperation()));
    socket.on('end', () => finish(FAILURE.eof, 'read'));
    socket.on('close', () => finish(FAILURE.eof, 'read'));
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      result.bytes_received += chunk.length;
      result.first_byte_after_write ??= result.writes_sent!;
      if (result.writes_sent === writes.length) {
        result.later_data_flows = true;
        finish(null, null);
      }
    });

    const writeNext = () => {
      const packet = writes[result.writes_sent!]!;
      writePending = true;
      socket.write(packet, (err) => {
        if (!err) writePending = false;
      });
      result.bytes_sent += packet.length;
      result.writes_sent!++;
      if (result.writes_sent! < writes.length) arm(PACKET_GAP_MS, writeNext);
      // Nothing came back within the timeout after the last write: the flow is dropped (or the peer is mute).
      else arm(timeoutMs, () => finish(FAILURE.timeout, 'read'));
    };
    socket.once('connect', () => {
      connected = true;
      writeNext();
    });
    arm(timeoutMs, () => finish(classifyError(new DeadlineError('connect')), 'connect'));

    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------


async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<ProtocolDetails>> {
  const startedAt = new Date();
  const t0 = performance.now();
  const target = parseTarget(input);
  const { timeoutMs, userAgent } = input.options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ProbeInputError('protocol: timeoutMs must be positive');

  const envelope = resultEnvelope<ProtocolDetails>('protocol', startedAt, t0);

  let ip: string;
  try {
    ip = await firstAddress(input, target.host, signal);
  } catch (err) {
    return envelope({ ip: null, flows: [] }, failureOf(err, signal), 'resolve');
  }

  // Ports in parallel; on one port the valid flow goes first, so that a
  // filter that remembers the client for a while cannot spoil it.
  const perPort = await Promise.all(
    target.ports.map(async (plan) => {
      const valid = await runFlow('valid_first', ip, plan.port, validWrites(plan, target.host, userAgent), timeoutMs, signal);
      const junk = await runFlow('junk_first', ip, plan.port, junkWrites(), timeoutMs, signal);
      return [valid, junk];
    }),
  );
  const flows = perPort.flat();
  const failed = flows.find((f) => f.failure !== null);
  return envelope({ ip, flows }, failed?.failure ?? null, failed?.failed_operation ?? null);
}

export const protocolProbe: Probe<ProtocolDetails> = { kind: 'protocol', run };
