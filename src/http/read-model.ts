// What the dashboard, the JSON API and `rasad status` show, read from the
// store: the current state of each input grouped (websites, messaging apps,
// circumvention tools; target-groups.ts) and by category, the network's
// mode, whether the control answers, what each count counts, and the last
// run of each schedule. The time series are in read-series.ts.
// Read-only: works on a database opened read-only, and on one older than
// migration 2 (then the latest verdicts stand in for confirmed states).
import { networkMode, type DetectorState } from '../analysis/changes.js';
import { UNIT_KINDS, experimentOfProbe } from '../experiments/registry.js';
import type { ScheduleName } from '../experiments/types.js';
import { BLOCKING_VERDICTS, type Verdict } from '../model.js';
import type { RunRow, Store } from '../store/store.js';
import { shownState } from './input-state.js';
import { TARGET_GROUPS, groupOfInput, type TargetGroup } from './target-groups.js';
import { readControl, type ControlView } from './read-control.js';

export { readCharts, readTimeline, type ChartsView, type TimelineView } from './read-series.js';
export type { ControlView } from './read-control.js';

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
  /** websites, apps (app://) or tools (circumvention experiments and circumvention-tagged targets). */
  group: TargetGroup;
  /**
   * The confirmed verdict; else 'pending' while a change is being confirmed (or before any
   * measurement); else the last verdict, when it is one the change detector never confirms
   * (down, inconclusive, network.offline, network.captive, site.geoblocked).
   */
  state: string;
  /** ok | blocked | pending (a change is being confirmed) | other (down, offline, captive, inconclusive, geoblocked). */
  status: 'ok' | 'blocked' | 'pending' | 'other';
  since: string;
  updated_at: string;
  /** Per experiment measuring it (web and the long-lived ones; an app's or a tool's own). */
  kinds: Record<string, KindState>;
  /** True when no change detector has confirmed this state (latest verdict only). */
  unconfirmed: boolean;
}

export interface RunView {
  run_id: string;
  started_at: string;
  finished_at: string | null;
  status: RunRow['status'];
  /** Units the sweep planned: one per input and experiment. */
  units: number;
}

/** What each number on the page counts. */
export interface CountsView {
  /** Target lines (targets.txt) with at least one input measured. */
  targets: number;
  /** Inputs: the URLs (http://, https://), tcp:// endpoints, apps (app://) and tool endpoints the targets expand into. */
  inputs: number;
  /** Inputs per experiment: each is one unit of every sweep of its schedule, and one series of rasad_targets. */
  units: Record<string, number>;
}

export interface TargetsView {
  generated_at: string;
  network: { mode: 'normal' | 'offline' | 'captive' | 'shutdown'; since: string | null };
  control: ControlView;
  /** The last web sweep (the hourly one); the last sweep of any kind when no web sweep ran yet. */
  last_run: RunView | null;
  /** The last sweep of the long-lived experiments (tls_duration, throughput, protocol). */
  last_long_run: RunView | null;
  counts: CountsView;
  /** Inputs by status. */
  totals: TotalsView;
  /** Every input by category (all groups together, as before groups). */
  categories: CategoryView[];
  /** The inputs of each group, by category, with the group's own counts; every group, empty ones too, in page order. */
  groups: GroupView[];
}

export interface CategoryView {
  category: string;
  inputs: TargetView[];
}

export interface GroupView {
  group: TargetGroup;
  label: string;
  counts: CountsView;
  totals: TotalsView;
  categories: CategoryView[];
}

export interface TotalsView {
  inputs: number;
  ok: number;
  blocked: number;
  pending: number;
  other: number;
}

/** Runs read to find each schedule's last one. */
const RUNS_SCANNED = 200;

function statusOf(state: string): TargetView['status'] {
  if (state === 'ok') return 'ok';
  if (state === 'pending') return 'pending';
  return BLOCKING_VERDICTS.has(state as Verdict) ? 'blocked' : 'other';
}

