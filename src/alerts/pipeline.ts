// The change pipeline the daemon feeds after each stored sweep: detect
// changes, store the events, queue one webhook alert per event and
// destination (in the same transaction), and deliver the queue in the
// background. Delivery never blocks a sweep and never throws into it: a
// failed POST is retried later with backoff, across restarts.
import type { Logger } from 'pino';
import { Agent } from 'undici';
import { detectChanges, type DetectOptions, type DetectorState, type SweepObservation } from '../analysis/changes.js';
import type { Config } from '../config/schema.js';
import { shownState } from '../http/input-state.js';
import type { Metrics } from '../http/metrics.js';
import type { StoredEvent } from '../model.js';
import type { Store } from '../store/store.js';
import { DEFAULT_BACKOFF, latestHonestRetryIso, retryDelayMs } from './backoff.js';
import { loadDetectorState, missedObservations, rebuildDetectorState, saveDetectorState } from './detector-store.js';
import { Outbox, type OutboxRow } from './outbox.js';
import { TokenBucket } from './rate-limit.js';
import { describeDestination, destinationKey, eventPayload, postAlert, summaryPayload, type AlertPayload } from './webhook.js';

export interface ChangePipeline {
  /** After a sweep is stored: detect changes, store events, enqueue alerts, update metrics. Never throws on delivery problems. */
  onSweep(sweep: SweepObservation): Promise<StoredEvent[]>;
  /** Delivers queued alerts (also called on a timer by start()). */
  flush(): Promise<void>;
  start(): void; // background delivery loop (unref'd timers)
  stop(): Promise<void>; // stop the loop, wait for in-flight deliveries (bounded)
}

export interface ChangePipelineDeps {
  store: Store;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
  /** For the retry jitter (tests pin it). */
  random?: () => number;
  /** Period of the background delivery loop. */
  tickMs?: number;
  /** Timeout of one webhook POST (connect, headers, body). */
  deliveryTimeoutMs?: number;
  /** How long stop() waits for in-flight deliveries before aborting them. */
  stopTimeoutMs?: number;
}

/** Alerts per minute to one destination when the config does not say. */
export const DEFAULT_MAX_PER_MINUTE = 20;
/** Delivered alerts are kept this long in the outbox, for the record. */
const OUTBOX_KEEP_MS = 30 * 86400_000;

interface Destination {
  index: number;
  url: string;
  secret?: string;
  key: string;
  bucket: TokenBucket;
  /** Safe to log: scheme and host only. */
  label: string;
}

export function createChangePipeline(deps: ChangePipelineDeps): ChangePipeline {
  return new Pipeline(deps);
}

class Pipeline implements ChangePipeline {
  private state: DetectorState | null = null;
  private readonly outbox: Outbox;
  private readonly destinations: Destination[];
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly agent: Agent;
  private readonly abort = new AbortController();
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private stopped = false;

  constructor(private readonly deps: ChangePipelineDeps) {
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.log = deps.logger;
    this.outbox = new Outbox(deps.store.db);
    this.timeoutMs = deps.deliveryTimeoutMs ?? 10_000;
    this.agent = new Agent({ connect: { timeout: this.timeoutMs }, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, keepAliveTimeout: 4_000 });
    this.destinations = this.readDestinations(deps.config);
  }

  async onSweep(sweep: SweepObservation): Promise<StoredEvent[]> {
    this.ensureState(sweep.run_id);
    const events = this.apply(sweep, true);
    if (events.length && this.timer) this.kick();
    return events;
  }

