// What the dashboard, the JSON API and `rasad status` show, read from the
// store: the current state of each input grouped by category, the network's
// mode, verdict timelines, and the throughput and TLS-lifetime series.
// Read-only: works on a database opened read-only, and on one older than
// migration 2 (then the latest verdicts stand in for confirmed states).
import { networkMode, severity, type DetectorState } from '../analysis/changes.js';
import { BLOCKING_VERDICTS, VERDICTS, type Verdict } from '../model.js';
import type { RunRow, Store } from '../store/store.js';

export interface KindState {
  confirmed: string | null;
  since: string | null;
  last_verdict: string | null;
  last_at: string | null;
  pending: { verdict: string; count: number; since: string } | null;
}

export interface TargetView {
  url: string;
  target: string;
  category: string;
  tags: string[];
  /** The confirmed verdict, or 'pending'. */
  state: string;
  /** ok | blocked | pending | other (down, offline, inconclusive as the latest verdict of an unconfirmed input). */
  status: 'ok' | 'blocked' | 'pending' | 'other';
  since: string;
  updated_at: string;
  /** Per probe kind (web, tls_duration, throughput, protocol). */
  kinds: Record<string, KindState>;
  /** True when no change detector has confirmed this state (latest verdict only). */
  unconfirmed: boolean;
}

export interface TargetsView {
  generated_at: string;
  network: { mode: 'normal' | 'offline' | 'shutdown'; since: string | null };
  last_run: Pick<RunRow, 'run_id' | 'started_at' | 'finished_at' | 'status'> | null;
  totals: { inputs: number; ok: number; blocked: number; pending: number; other: number };
  categories: { category: string; inputs: TargetView[] }[];
}

function statusOf(state: string): TargetView['status'] {
  if (state === 'ok') return 'ok';
  if (state === 'pending') return 'pending';
  return BLOCKING_VERDICTS.has(state as Verdict) ? 'blocked' : 'other';
}

export function readDetectorState(store: Store): DetectorState | null {
  const snapshot = store.loadDetectorSnapshot();
  if (!snapshot) return null;
  try {
    const state = JSON.parse(snapshot.state) as DetectorState;
    return state?.version === 1 ? state : null;
  } catch {
    return null;
  }
}

export function readTargets(store: Store, now: Date = new Date()): TargetsView {
  const rows = store.listTargetStates();
  let targets: TargetView[];
  if (rows.length > 0) {
    const latest = rows.some((r) => !r.category) ? new Map(store.latestVerdicts().map((v) => [v.url, v])) : new Map();
    targets = rows.map((r) => {
      const detector = (r.detector ?? {}) as { tags?: string[]; kinds?: Record<string, KindState> };
      return {
        url: r.url,
        target: r.target,
        category: r.category ?? latest.get(r.url)?.category ?? 'MISC',
        tags: Array.isArray(detector.tags) ? detector.tags : [],
        state: r.state,
        status: statusOf(r.state),
        since: r.since,
        updated_at: r.updated_at,
        kinds: detector.kinds ?? {},
        unconfirmed: false,
      };
    });
  } else {
    // No detector has run on this database: show what was last measured, marked unconfirmed.
    targets = store.latestVerdicts().map((v) => ({
      url: v.url,
      target: v.target,
      category: v.category || 'MISC',
      tags: v.tags,
      state: v.verdict,
      status: statusOf(v.verdict),
      since: v.started_at,
      updated_at: v.started_at,
      kinds: {},
      unconfirmed: true,
    }));
  }
  const byCategory = new Map<string, TargetView[]>();
  for (const t of targets) {
    const list = byCategory.get(t.category);
    if (list) list.push(t);
    else byCategory.set(t.category, [t]);
  }
  const order: Record<TargetView['status'], number> = { blocked: 0, other: 1, pending: 2, ok: 3 };
  const categories = [...byCategory.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, inputs]) => ({ category, inputs: inputs.sort((a, b) => order[a.status] - order[b.status] || a.url.localeCompare(b.url)) }));
  const totals = { inputs: targets.length, ok: 0, blocked: 0, pending: 0, other: 0 };
  for (const t of targets) totals[t.status] += 1;
  const state = readDetectorState(store);
  const lastRun = store.listRuns(1)[0];
  return {
    generated_at: now.toISOString(),
    network: state ? networkMode(state) : { mode: 'normal', since: null },
    last_run: lastRun ? { run_id: lastRun.run_id, started_at: lastRun.started_at, finished_at: lastRun.finished_at, status: lastRun.status } : null,
    totals,
    categories,
  };
}

export interface TimelineView {
  start: string;
  end: string;
  slot_s: number;
  slots: number;
  /** cells hold indexes into this list; -1 is "not measured". */
  verdicts: readonly string[];
  inputs: { url: string; cells: number[] }[];
}

/** Slots at most in a timeline row (one a pixel column group on the page). */
const TIMELINE_SLOTS_MAX = 168;

/** The worst verdict of each input in each time slot over the last `days` days. */
export function readTimeline(store: Store, days: number, now: Date = new Date()): TimelineView {
  const spanS = days * 86400;
  const slotS = Math.max(3600, Math.ceil(spanS / TIMELINE_SLOTS_MAX / 3600) * 3600);
  const nowS = Math.floor(now.getTime() / 1000);
  const endS = (Math.floor(nowS / slotS) + 1) * slotS;
  const startS = endS - Math.ceil(spanS / slotS) * slotS;
  const slots = (endS - startS) / slotS;
  const rows = new Map<string, number[]>();
  for (const cell of store.iterateVerdictCells(new Date(startS * 1000).toISOString())) {
    const t = Date.parse(cell.started_at) / 1000;
    const slot = Math.floor((t - startS) / slotS);
    if (!(slot >= 0 && slot < slots)) continue;
    const index = VERDICTS.indexOf(cell.verdict as Verdict);
    if (index < 0) continue;
    let cells = rows.get(cell.url);
    if (!cells) rows.set(cell.url, (cells = new Array<number>(slots).fill(-1)));
    const current = cells[slot];
    if (current < 0 || severity(cell.verdict) > severity(VERDICTS[current])) cells[slot] = index;
  }
  return {
    start: new Date(startS * 1000).toISOString(),
    end: new Date(endS * 1000).toISOString(),
    slot_s: slotS,
    slots,
    verdicts: VERDICTS,
    inputs: [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([url, cells]) => ({ url, cells })),
  };
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
