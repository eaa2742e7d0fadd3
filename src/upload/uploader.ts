// Upload of OONI measurements to an OONI-compatible collector (opt-in:
// `collector: { url, enabled }`). A finished run is turned into OONI
// measurements (the same as `rasad export --format ooni`) and queued in the
// store's upload outbox; a drain opens one report per run and test name,
// submits the due measurements into it, and closes a report once nothing of
// it is pending. Failures wait with exponential backoff (the webhook policy);
// a collector that is down holds the whole queue back, not just one row.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { DEFAULT_BACKOFF, latestHonestRetryIso, retryDelayMs, type BackoffPolicy } from '../alerts/backoff.js';
import type { Config } from '../config/schema.js';
import { ooniMeasurements, type OoniStats } from '../export/ooni/measurements.js';
import { parseStoredTime } from '../export/time.js';
import type { Store } from '../store/store.js';
import type { NewUpload, UploadOutbox, UploadRow } from '../store/upload-outbox.js';
import { CollectorClient, CollectorError } from './collector-client.js';

/** The longest Retry-After a collector is obeyed for: a maintenance window, not a year. */
export const MAX_RETRY_AFTER_MS = 6 * 3600_000;

export interface UploadOptions {
  backoff?: BackoffPolicy;
  /** Per-call timeout to the collector. */
  timeoutMs?: number;
  now?: () => number;
  random?: () => number;
}

export interface DrainResult {
  delivered: number;
  rejected: number;
  /** Failed this time, tried again later. */
  retried: number;
  reportsClosed: number;
  /** Still pending after this drain (due later, or not reached). */
  pending: number;
}

