// One connection of a long-lived session: a TCP (and TLS) connection kept
// busy with HTTP/1.1 keep-alive requests until the horizon, until it dies,
// or until the server closes it. It tells how it ended apart: an RST,
// silence, a FIN with or without a TLS close_notify, a close the server
// announced (`Connection: close`, `Keep-Alive: timeout=N, max=M`).
//
// Cost matters: hundreds of connections are held at once for minutes. One
// owns one socket (plus the TLS layer over a tap) and one timer: the next
// thing due, a request, a silence deadline or the horizon. Response bodies
// are counted and dropped, never kept.
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import { classifyError, DeadlineError, FAILURE, unknownFailure } from '../failure.js';
import { ResponseFramingError, ResponseSkipper } from '../http1_framer.js';
import type { Failure, Operation, SessionEnd } from '../types.js';
import { TappedSocket } from './tls_tap.js';

export interface ConnectionPlan {
  kind: 'tls' | 'plain';
  ip: string;
  port: number;
  /** SNI; null for an IP literal (RFC 6066 forbids IPs in SNI). */
  servername: string | null;
  secureContext: SecureContext | null;
  request: Buffer;
  intervalMs: number;
  timeoutMs: number;
  bodyLimit: number;
}

/** How one connection ended (times are performance.now() values). */
export interface ConnectionOutcome {
  end: SessionEnd;
  abrupt: boolean;
  failure: Failure;
  operation: Operation | null;
  /** When the attempt began. */
  startedAt: number;
  /** When TCP connected; null when it never did. */
  connectedAt: number | null;
  /** When it died (its last sign of life for a silence); null at the horizon or before it came up. */
  diedAt: number | null;
  requestsCompleted: number;
  bytesReceived: number;
  keepAlive: { timeout_s: number | null; max: number | null } | null;
}

type Phase = 'connecting' | 'handshaking' | 'awaiting' | 'idle' | 'done';

/** A server closing this close to its announced idle timeout is keeping its word. */
const KEEPALIVE_SLACK_MS = 1000;
/** The shortest request interval a Keep-Alive hint can ask for. */
const MIN_INTERVAL_MS = 250;

function endFor(failure: string): SessionEnd {
  if (failure === FAILURE.connectionReset) return 'reset';
  if (failure === FAILURE.eof) return 'eof';
  if (failure === FAILURE.timeout) return 'timeout';
  return 'error';
}

export class KeepAliveConnection {
  private phase: Phase = 'connecting';
  private raw: Socket | null = null;
  private tls: TLSSocket | null = null;
  private tap: TappedSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly skipper: ResponseSkipper;
  private readonly startedAt = performance.now();
  private connectedAt: number | null = null;
  private horizonAt: number;
  private readonly horizonFromConnect: boolean;
  private lastByteAt = 0;
  private lastResponseAt = 0;
  private nextRequestAt = 0;
  private writePending = false;
  private bytesReceived = 0;
  private requestsCompleted = 0;
  private finish!: (outcome: ConnectionOutcome) => void;
  readonly done: Promise<ConnectionOutcome>;

