// One human line per alert, for chat webhooks (Slack's and Matrix hookshot's
// `text` field). Plain text: no markup, so every receiver shows it as is.
import type { StoredEvent } from '../model.js';

const LABEL: Record<StoredEvent['kind'], string> = {
  blocked: 'BLOCKED',
  unblocked: 'unblocked',
  https_unblocked: 'HTTPS unblocked',
  shutdown: 'SHUTDOWN',
  restored: 'restored',
  'network.offline': 'probe offline',
  'network.online': 'probe back online',
  'control.down': 'control unreachable',
  'control.up': 'control back',
  'storage.failing': 'MEASUREMENTS LOST',
  'storage.ok': 'storage recovered',
};

/** "2026-11-01 10:00 UTC" from an ISO time; the input as is when it is not one. */
export function shortTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "3 h 20 min" from seconds. */
export function shortDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function eventText(event: StoredEvent): string {
  const d = event.details ?? {};
  const what = event.url ?? event.target ?? 'the network';
  const when = shortTime(event.at);
  const category = typeof d.category === 'string' && d.category ? ` [${d.category}]` : '';
  const unitKind = typeof d.unit_kind === 'string' && d.unit_kind !== 'web' ? ` ${d.unit_kind}` : '';
  switch (event.kind) {
    case 'blocked':
      return `rasad: BLOCKED ${what}${unitKind} (${event.verdict ?? 'blocked'})${category}, since ${shortTime(String(d.since ?? event.at))}`;
    case 'unblocked':
      return `rasad: unblocked ${what}${unitKind} (was ${event.verdict ?? 'blocked'})${category}, at ${when}`;
    case 'https_unblocked':
      return `rasad: HTTPS unblocked for ${String(d.host ?? what)}: ${what} opens while ${String(d.http_url ?? 'http')} stays blocked (${event.verdict ?? 'blocked'}), at ${when}`;
    case 'shutdown':
      return `rasad: SHUTDOWN suspected: ${num(d.failing)} of ${num(d.foreign_inputs)} foreign inputs fail while ${num(d.domestic_ok)}/${num(d.domestic_total)} domestic canaries work, since ${shortTime(String(d.since ?? event.at))}`;
    case 'restored':
      return `rasad: restored: foreign inputs reachable again at ${when}${durationNote(d)}`;
    case 'network.offline':
      if (typeof d.captive === 'number' && d.captive > 0) {
        return `rasad: the probe's own network is captive since ${shortTime(String(d.since ?? event.at))}: every name answers one private address (a login or payment page); nothing is blamed on the targets`;
      }
      return `rasad: the probe's own network is offline since ${shortTime(String(d.since ?? event.at))}; nothing is blamed on the targets`;
    case 'network.online':
      return `rasad: the probe's network is back online at ${when}${durationNote(d)}`;
    case 'control.down':
      return `rasad: no control helper answers since ${shortTime(String(d.since ?? event.at))}; verdicts that need a control are inconclusive until it does`;
    case 'storage.failing':
      return `rasad: the database did not take every measurement of a sweep (${String(d.status ?? 'partial')}: ${num(d.stored)} of ${num(d.measured)} stored) at ${when}; check the disk and the database file`;
    case 'storage.ok':
      return `rasad: sweeps are stored in full again at ${when}${durationNote(d)}`;
    case 'control.up':
      return `rasad: the control helper ${String(d.helper ?? '')} answers again at ${when}${durationNote(d)}`;
    default:
      return `rasad: ${String(LABEL[event.kind as StoredEvent['kind']] ?? event.kind)} ${what} at ${when}`;
  }
}

/** The line of a summary alert that stands for many events: "shutdown: 500 targets…". */
export function summaryText(events: Pick<StoredEvent, 'kind' | 'url' | 'target'>[]): string {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${n} ${LABEL[kind as StoredEvent['kind']] ?? kind}`);
  const names = events.map((e) => e.url ?? e.target).filter((n): n is string => !!n);
  const sample = names.slice(0, 5).join(', ');
  const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
  return `rasad: ${events.length} alerts at once (rate limit): ${parts.join(', ')}${sample ? ` — ${sample}${more}` : ''}`;
}

function num(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '?';
}

function durationNote(d: Record<string, unknown>): string {
  return typeof d.previous_duration_s === 'number' ? ` (after ${shortDuration(d.previous_duration_s)})` : '';
}