/** The outbox's name for a collector: a hash of its URL, never the URL (it may hold a token). */
export function collectorDestination(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** The collector settings, checked: null when uploads are off. */
export function collectorOf(config: Pick<Config, 'collector'>): { url: string } | null {
  const c = config.collector;
  if (!c?.enabled) return null;
  if (!c.url) throw new Error('collector.enabled is true but collector.url is empty: set the collector\'s URL');
  return { url: c.url };
}

/** The OONI measurements of one run, as uploads. Read whole before queueing: the store cannot write while a read is open. */
export function uploadsOfRun(store: Store, config: Pick<Config, 'probeAsn' | 'probeCc'>, runId: string): NewUpload[] {
  const runStart = parseStoredTime(store.getRun(runId)?.started_at);
  const stats: OoniStats = { read: 0, written: 0, skipped: 0 };
  const uploads: NewUpload[] = [];
  const measurements = ooniMeasurements(
    store.iterateMeasurementsByUnit({ runId }),
    { includeIp: false, probeAsn: config.probeAsn, probeCc: config.probeCc, runStart: () => runStart },
    stats,
  );
  for (const m of measurements) {
    const ids = (m.test_keys as { x_rasad_measurement_ids?: unknown } | undefined)?.x_rasad_measurement_ids;
    const key = Array.isArray(ids) && typeof ids[0] === 'string' ? ids[0] : null;
    if (key === null) continue;
    uploads.push({ measurement_key: key, run_id: runId, test_name: String(m.test_name), body: JSON.stringify(m) });
  }
  return uploads;
}

/** Queues a run's measurements for the collector; returns how many were new (a run queued twice adds nothing). */
export function enqueueRunUploads(store: Store, config: Pick<Config, 'probeAsn' | 'probeCc'>, outbox: UploadOutbox, runId: string, nowMs = Date.now()): number {
  return outbox.enqueue(uploadsOfRun(store, config, runId), new Date(nowMs).toISOString());
}

/** One pass over the due uploads: open reports as needed, submit, close the finished ones. */
export async function drainUploads(
  outbox: UploadOutbox,
  client: CollectorClient,
  config: Pick<Config, 'probeAsn' | 'probeCc'>,
  options: UploadOptions = {},
): Promise<DrainResult> {
  const now = options.now ?? Date.now;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const result: DrainResult = { delivered: 0, rejected: 0, retried: 0, reportsClosed: 0, pending: 0 };
  const nowMs = now();
  const due = outbox.due(new Date(nowMs).toISOString(), undefined, latestHonestRetryIso(nowMs, Math.max(policy.capMs, MAX_RETRY_AFTER_MS)));
  let held: CollectorError | null = null;
  for (let i = 0; i < due.length; i++) {
    const row = due[i]!;
    try {
      const reportId = await reportFor(outbox, client, config, row, now);
      const content = JSON.parse(row.body) as Record<string, unknown>;
      content.report_id = reportId;
      await client.submit(reportId, content);
      outbox.markDelivered(row.id, row.attempts + 1, new Date(now()).toISOString());
      result.delivered++;
    } catch (err) {
      const e = err instanceof CollectorError ? err : new CollectorError(String((err as Error)?.message ?? err), true, null);
      // The collector forgot the report (expired, or it restarted): a new one is opened next time.
      if (e.status === 404) outbox.markReportClosed(row.run_id, row.test_name, new Date(now()).toISOString());
      if (!e.retryable && e.status !== 404) {
        outbox.markRejected(row.id, row.attempts + 1, e.message);
        result.rejected++;
        continue;
      }
      // A collector's Retry-After is honoured up to MAX_RETRY_AFTER_MS: a year-long one would stall the queue.
      const delay = Math.max(retryDelayMs(row.attempts + 1, options.random, policy), Math.min(e.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
      const next = new Date(now() + delay).toISOString();
      outbox.markRetry(row.id, row.attempts + 1, next, e.message);
      result.retried++;
      // A collector that is down is down for every row: the rest wait as long, their attempts unchanged.
      for (const rest of due.slice(i + 1)) outbox.markRetry(rest.id, rest.attempts, next, e.message);
      held = e;
      break;
    }
  }
  if (!held) result.reportsClosed = await closeFinished(outbox, client, now);
  result.pending = outbox.counts().pending;
  return result;
}

async function reportFor(outbox: UploadOutbox, client: CollectorClient, config: Pick<Config, 'probeAsn' | 'probeCc'>, row: UploadRow, now: () => number): Promise<string> {
  const open = outbox.openReport(row.run_id, row.test_name);
  if (open) return open.report_id;
  const m = JSON.parse(row.body) as Record<string, unknown>;
  const reportId = await client.openReport({
    software_name: String(m.software_name),
    software_version: String(m.software_version),
    probe_asn: config.probeAsn,
    probe_cc: config.probeCc,
    test_name: row.test_name,
    test_version: String(m.test_version),
    data_format_version: String(m.data_format_version),
  });
  outbox.saveReport(row.run_id, row.test_name, reportId, new Date(now()).toISOString());
  return reportId;
}

async function closeFinished(outbox: UploadOutbox, client: CollectorClient, now: () => number): Promise<number> {
  let closed = 0;
  for (const report of outbox.closableReports()) {
    try {
      await client.closeReport(report.report_id);
    } catch (err) {
      // Closing is a courtesy (a collector closes idle reports itself): only an unreachable one is tried again.
      if (err instanceof CollectorError && err.retryable) break;
    }
    outbox.markReportClosed(report.run_id, report.test_name, new Date(now()).toISOString());
    closed++;
  }
  return closed;
}

export interface Uploader {
  /** Queues a finished run's measurements and wakes the uploader; returns how many were new. */
  enqueueRun(runId: string): number;
  /** Drains now (also what the timer does). */
  drain(): Promise<DrainResult>;
  stop(): Promise<void>;
}

export interface UploaderDeps {
  store: Store;
  config: Pick<Config, 'collector' | 'probeAsn' | 'probeCc'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How often due uploads are looked for (default 30 s). */
  pollMs?: number;
  options?: UploadOptions;
}

/** The daemon's uploader: null work when the collector is off (enqueueRun queues nothing). */
export function startUploader({ store, config, logger, pollMs = 30_000, options = {} }: UploaderDeps): Uploader {
  const collector = collectorOf(config);
  if (!collector) return { enqueueRun: () => 0, drain: async () => ({ delivered: 0, rejected: 0, retried: 0, reportsClosed: 0, pending: 0 }), stop: async () => {} };
  const outbox = store.uploadOutbox(collectorDestination(collector.url));
  const client = new CollectorClient(collector.url, options.timeoutMs);
  let running: Promise<DrainResult> | null = null;
  let stopped = false;
  const drain = (): Promise<DrainResult> => {
    running ??= drainUploads(outbox, client, config, options)
      .then((r) => {
        if (r.delivered || r.rejected || r.retried) logger.info({ ...r }, 'collector upload');
        return r;
      })
      .catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'collector upload failed');
        return { delivered: 0, rejected: 0, retried: 0, reportsClosed: 0, pending: outbox.counts().pending };
      })
      .finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => void (stopped || drain()), pollMs);
  timer.unref();
  return {
    enqueueRun(runId) {
      if (stopped) return 0;
      const added = enqueueRunUploads(store, config, outbox, runId, (options.now ?? Date.now)());
      void drain();
      return added;
    },
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