  flush(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          await Promise.all(this.destinations.map((d) => this.deliverTo(d)));
        } while (this.flushAgain && !this.stopped);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    try {
      const purged = this.outbox.purgeDoneBefore(new Date(this.now().getTime() - OUTBOX_KEEP_MS).toISOString());
      if (purged) this.log.debug({ purged }, 'old delivered alerts removed from the outbox');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not purge the alert outbox');
    }
    this.timer = setInterval(() => this.kick(), this.deps.tickMs ?? 5_000);
    this.timer.unref();
    setTimeout(() => this.kick(), 0).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopped = true;
    const inFlight = this.flushing;
    if (inFlight) {
      const settled = await settlesWithin(inFlight, this.deps.stopTimeoutMs ?? 5_000);
      if (!settled) {
        this.log.warn('stopping: webhook deliveries still in flight were aborted; they will be retried after the restart');
        this.abort.abort();
        await settlesWithin(inFlight, 1_000);
      }
    }
    await this.agent.destroy().catch(() => undefined);
  }

  // --- detection -------------------------------------------------------------

  private detectOptions(): DetectOptions {
    return { confirmSweeps: this.deps.config.confirmSweeps };
  }

  /** Loads the saved state, catching up on sweeps a crash left unseen; or rebuilds it from stored verdicts. */
  private ensureState(currentRunId?: string): DetectorState {
    if (this.state) return this.state;
    const { store } = this.deps;
    const saved = loadDetectorState(store);
    if (saved) {
      this.state = saved;
      const missed = missedObservations(store, saved, currentRunId);
      if (missed.length) this.log.info({ sweeps: missed.length }, 'change detection catching up on sweeps stored before the last stop');
      for (const sweep of missed) this.apply(sweep, true);
    } else {
      const { state, events } = rebuildDetectorState(store, this.detectOptions(), this.now(), currentRunId);
      this.state = state;
      // Rebuilt events are history: stored (deduplicated by id), not alerted.
      store.db.transaction(() => {
        store.insertEvents(events);
        saveDetectorState(store, state, this.now().toISOString());
      })();
      if (state.processed_runs.length) this.log.info({ sweeps: state.processed_runs.length, events: events.length }, 'change detector state rebuilt from stored verdicts');
    }
    this.updateTargetMetrics();
    return this.state;
  }

  private apply(sweep: SweepObservation, alert: boolean): StoredEvent[] {
    const { store } = this.deps;
    const { state, events } = detectChanges(this.state ?? this.ensureState(), sweep, this.detectOptions());
    const nowIso = this.now().toISOString();
    store.db.transaction(() => {
      store.insertEvents(events);
      if (alert && events.length) {
        this.outbox.enqueue(
          this.destinations.flatMap((d) =>
            events.map((e) => ({ alert_id: e.event_id, destination: d.key, kind: e.kind, body: JSON.stringify(eventPayload(e)) })),
          ),
          nowIso,
        );
      }
      saveDetectorState(store, state, nowIso);
    })();
    this.state = state;
    this.deps.metrics.recordEvents(events);
    this.updateTargetMetrics();
    for (const e of events) this.log.info({ event_id: e.event_id, kind: e.kind, url: e.url, verdict: e.verdict }, `change: ${e.kind}${e.url ? ` ${e.url}` : ''}`);
    return events;
  }

  private updateTargetMetrics(): void {
    if (!this.state) return;
    this.deps.metrics.setTargetStates(
      Object.values(this.state.inputs).map((i) => ({ url: i.url, kind: i.kind, state: shownState({ confirmed: i.confirmed, changing: i.streak !== null, lastVerdict: i.last_verdict }) })),
    );
  }

  // --- delivery --------------------------------------------------------------

  private kick(): void {
    this.flush().catch((err: Error) => this.log.error({ err: err.message }, 'alert delivery loop failed'));
  }

  private readDestinations(config: Config): Destination[] {
    const nowMs = this.now().getTime();
    const out: Destination[] = [];
    (config.webhooks ?? []).forEach((w, index) => {
      let ok = false;
      try {
        const u = new URL(w.url);
        ok = u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        ok = false;
      }
      if (!ok) {
        this.log.warn({ destination_index: index }, 'webhook destination skipped: its url is not an http(s) URL');
        return;
      }
      const perMinute = typeof w.maxPerMinute === 'number' && w.maxPerMinute > 0 ? w.maxPerMinute : DEFAULT_MAX_PER_MINUTE;
      out.push({ index, url: w.url, secret: w.secret || undefined, key: destinationKey(w.url), bucket: new TokenBucket(perMinute, nowMs), label: describeDestination(w.url) });
    });
    return out;
  }

  /**
   * Sends what is due to one destination within its rate limit. When more
   * single alerts are due than tokens are left, they all go as ONE summary
   * alert instead ("shutdown: 500 targets…" rather than 500 posts).
   */
  private async deliverTo(d: Destination): Promise<void> {
    try {
      const nowMs = this.now().getTime();
      const nowIso = new Date(nowMs).toISOString();
      const due = this.outbox.due(d.key, nowIso, undefined, latestHonestRetryIso(nowMs, DEFAULT_BACKOFF.capMs));
      const toSend: OutboxRow[] = [];
      for (const row of due.filter((r) => r.kind === 'summary')) {
        if (!d.bucket.take(nowMs)) break;
        toSend.push(row);
      }
      const singles = due.filter((r) => r.kind !== 'summary');
      if (singles.length > 0) {
        const available = d.bucket.available(nowMs);
        if (singles.length <= available) {
          for (const row of singles) if (d.bucket.take(nowMs)) toSend.push(row);
        } else if (available >= 1) {
          const summary = summaryPayload(singles.map(parsePayload), nowIso);
          toSend.push(this.outbox.coalesce(singles, { alert_id: summary.event_id, destination: d.key, kind: 'summary', body: JSON.stringify(summary) }, nowIso));
          d.bucket.take(nowMs);
          this.log.info({ destination_index: d.index, destination: d.label, coalesced: singles.length }, 'alert rate limit reached: alerts coalesced into one summary');
        }
      }
      for (const row of toSend) {
        if (this.abort.signal.aborted) break;
        await this.send(d, row);
      }
      this.deps.metrics.setAlertsPending(d.index, this.outbox.pendingCount(d.key));
    } catch (err) {
      // The store closed under us, or the disk failed: the queue stays as it was.
      this.log.error({ destination_index: d.index, err: (err as Error).message }, 'alert delivery pass failed');
    }
  }

  private async send(d: Destination, row: OutboxRow): Promise<void> {
    const attempts = row.attempts + 1;
    const result = await postAlert(d.url, row.body, row.alert_id, {
      secret: d.secret,
      timeoutMs: this.timeoutMs,
      dispatcher: this.agent,
      signal: this.abort.signal,
      nowMs: this.now().getTime(),
    });
    const nowMs = this.now().getTime();
    const base = { destination_index: d.index, destination: d.label, alert_id: row.alert_id, kind: row.kind, attempts };
    if (result.outcome === 'delivered') {
      this.outbox.markDelivered(row.id, attempts, new Date(nowMs).toISOString());
      this.log.info({ ...base, status: result.status }, 'alert delivered');
      return;
    }
    this.deps.metrics.recordAlertFailure(d.index);
    if (result.outcome === 'rejected') {
      this.outbox.markRejected(row.id, attempts, result.error);
      this.log.warn({ ...base, status: result.status }, 'alert rejected by the receiver (a 4xx answer); not retried');
      return;
    }
    const delay = Math.min(DEFAULT_BACKOFF.capMs, Math.max(retryDelayMs(attempts, this.random), result.retryAfterMs ?? 0));
    const next = new Date(nowMs + delay).toISOString();
    this.outbox.markRetry(row.id, attempts, next, result.error);
    this.log.warn({ ...base, status: result.status, failure: result.error, next_attempt_at: next }, 'alert delivery failed; will retry');
  }
}

/** An outbox body back as a payload; a body that does not parse still counts as one alert. */
function parsePayload(row: OutboxRow): AlertPayload {
  try {
    return JSON.parse(row.body) as AlertPayload;
  } catch {
    return { source: 'rasad', event_id: row.alert_id, kind: row.kind as AlertPayload['kind'], target: null, url: null, verdict: null, at: row.created_at, measurement_ids: [], details: {}, text: `rasad: ${row.kind}` };
  }
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => (clearTimeout(timer), resolve(true)),
      () => (clearTimeout(timer), resolve(true)),
    );
  });
}