/** An input without a confirmed state: pending while any kind is confirming a change, else what its lead kind (web first) last was. */
function unconfirmedState(kinds: Record<string, KindState>): string {
  const ordered = Object.entries(kinds).sort(([a], [b]) => UNIT_KINDS.indexOf(a) - UNIT_KINDS.indexOf(b));
  const changing = ordered.some(([, k]) => k.pending);
  const lastVerdict = ordered.find(([, k]) => k.last_verdict)?.[1].last_verdict ?? null;
  return shownState({ confirmed: null, changing, lastVerdict });
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

function runView(run: RunRow): RunView {
  return { run_id: run.run_id, started_at: run.started_at, finished_at: run.finished_at, status: run.status, units: run.inputs_total };
}

/** The schedules a run's probes belong to (a `rasad once --probes` run may cover both). */
function schedulesOf(run: RunRow): Set<ScheduleName> {
  return new Set(run.probes.flatMap((p) => experimentOfProbe(p)?.schedule ?? []));
}

export function readTargets(store: Store, now: Date = new Date()): TargetsView {
  const rows = store.listTargetStates();
  let targets: TargetView[];
  if (rows.length > 0) {
    const latest = rows.some((r) => !r.category) ? new Map(store.latestVerdicts().map((v) => [v.url, v])) : new Map();
    targets = rows.map((r) => {
      const detector = (r.detector ?? {}) as { tags?: string[]; kinds?: Record<string, KindState> };
      const kinds = detector.kinds ?? {};
      const state = r.state === 'pending' ? unconfirmedState(kinds) : r.state;
      const tags = Array.isArray(detector.tags) ? detector.tags : [];
      return {
        url: r.url,
        target: r.target,
        category: r.category ?? latest.get(r.url)?.category ?? 'MISC',
        tags,
        group: groupOfInput(r.url, tags, Object.keys(kinds)),
        state,
        status: statusOf(state),
        since: r.since,
        updated_at: r.updated_at,
        kinds,
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
      group: groupOfInput(v.url, v.tags),
      state: v.verdict,
      status: statusOf(v.verdict),
      since: v.started_at,
      updated_at: v.started_at,
      kinds: {},
      unconfirmed: true,
    }));
  }
  const groups = TARGET_GROUPS.map(({ group, label }) => {
    const inGroup = targets.filter((t) => t.group === group);
    return { group, label, counts: countsOf(inGroup), totals: totalsOf(inGroup), categories: byCategory(inGroup) };
  });
  const state = readDetectorState(store);
  const runs = store.listRuns(RUNS_SCANNED);
  const lastWeb = runs.find((r) => schedulesOf(r).has('web'));
  const lastLong = runs.find((r) => schedulesOf(r).has('long'));
  const lastAny = lastWeb ?? runs[0];
  return {
    generated_at: now.toISOString(),
    network: state ? networkMode(state) : { mode: 'normal', since: null },
    control: readControl(state, runs),
    last_run: lastAny ? runView(lastAny) : null,
    last_long_run: lastLong ? runView(lastLong) : null,
    counts: countsOf(targets),
    totals: totalsOf(targets),
    categories: byCategory(targets),
    groups,
  };
}

const STATUS_ORDER: Record<TargetView['status'], number> = { blocked: 0, other: 1, pending: 2, ok: 3 };

/** Inputs by category (alphabetical), the blocked first within each. */
function byCategory(targets: readonly TargetView[]): CategoryView[] {
  const grouped = new Map<string, TargetView[]>();
  for (const t of targets) {
    const list = grouped.get(t.category);
    if (list) list.push(t);
    else grouped.set(t.category, [t]);
  }
  return [...grouped.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, inputs]) => ({ category, inputs: inputs.sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.url.localeCompare(b.url)) }));
}

function totalsOf(targets: readonly TargetView[]): TotalsView {
  const totals = { inputs: targets.length, ok: 0, blocked: 0, pending: 0, other: 0 };
  for (const t of targets) totals[t.status] += 1;
  return totals;
}

function countsOf(targets: readonly TargetView[]): CountsView {
  const units: Record<string, number> = {};
  for (const t of targets) for (const kind of Object.keys(t.kinds)) units[kind] = (units[kind] ?? 0) + 1;
  return { targets: new Set(targets.map((t) => t.target)).size, inputs: targets.length, units };
}
