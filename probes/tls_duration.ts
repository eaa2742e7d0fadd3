// tls_duration: how long does a TLS session live? In Iran in 2013 TLS
// connections were cut about 60 s after they started while plain HTTP was
// left alone (../shared/FACTS.md, "The 60-second cut"); no OONI test sees
// that. The probe keeps one TLS session and one plain-HTTP session to the same
// IP busy with HTTP/1.1 keep-alive requests, and records when and how each
// one died. The cross-session agreement (cut_after_s) is the analysis's job.
//
// Cost matters: hundreds of sessions are held at once for minutes. A session
// owns one socket and one timer (the next thing due: a request, a silence
// deadline or the horizon); death is seen from the socket's own events, and
// response bodies are counted and dropped, never kept.
import { isIP, Socket, connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import { abortFailure, classifyError, DeadlineError, FAILURE, unknownFailure } from './failure.js';
import { failureOf, firstAddress, parseProbeUrl, ProbeInputError, resultEnvelope, sharedSecureContext } from './net.js';
import type { Failure, Operation, Probe, ProbeInput, ProbeResult, SessionEnd, SessionResult, TlsDurationDetails } from './types.js';

/** Where the sessions go: the URL's host, its TLS port and the request they repeat. */
interface SessionTarget {
  /** Host name (or IP literal) without brackets: SNI and Host header. */
  host: string;
  tlsPort: number;
  plainPort: number;
  path: string;
}

function parseTarget(input: ProbeInput): SessionTarget {
  const target = parseProbeUrl(input.url); // throws ProbeInputError on an invalid input, as a probe may
  // An http:// input is still measured over TLS on 443: the session cut is a TLS question.
  const tlsPort = target.scheme === 'http' ? 443 : target.port;
  const plainPort = input.options.sessionPlainPort ?? 80;
  if (!Number.isInteger(plainPort) || plainPort < 0 || plainPort > 65535) throw new ProbeInputError('tls_duration: sessionPlainPort must be 0..65535');
  const path = input.options.sessionPath ?? '/';
  if (!path.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(path)) throw new ProbeInputError('tls_duration: sessionPath must be an absolute path without spaces');
  return { host: target.host, tlsPort, plainPort, path };
}

function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new ProbeInputError(`tls_duration: ${name} must be a positive number of milliseconds`);
}

/** The Host header value: brackets for IPv6, the port when it is not the scheme's default. */
function hostHeader(host: string, port: number, defaultPort: number): string {
  const name = isIP(host) === 6 ? `[${host}]` : host;
  return port === defaultPort ? name : `${name}:${port}`;
}