  /** `horizonAt` (performance.now()) ends the connection; null: `horizonMs` after it connects. */
  constructor(
    private readonly plan: ConnectionPlan,
    horizonAt: number | null,
    private readonly horizonMs: number,
  ) {
    this.horizonAt = horizonAt ?? Number.POSITIVE_INFINITY;
    this.skipper = new ResponseSkipper(plan.bodyLimit);
    this.horizonFromConnect = horizonAt === null;
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  start(): void {
    const { plan } = this;
    const raw = netConnect({ host: plan.ip, port: plan.port });
    this.raw = raw;
    raw.on('connect', this.onConnect);
    raw.on('error', this.onError);
    raw.on('close', this.onClose);
    if (plan.kind === 'tls') {
      this.tap = new TappedSocket(raw);
      const tls = tlsConnect({
        socket: this.tap,
        ...(plan.servername ? { servername: plan.servername } : {}),
        secureContext: plan.secureContext!,
        ALPNProtocols: ['http/1.1'],
      });
      this.tls = tls;
      tls.on('secureConnect', this.onEstablished);
      tls.on('data', this.onData);
      tls.on('end', this.onTlsEnd);
      tls.on('error', this.onError);
      raw.on('end', this.onRawEnd);
    } else {
      raw.on('data', this.onData);
      raw.on('end', this.onRawEnd);
    }
    this.arm(plan.timeoutMs);
  }

  /** Stops the connection from outside (abort): it did not die, so no age is recorded. */
  interrupt(failure: string): void {
    if (this.phase === 'done') return;
    const before = this.phase === 'connecting' || this.phase === 'handshaking';
    const operation: Operation = this.phase === 'connecting' ? 'connect' : this.phase === 'handshaking' ? 'tls_handshake' : 'read';
    this.conclude(before ? 'connect_failed' : 'error', false, failure, operation, null);
  }

  private readonly onConnect = (): void => {
    if (this.phase !== 'connecting') return;
    this.connectedAt = performance.now();
    if (this.horizonFromConnect) this.horizonAt = this.connectedAt + this.horizonMs;
    if (this.plan.kind === 'tls') {
      this.phase = 'handshaking';
      this.arm(this.plan.timeoutMs); // the handshake gets its own timeout
    } else {
      this.onEstablished();
    }
  };

  private readonly onEstablished = (): void => {
    if (this.phase !== 'connecting' && this.phase !== 'handshaking') return;
    this.lastByteAt = performance.now();
    this.sendRequest();
  };

  private sendRequest(): void {
    this.phase = 'awaiting';
    this.writePending = true;
    (this.tls ?? this.raw)!.write(this.plan.request, (err) => {
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
      this.conclude('error', false, unknownFailure(message), 'read', this.lastByteAt);
      return;
    }
    if (completed > 0 && this.phase === 'awaiting') {
      this.requestsCompleted++;
      this.lastResponseAt = this.lastByteAt;
      this.phase = 'idle';
      this.nextRequestAt = this.lastByteAt + this.interval();
      this.schedule();
    }
  };

  /** The request interval, shortened to half the server's announced idle timeout so the connection stays in use. */
  private interval(): number {
    const timeoutS = this.skipper.lastResponse?.keepAlive?.timeout_s;
    if (timeoutS === null || timeoutS === undefined) return this.plan.intervalMs;
    return Math.min(this.plan.intervalMs, Math.max(MIN_INTERVAL_MS, (timeoutS * 1000) / 2));
  }

  /** The TLS layer ended while TCP is still open: it read a close_notify. */
  private readonly onTlsEnd = (): void => {
    this.closed(true);
  };

  /** TCP FIN. Under TLS, the tap decides whether a close_notify came first. */
  private readonly onRawEnd = (): void => {
    this.closed(this.tap !== null && this.tap.records.lastLooksLikeAlert());
  };

  /** The server closed its side (FIN): announced, graceful or abrupt? */
  private closed(closeNotify: boolean): void {
    if (this.phase === 'done') return;
    if (this.phase === 'connecting' || this.phase === 'handshaking') return this.fail(FAILURE.eof);
    const now = performance.now();
    const announced = this.announcedEnd(now);
    if (announced) return this.conclude(announced, false, null, 'read', now);
    if (this.plan.kind === 'tls') {
      if (closeNotify) return this.conclude('close_notify', false, null, 'read', now);
      return this.conclude('eof', true, FAILURE.eof, 'read', now);
    }
    // Plain HTTP has no close_notify: a FIN is how a server closes.
    this.conclude('eof', false, FAILURE.eof, 'read', now);
  }

  /** The server said it would close: `Connection: close`, a body read until the close, or its Keep-Alive limit reached. */
  private announcedEnd(now: number): SessionEnd | null {
    if (this.skipper.readingUntilClose && this.skipper.currentHints.status !== 0) return 'http_close';
    const last = this.skipper.lastResponse;
    if (!last) return null;
    if (last.close) return 'http_close';
    const hint = last.keepAlive;
    if (!hint) return null;
    if (hint.max !== null && this.requestsCompleted >= hint.max) return 'keepalive_limit';
    if (hint.timeout_s !== null && now - this.lastResponseAt >= hint.timeout_s * 1000 - KEEPALIVE_SLACK_MS) return 'keepalive_limit';
    return null;
  }

  private readonly onError = (err: Error): void => {
    if (this.phase === 'done') return;
    const failure = classifyError(err);
    // A reset right after the server announced its close is how some servers close.
    if (failure === FAILURE.connectionReset && this.phase !== 'connecting' && this.phase !== 'handshaking') {
      const announced = this.skipper.lastResponse?.close || this.skipper.readingUntilClose ? 'http_close' : null;
      if (announced) return this.conclude(announced, false, null, 'read', performance.now());
    }
    this.fail(failure);
  };

  private readonly onClose = (): void => {
    // 'close' without 'end' or 'error' first: the socket went away under us.
    this.fail(FAILURE.eof);
  };

  private fail(failure: string): void {
    if (this.phase === 'done') return;
    if (this.phase === 'connecting' || this.phase === 'handshaking') {
      const operation: Operation = this.phase === 'connecting' ? 'connect' : 'tls_handshake';
      this.conclude('connect_failed', false, failure, operation, null);
      return;
    }
    const end = endFor(failure);
    // RST and silence are abrupt; so is a FIN on TLS (it had no close_notify, or `closed` would have run).
    const abrupt = end === 'reset' || end === 'timeout' || (end === 'eof' && this.plan.kind === 'tls');
    this.conclude(end, abrupt, failure, this.writePending ? 'write' : 'read', performance.now());
  }

  /** The one timer: connect/handshake deadline, next request, silence deadline or horizon. */
  private readonly onTimer = (): void => {
    this.timer = null;
    const now = performance.now();
    switch (this.phase) {
      case 'connecting':
      case 'handshaking':
        this.fail(classifyError(new DeadlineError(this.phase === 'connecting' ? 'connect' : 'TLS handshake')));
        return;
      case 'done':
        return;
      default:
    }
    if (now >= this.horizonAt) {
      this.conclude('horizon', false, null, null, null);
      return;
    }
    if (this.phase === 'idle') {
      if (now >= this.nextRequestAt) this.sendRequest();
      else this.schedule();
      return;
    }
    if (now >= this.silenceDeadline()) {
      // A silent drop is only noticed later; the last byte is the last sign of life.
      this.conclude('timeout', true, FAILURE.timeout, 'read', this.lastByteAt);
      return;
    }
    this.schedule();
  };

  /** No byte for longer than the interval plus the timeout: the connection is dead. */
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

  private conclude(end: SessionEnd, abrupt: boolean, failure: Failure, operation: Operation | null, diedAt: number | null): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.tls) {
      this.tls.removeListener('data', this.onData);
      this.tls.destroy();
    }
    if (this.raw) {
      this.raw.removeListener('data', this.onData);
      this.raw.destroy();
    }
    this.finish({
      end,
      abrupt,
      failure,
      operation,
      startedAt: this.startedAt,
      connectedAt: this.connectedAt,
      diedAt: end === 'horizon' || this.connectedAt === null ? null : diedAt,
      requestsCompleted: this.requestsCompleted,
      bytesReceived: this.bytesReceived,
      keepAlive: this.skipper.lastResponse?.keepAlive ?? null,
    });
  }
}
