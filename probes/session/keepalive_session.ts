// A long-lived session: connections to one endpoint kept in use until the
// horizon. When the server closes a connection gracefully (close_notify,
// `Connection: close`, its keep-alive limit, a FIN on plain HTTP) a fresh
// one is opened and measuring goes on; an abrupt death (RST, silence, a FIN
// without close_notify on TLS) ends the session, and its age is the one a
// cut is judged on. Every connection is recorded as a segment.
import { performance } from 'node:perf_hooks';
import type { Failure, Operation, SessionEnd, SessionResult, SessionSegment } from '../types.js';
import { KeepAliveConnection, type ConnectionOutcome, type ConnectionPlan } from './keepalive_connection.js';

/** Connections per session at most: a server that closes at once must not make the probe spin. */
export const MAX_SEGMENTS = 32;
/** Less than this left before the horizon: a fresh connection would say nothing. */
const MIN_REMAINING_MS = 1000;

/** The outcome of a session plus the operation its failure happened in (not part of the record). */
export interface SessionOutcome {
  result: SessionResult;
  operation: Operation | null;
}

const GRACEFUL: ReadonlySet<SessionEnd> = new Set(['close_notify', 'http_close', 'keepalive_limit', 'eof']);

/** A close the server made on purpose (an `eof` is graceful only on plain HTTP; on TLS it is abrupt). */
function isGraceful(end: { end: SessionEnd; abrupt: boolean }): boolean {
  return !end.abrupt && GRACEFUL.has(end.end);
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);

function segmentOf(outcome: ConnectionOutcome, sessionStart: number): SessionSegment {
  const started = outcome.connectedAt ?? outcome.startedAt;
  return {
    started_after_s: seconds(started - sessionStart),
    died_after_s: outcome.diedAt === null || outcome.connectedAt === null ? null : seconds(outcome.diedAt - outcome.connectedAt),
    end: outcome.end,
    abrupt: outcome.abrupt,
    failure: outcome.failure,
    requests_completed: outcome.requestsCompleted,
    bytes_received: outcome.bytesReceived,
    keep_alive: outcome.keepAlive,
  };
}

export class KeepAliveSession {
  private current: KeepAliveConnection | null = null;
  private stopped: string | null = null;
  private finish!: (outcome: SessionOutcome) => void;
  readonly done: Promise<SessionOutcome>;

  constructor(
    readonly plan: ConnectionPlan,
    private readonly horizonMs: number,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  start(): void {
    void this.run();
  }

  /** Stops the session from outside (abort): the open connection ends without a death age. */
  interrupt(failure: string): void {
    if (this.stopped !== null) return;
    this.stopped = failure;
    this.current?.interrupt(failure);
  }

  private async run(): Promise<void> {
    const segments: SessionSegment[] = [];
    const outcomes: ConnectionOutcome[] = [];
    // The first connection's start anchors every later one and the horizon.
    let anchor: { start: number; horizonAt: number } | null = null;
    for (;;) {
      const connection: KeepAliveConnection = new KeepAliveConnection(this.plan, anchor?.horizonAt ?? null, this.horizonMs);
      this.current = connection;
      if (this.stopped !== null) connection.interrupt(this.stopped);
      else connection.start();
      const outcome: ConnectionOutcome = await connection.done;
      this.current = null;
      if (anchor === null) {
        const start = outcome.connectedAt ?? outcome.startedAt;
        anchor = { start, horizonAt: start + this.horizonMs };
      }
      outcomes.push(outcome);
      segments.push(segmentOf(outcome, anchor.start));
      if (!this.reconnectAfter(outcome, segments.length, anchor.horizonAt)) break;
    }
    this.finish(this.summarize(segments, outcomes, anchor!.horizonAt));
  }

  private reconnectAfter(outcome: ConnectionOutcome, count: number, horizonAt: number): boolean {
    if (this.stopped !== null || !isGraceful(outcome) || count >= MAX_SEGMENTS) return false;
    return horizonAt - performance.now() >= MIN_REMAINING_MS;
  }

  private summarize(segments: SessionSegment[], outcomes: ConnectionOutcome[], horizonAt: number): SessionOutcome {
    const abruptIndex = segments.findIndex((s) => s.abrupt);
    const decisive = abruptIndex >= 0 ? abruptIndex : segments.length - 1;
    const seg = segments[decisive]!;
    const graceful = isGraceful(seg);
    const failure: Failure = graceful ? null : seg.failure;
    // A graceful close in the last second, with no time left for a fresh connection: the session lived to the horizon.
    const lived = graceful && this.stopped === null && horizonAt - performance.now() < MIN_REMAINING_MS;
    return {
      result: {
        kind: this.plan.kind,
        ip: this.plan.ip,
        port: this.plan.port,
        died_after_s: seg.abrupt ? seg.died_after_s : null,
        end: lived ? 'horizon' : seg.end,
        failure,
        bytes_received: segments.reduce((n, s) => n + s.bytes_received, 0),
        requests_completed: segments.reduce((n, s) => n + s.requests_completed, 0),
        abrupt: seg.abrupt,
        segments,
      },
      operation: failure === null ? null : outcomes[decisive]!.operation,
    };
  }
}
