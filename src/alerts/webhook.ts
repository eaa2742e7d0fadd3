// One webhook POST: the JSON payload of an alert, its HMAC signature, and the
// outcome classified as delivered / retry / rejected. Uses undici with
// connect, header and body timeouts; redirects are not followed.
import { createHash, createHmac } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { classifyError } from '../../probes/failure.js';
import { startPhase } from '../../probes/net.js';
import type { StoredEvent } from '../model.js';
import { retryAfterMs } from './backoff.js';
import { eventText, summaryText } from './text.js';

/** Measurement ids carried in one alert at most; the event in the store keeps them all. */
export const ALERT_MEASUREMENT_IDS_MAX = 100;
/** Events listed in a summary alert at most. */
export const SUMMARY_EVENTS_MAX = 50;

export interface AlertPayload {
  source: 'rasad';
  event_id: string;
  kind: StoredEvent['kind'] | 'summary';
  target: string | null;
  url: string | null;
  verdict: StoredEvent['verdict'];
  at: string;
  measurement_ids: string[];
  details: Record<string, unknown>;
  /** One human line (Slack/Matrix `text`). */
  text: string;
}

export function eventPayload(event: StoredEvent): AlertPayload {
  const ids = event.measurement_ids ?? [];
  const details = ids.length > ALERT_MEASUREMENT_IDS_MAX ? { ...event.details, measurement_ids_total: ids.length } : event.details;
  return {
    source: 'rasad',
    event_id: event.event_id,
    kind: event.kind,
    target: event.target,
    url: event.url,
    verdict: event.verdict,
    at: event.at,
    measurement_ids: ids.slice(0, ALERT_MEASUREMENT_IDS_MAX),
    details,
    text: eventText(event),
  };
}

/** One alert standing for many coalesced ones; its id is derived from theirs. */
export function summaryPayload(parts: AlertPayload[], at: string): AlertPayload {
  const events = parts.flatMap((p) => (p.kind === 'summary' ? ((p.details.events as AlertPayload[] | undefined) ?? []) : [p]));
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
  const id = createHash('sha256').update(JSON.stringify(parts.map((p) => p.event_id))).digest('hex').slice(0, 32);
  return {
    source: 'rasad',
    event_id: `summary-${id}`,
    kind: 'summary',
    target: null,
    url: null,
    verdict: null,
    at,
    measurement_ids: [],
    details: {
      count: events.length,
      counts_by_kind: counts,
      event_ids: events.map((e) => e.event_id),
      events: events.slice(0, SUMMARY_EVENTS_MAX).map((e) => ({ event_id: e.event_id, kind: e.kind, target: e.target, url: e.url, verdict: e.verdict, at: e.at, text: e.text })),
    },
    text: summaryText(events.map((e) => ({ kind: e.kind as StoredEvent['kind'], url: e.url, target: e.target }))),
  };
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** A destination's identity in the outbox: a hash of its URL (the URL itself may hold a token). */
export function destinationKey(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** What a log line may say about a destination: its scheme and host, never its path or query. */
export function describeDestination(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(unparsable URL)';
  }
}

export type DeliveryOutcome =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'retry'; status: number | null; error: string; retryAfterMs: number | null }
  | { outcome: 'rejected'; status: number; error: string };

export interface PostOptions {
  secret?: string;
  timeoutMs: number;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  nowMs: number;
}

/** POSTs one alert body. Never throws: every failure is an outcome. */
export async function postAlert(url: string, body: string, alertId: string, opts: PostOptions): Promise<DeliveryOutcome> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'rasad-alerts',
    'x-rasad-event-id': alertId,
  };
  if (opts.secret) headers['x-rasad-signature'] = signBody(body, opts.secret);
  // A phase, not AbortSignal.any: on Node 20 each AbortSignal.any leaves an entry on its source for good, and
  // opts.signal is the pipeline's, which lives as long as the daemon.
  const phase = startPhase(opts.signal ?? new AbortController().signal, opts.timeoutMs, 'webhook');
  try {
    const res = await request(url, {
      method: 'POST',
      body,
      headers,
      dispatcher: opts.dispatcher,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: phase.signal,
    });
    // The answer's body is not needed, but must be consumed to free the connection.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    const status = res.statusCode;
    if (status >= 200 && status < 300) return { outcome: 'delivered', status };
    // A client error other than timeout/too-early/too-many will not change by retrying.
    if (status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429) {
      return { outcome: 'rejected', status, error: `http_status_${status}` };
    }
    return { outcome: 'retry', status, error: `http_status_${status}`, retryAfterMs: retryAfterMs(res.headers['retry-after'], opts.nowMs) };
  } catch (err) {
    return { outcome: 'retry', status: null, error: classifyError(err), retryAfterMs: null };
  } finally {
    phase.dispose();
  }
}
