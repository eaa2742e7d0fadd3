// The time series of the dashboard: a verdict timeline per input, and the
// throughput and TLS-lifetime charts of the long-lived experiments.
import { severity } from '../analysis/changes.js';
import { unitKindOfProbe } from '../experiments/registry.js';
import { leadKindsOfInput } from './target-groups.js';
import { BLOCKING_VERDICTS, VERDICTS, type Verdict } from '../model.js';
import type { Store } from '../store/store.js';

export interface TimelineView {
  start: string;
  end: string;
  slot_s: number;
  slots: number;
  /** cells hold indexes into this list; -1 is "not measured". */
  verdicts: readonly string[];
  inputs: { url: string; cells: number[] }[];
}

/** The experiment that leads a web address's timeline. */
const WEB_KIND = 'web';

/** Slots at most in a timeline row (one a pixel column group on the page). */
const TIMELINE_SLOTS_MAX = 168;

/**
 * The colour of each input in each time slot over the last `days` days: the
 * worst verdict of its lead experiment in the slot. A web address is led by
 * the web experiment; the long-lived experiments (tls_duration, throughput,
 * protocol) colour a slot only with a blocking verdict worse than the web
 * one: an inconclusive throughput test does not turn an ok site yellow. An
 * app (app://) or a tool (tor://, wireguard://, ...) is led by its own
 * experiment, a tcp:// endpoint by the long-lived experiments measuring it
 * (target-groups.ts). An input none of whose lead experiments measured it is
 * coloured by the worst verdict of the others.
 */
export function readTimeline(store: Store, days: number, now: Date = new Date()): TimelineView {
  const spanS = days * 86400;
  const slotS = Math.max(3600, Math.ceil(spanS / TIMELINE_SLOTS_MAX / 3600) * 3600);
  const nowS = Math.floor(now.getTime() / 1000);
  const endS = (Math.floor(nowS / slotS) + 1) * slotS;
  const startS = endS - Math.ceil(spanS / slotS) * slotS;
  const slots = (endS - startS) / slotS;
  const rows = new Map<string, { leadKinds: ReadonlySet<string>; lead: number[]; others: number[]; measuredByLead: boolean }>();
  for (const cell of store.iterateVerdictCells(new Date(startS * 1000).toISOString())) {
    const t = Date.parse(cell.started_at) / 1000;
    const slot = Math.floor((t - startS) / slotS);
    if (!(slot >= 0 && slot < slots)) continue;
    const index = VERDICTS.indexOf(cell.verdict as Verdict);
    if (index < 0) continue;
    let row = rows.get(cell.url);
    if (!row) {
      row = { leadKinds: leadKindsOfInput(cell.url, WEB_KIND), lead: new Array<number>(slots).fill(-1), others: new Array<number>(slots).fill(-1), measuredByLead: false };
      rows.set(cell.url, row);
    }
    const lead = row.leadKinds.has(unitKindOfProbe(cell.probe) ?? '');
    if (lead) row.measuredByLead = true;
    const cells = lead ? row.lead : row.others;
    const current = cells[slot];
    if (current < 0 || severity(cell.verdict) > severity(VERDICTS[current])) cells[slot] = index;
  }
  return {
    start: new Date(startS * 1000).toISOString(),
    end: new Date(endS * 1000).toISOString(),
    slot_s: slotS,
    slots,
    verdicts: VERDICTS,
    inputs: [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([url, row]) => ({ url, cells: row.measuredByLead ? row.lead.map((w, i) => cellColour(w, row.others[i])) : row.others })),
  };
}

/** A slot's lead verdict, unless another experiment found the input blocked and that is worse. */
function cellColour(lead: number, other: number): number {
  if (other < 0 || !BLOCKING_VERDICTS.has(VERDICTS[other])) return lead;
  return lead < 0 || severity(VERDICTS[other]) > severity(VERDICTS[lead]) ? other : lead;
}

export interface ChartsView {
  /** Unix seconds of each sweep, with the median steady download rate (bytes/s) of domestic and foreign targets. */
  throughput: { t: number[]; domestic: (number | null)[]; foreign: (number | null)[] };
  /** Unix seconds of each sweep, with the shortest and the median TLS session lifetime (s); a session that lived to the horizon counts as the horizon. */
  tls: { t: number[]; min_s: (number | null)[]; median_s: (number | null)[]; horizon_s: number | null };
}

/** Long-lived probe records read for the charts at most. */
const CHART_ROWS_MAX = 5000;

export function readCharts(store: Store, days: number, now: Date = new Date()): ChartsView {
  const since = new Date(now.getTime() - days * 86400_000).toISOString();
  const rows = store.recentMeasurements({ since, probe: ['throughput', 'tls_duration'] }, CHART_ROWS_MAX);
  const throughputRuns = new Map<string, { t: number; domestic: number[]; foreign: number[] }>();
  const tlsRuns = new Map<string, { t: number; lifetimes: number[] }>();
  let horizon: number | null = null;
  for (const m of rows) {
    const t = Math.floor(Date.parse(m.started_at) / 1000);
    if (!Number.isFinite(t)) continue;
    const d = (m.details ?? {}) as Record<string, unknown>;
    if (m.probe === 'throughput') {
      const rate = throughputRate(d);
      if (rate === null) continue;
      const run = throughputRuns.get(m.run_id) ?? { t, domestic: [], foreign: [] };
      run.t = Math.min(run.t, t);
      const domestic = d.domestic === true || (m.tags ?? []).includes('domestic');
      (domestic ? run.domestic : run.foreign).push(rate);
      throughputRuns.set(m.run_id, run);
    } else if (m.probe === 'tls_duration') {
      const lifetime = tlsLifetime(d);
      if (lifetime === null) continue;
      if (typeof d.horizon_s === 'number') horizon = Math.max(horizon ?? 0, d.horizon_s);
      const run = tlsRuns.get(m.run_id) ?? { t, lifetimes: [] };
      run.t = Math.min(run.t, t);
      run.lifetimes.push(lifetime);
      tlsRuns.set(m.run_id, run);
    }
  }
  const tp = [...throughputRuns.values()].sort((a, b) => a.t - b.t);
  const tl = [...tlsRuns.values()].sort((a, b) => a.t - b.t);
  return {
    throughput: { t: tp.map((r) => r.t), domestic: tp.map((r) => median(r.domestic)), foreign: tp.map((r) => median(r.foreign)) },
    tls: { t: tl.map((r) => r.t), min_s: tl.map((r) => (r.lifetimes.length ? Math.min(...r.lifetimes) : null)), median_s: tl.map((r) => median(r.lifetimes)), horizon_s: horizon },
  };
}

function throughputRate(d: Record<string, unknown>): number | null {
  if (typeof d.steady_rate_bps === 'number' && Number.isFinite(d.steady_rate_bps)) return d.steady_rate_bps;
  if (typeof d.bytes === 'number' && typeof d.duration_s === 'number' && d.duration_s > 0) return d.bytes / d.duration_s;
  return null;
}

function tlsLifetime(d: Record<string, unknown>): number | null {
  const tls = d.tls as { died_after_s?: unknown; end?: unknown } | undefined;
  if (!tls || typeof tls !== 'object') return null;
  if (typeof tls.died_after_s === 'number' && Number.isFinite(tls.died_after_s)) return tls.died_after_s;
  if (tls.end === 'horizon' && typeof d.horizon_s === 'number') return d.horizon_s;
  return null;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