function keepAliveRequest(path: string, host: string, userAgent: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${userAgent}\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n`,
    'latin1',
  );
}


// ---------------------------------------------------------------------------
// HTTP/1.1 response framing, just enough to know where a response ends so the
// next request can go out on the same connection. Bytes are counted and
// dropped; only the current header line is held, and it is bounded.

const MAX_LINE_BYTES = 8 * 1024;
const MAX_HEAD_BYTES = 32 * 1024;

class ResponseFramingError extends Error {}

type FramingState = 'status' | 'headers' | 'body' | 'chunk_size' | 'chunk_data' | 'chunk_end' | 'trailers' | 'until_close';

export class ResponseSkipper {
  private state: FramingState = 'status';
  private line = '';
  private headBytes = 0;
  private status = 0;
  private contentLength: number | null = null;
  private chunked = false;
  private remaining = 0;
  private bodyBytes = 0;

  constructor(private readonly bodyLimit: number) {}

  /** Feeds bytes; returns how many responses they completed. Throws ResponseFramingError on a malformed response. */
  feed(chunk: Buffer): number {
    let completed = 0;
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.state) {
        case 'body':
        case 'chunk_data': {
          const take = Math.min(this.remaining, chunk.length - pos);
          pos += take;
          this.remaining -= take;
          this.countBody(take);
          if (this.remaining === 0) {
            if (this.state === 'body') {
              completed++;
              this.reset();
            } else {
              this.state = 'chunk_end';
            }
          }
          break;
        }
        case 'until_close':
          this.countBody(chunk.length - pos);
          pos = chunk.length;
          break;
        default: {
          const lf = chunk.indexOf(10, pos);
          const end = lf === -1 ? chunk.length : lf;
          this.appendLine(chunk, pos, end);
          pos = end;
          if (lf !== -1) {
            pos++;
            const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
            this.line = '';
            if (this.onLine(line)) {
              completed++;
              this.reset();
            }
          }
        }
      }
    }
    return completed;
  }

  private appendLine(chunk: Buffer, start: number, end: number): void {
    if (end === start) return;
    const inHead = this.state === 'status' || this.state === 'headers';
    if (inHead) {
      this.headBytes += end - start;
      if (this.headBytes > MAX_HEAD_BYTES) throw new ResponseFramingError('response head too large');
    }
    if (this.line.length + (end - start) > MAX_LINE_BYTES) throw new ResponseFramingError('response line too long');
    this.line += chunk.toString('latin1', start, end);
  }

  private countBody(n: number): void {
    this.bodyBytes += n;
    if (this.bodyBytes > this.bodyLimit) throw new ResponseFramingError('response body over the read limit');
  }

  private reset(): void {
    this.state = 'status';
    this.headBytes = 0;
    this.status = 0;
    this.contentLength = null;
    this.chunked = false;
    this.remaining = 0;
    this.bodyBytes = 0;
  }

  /** Handles one complete line; returns true when it completed a response. */
  private onLine(line: string): boolean {
    switch (this.state) {
      case 'status': {
        if (line === '') return false; // tolerate a stray CRLF between responses
        const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(line);
        if (!match) throw new ResponseFramingError('malformed status line');
        this.status = Number(match[1]);
        this.state = 'headers';
        return false;
      }
      case 'headers':
        if (line !== '') {
          this.onHeader(line);
          return false;
        }
        return this.onHeadEnd();
      case 'chunk_size': {
        const size = /^([0-9a-fA-F]{1,8})(?:[ \t;].*)?$/.exec(line);
        if (!size) throw new ResponseFramingError('malformed chunk size');
        this.remaining = parseInt(size[1]!, 16);
        this.state = this.remaining === 0 ? 'trailers' : 'chunk_data';
        return false;
      }
      case 'chunk_end':
        if (line !== '') throw new ResponseFramingError('missing CRLF after chunk');
        this.state = 'chunk_size';
        return false;
      case 'trailers':
        return line === '';
      default:
        return false;
    }
  }

  private onHeader(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ResponseFramingError('malformed header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new ResponseFramingError('malformed Content-Length');
      const length = Number(value);
      if (this.contentLength !== null && this.contentLength !== length) throw new ResponseFramingError('conflicting Content-Length');
      this.contentLength = length;
    } else if (name === 'transfer-encoding' && /(^|,)\s*chunked\s*$/i.test(value)) {
      this.chunked = true;
    }
  }

  /** The blank line after the headers: decides how the body is framed. */
  private onHeadEnd(): boolean {
    if (this.status >= 100 && this.status < 200 && this.status !== 101) {
      this.reset(); // an interim response (100 Continue, 103 Early Hints): the real one follows
      return false;
    }
    if (this.status === 204 || this.status === 304) return true;
    if (this.chunked) {
      this.state = 'chunk_size';
      return false;
    }
    if (this.contentLength !== null) {
      if (this.contentLength === 0) return true;
      if (this.contentLength > this.bodyLimit) throw new ResponseFramingError('response body over the read limit');
      this.remaining = this.contentLength;
      this.state = 'body';
      return false;
    }
    // No framing: the body runs until the server closes, which ends the session.
    this.state = 'until_close';
    return false;
  }
}

// ---------------------------------------------------------------------------
// One long-lived session.

interface SessionPlan {
  kind: 'tls' | 'plain';
  ip: string;
  port: number;
  /** SNI; null for an IP literal (RFC 6066 forbids IPs in SNI). */
  servername: string | null;
  secureContext: SecureContext | null;
  request: Buffer;
  intervalMs: number;
  timeoutMs: number;
  horizonMs: number;
  bodyLimit: number;
}

type Phase = 'connecting' | 'handshaking' | 'awaiting' | 'idle' | 'done';

function endFor(failure: string): SessionEnd {
  if (failure === FAILURE.connectionReset) return 'reset';
  if (failure === FAILURE.eof) return 'eof';
  if (failure === FAILURE.timeout) return 'timeout';
  return 'error';
}

/** The outcome of a session plus the operation its failure happened in (not part of the record). */
interface SessionOutcome {
  result: SessionResult;
  operation: Operation | null;
}

class KeepAliveSession {
  private phase: Phase = 'connecting';
  private socket: Socket | TLSSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly skipper: ResponseSkipper;
  private connectedAt = 0;
  private lastByteAt = 0;
  private nextRequestAt = 0;
  private horizonAt = 0;
  private writePending = false;
  private bytesReceived = 0;
  private requestsCompleted = 0;
  private finish!: (outcome: SessionOutcome) => void;
  readonly done: Promise<SessionOutcome>;

  constructor(private readonly plan: SessionPlan) {
    this.skipper = new ResponseSkipper(plan.bodyLimit);
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  start(): void {
    const { plan } = this;
    const socket =
      plan.kind === 'tls'
        ? tlsConnect({
            host: plan.ip,
            port: plan.port,
            ...(plan.servername ? { servername: plan.servername } : {}),
            secureContext: plan.secureContext!,
            ALPNProtocols: ['http/1.1'],
          })
        : netConnect({ host: plan.ip, port: plan.port });
    this.socket = socket;
    socket.on('connect', this.onConnect);
    if (plan.kind === 'tls') socket.on('secureConnect', this.onEstablished);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    this.arm(plan.timeoutMs);
  }

  /** Stops the session from outside (abort): it did not die, so no age is recorded. */
  interrupt(failure: string): void {
    if (this.phase === 'done') return;
    const operation: Operation | null =
      this.phase === 'connecting' ? 'connect' : this.phase === 'handshaking' ? 'tls_handshake' : 'read';
    this.conclude(this.phase === 'connecting' || this.phase === 'handshaking' ? 'connect_failed' : 'error', failure, operation, null);
  }

  private readonly onConnect = (): void => {
    if (this.phase !== 'connecting') return;
    this.connectedAt = performance.now();
    if (this.plan.kind === 'tls') {
      this.phase = 'handshaking';
      this.arm(this.plan.timeoutMs); // the handshake gets its own timeout
    } else {
      this.onEstablished();
    }
  };

  private readonly onEstablished = (): void => {
    if (this.phase !== 'connecting' && this.phase !== 'handshaking') return;
    const now = performance.now();
    if (this.connectedAt === 0) this.connectedAt = now;
    this.horizonAt = this.connectedAt + this.plan.horizonMs;
    this.lastByteAt = now;
    this.sendRequest();
  };

  private sendRequest(): void {
    this.phase = 'awaiting';
    this.writePending = true;
    this.socket!.write(this.plan.request, (err) => {
      if (!err) this.writePending = false;
    });
    this.schedule();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.phase === 'done') return;
    this.bytesReceived += chunk.length;
    this.lastByteAt = performance.now();
    let completed: number;
    try {
      completed = this.skipper.feed(chunk);
    } catch (err) {
      const message = err instanceof ResponseFramingError ? err.message : String(err);
      this.conclude('error', unknownFailure(message), 'read', this.lastByteAt);
      return;
    }
    if (completed > 0 && this.phase === 'awaiting') {
      this.requestsCompleted++;
      this.phase = 'idle';
      this.nextRequestAt = this.lastByteAt + this.plan.intervalMs;
      this.schedule();
    }
  };

  private readonly onEnd = (): void => {
    this.fail(FAILURE.eof, false);
  };

  private readonly onError = (err: Error): void => {
    this.fail(classifyError(err), this.writePending);
  };

  private readonly onClose = (): void => {
    // 'close' without 'end' or 'error' first: the socket went away under us.
    this.fail(FAILURE.eof, false);
  };

  private fail(failure: string, duringWrite: boolean): void {
    if (this.phase === 'done') return;
    if (this.phase === 'connecting' || this.phase === 'handshaking') {
      const operation: Operation = this.phase === 'connecting' ? 'connect' : 'tls_handshake';
      this.conclude('connect_failed', failure, operation, null);
      return;
    }
    this.conclude(endFor(failure), failure, duringWrite ? 'write' : 'read', performance.now());
  }

  /** The one timer: connect/handshake deadline, next request, silence deadline or horizon. */
  private readonly onTimer = (): void => {
    this.timer = null;
    const now = performance.now();
    switch (this.phase) {
      case 'connecting':
      case 'handshaking':
        this.fail(classifyError(new DeadlineError(this.phase === 'connecting' ? 'connect' : 'TLS handshake')), false);
        return;
      case 'done':
        return;
      default:
    }
    if (now >= this.horizonAt) {
      this.conclude('horizon', null, null, null);
      return;
    }
    if (this.phase === 'idle') {
      if (now >= this.nextRequestAt) this.sendRequest();
      else this.schedule();
      return;
    }
    if (now >= this.silenceDeadline()) {
      // A silent drop is only noticed later; the last byte is the last sign of life.
      this.conclude('timeout', FAILURE.timeout, this.writePending ? 'write' : 'read', this.lastByteAt);
      return;
    }
    this.schedule();
  };

  /** No byte for longer than the interval plus the timeout: the session is dead. */
  private silenceDeadline(): number {
    return this.lastByteAt + this.plan.intervalMs + this.plan.timeoutMs;
  }

  private schedule(): void {
    const due = this.phase === 'idle' ? this.nextRequestAt : this.silenceDeadline();
    this.arm(Math.min(due, this.horizonAt) - performance.now());
  }

  private arm(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, Math.max(0, delayMs));
  }

  private conclude(end: SessionEnd, failure: Failure, operation: Operation | null, diedAt: number | null): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const socket = this.socket;
    if (socket) {
      socket.removeListener('data', this.onData);
      socket.destroy();
    }
    const diedAfterS = diedAt === null || this.connectedAt === 0 ? null : Math.max(0, Math.round((diedAt - this.connectedAt) / 100) / 10);
    this.finish({
      result: {
        kind: this.plan.kind,
        ip: this.plan.ip,
        port: this.plan.port,
        died_after_s: end === 'horizon' ? null : diedAfterS,
        end,
        failure,
        bytes_received: this.bytesReceived,
        requests_completed: this.requestsCompleted,
      },
      operation,
    });
  }
}

// ---------------------------------------------------------------------------

function failedSession(kind: 'tls' | 'plain', ip: string | null, port: number, failure: string): SessionResult {
  return { kind, ip, port, died_after_s: null, end: 'connect_failed', failure, bytes_received: 0, requests_completed: 0 };
}


async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<TlsDurationDetails>> {
  const startedAt = new Date();
  const t0 = performance.now();
  const { options } = input;
  const target = parseTarget(input);
  requirePositive('timeoutMs', options.timeoutMs);
  requirePositive('sessionIntervalMs', options.sessionIntervalMs);
  requirePositive('sessionHorizonMs', options.sessionHorizonMs);
  const secureContext = sharedSecureContext(options.extraCaPem, 'tls_duration');
  const horizonS = options.sessionHorizonMs / 1000;

  const envelope = resultEnvelope<TlsDurationDetails>('tls_duration', startedAt, t0);

  let ip: string;
  try {
    ip = await firstAddress(input, target.host, signal);
  } catch (err) {
    const failure = failureOf(err, signal);
    return envelope({ horizon_s: horizonS, tls: failedSession('tls', null, target.tlsPort, failure), plain: null }, failure, 'resolve');
  }

  const common = {
    ip,
    intervalMs: options.sessionIntervalMs,
    timeoutMs: options.timeoutMs,
    horizonMs: options.sessionHorizonMs,
    bodyLimit: options.bodyReadLimitBytes > 0 ? options.bodyReadLimitBytes : 4 * 1024 * 1024,
  };
  const sessions: KeepAliveSession[] = [
    new KeepAliveSession({
      ...common,
      kind: 'tls',
      port: target.tlsPort,
      servername: isIP(target.host) ? null : target.host,
      secureContext,
      request: keepAliveRequest(target.path, hostHeader(target.host, target.tlsPort, 443), options.userAgent),
    }),
  ];
  if (target.plainPort !== 0) {
    sessions.push(
      new KeepAliveSession({
        ...common,
        kind: 'plain',
        port: target.plainPort,
        servername: null,
        secureContext: null,
        request: keepAliveRequest(target.path, hostHeader(target.host, target.plainPort, 80), options.userAgent),
      }),
    );
  }

  const onAbort = () => {
    const failure = abortFailure(signal);
    for (const session of sessions) session.interrupt(failure);
  };
  if (signal.aborted) {
    onAbort();
  } else {
    signal.addEventListener('abort', onAbort, { once: true });
    for (const session of sessions) session.start();
  }
  const [tls, plain] = await Promise.all(sessions.map((s) => s.done));
  signal.removeEventListener('abort', onAbort);

  const failure = tls!.result.end === 'horizon' ? null : tls!.result.failure;
  return envelope({ horizon_s: horizonS, tls: tls!.result, plain: plain?.result ?? null }, failure, tls!.operation);
}

export const tlsDurationProbe: Probe<TlsDurationDetails> = { kind: 'tls_duration', run };
