// Change detection: a state machine per input over successive sweep verdicts,
// plus two network-wide machines (the probe's own network offline/online, and
// a shutdown of foreign traffic while domestic canaries work).
//
// Pure: no I/O and no clock; time arrives with the observations. The state is
// plain JSON, so the pipeline saves it after each sweep and a restarted daemon
// continues where it was; replay() rebuilds it from stored verdicts.
//
// Debouncing follows Censored Planet's "an anomaly only after retries": a new
// state is confirmed only after K consecutive sweeps agree on it, so a
// flapping target does not alert on every flap.
import { createHash } from 'node:crypto';
import { UNIT_KINDS, unitKindOfProbe } from '../experiments/registry.js';
import { BLOCKING_VERDICTS, VERDICTS, type EventKind, type StoredEvent, type Verdict } from '../model.js';

export { UNIT_KINDS, unitKindOfProbe };
export type UnitKind = string;

export interface SweepUnit {
  target: string;
  url: string;
  tags: string[];
  kind: UnitKind;
  verdict: Verdict;
  measurement_ids: string[];
  /** Citizen Lab category of the target (optional; kept for the status and dashboard views). */
  category?: string;
}

export interface SweepObservation {
  run_id: string;
  /** ISO-8601: when the sweep started. */
  at: string;
  units: SweepUnit[];
}

export interface DetectOptions {
  /** K: consecutive sweeps that must agree before a new state is confirmed (default 2). */
  confirmSweeps: number;
  /** Share of foreign web inputs failing at once that reads as a shutdown (default 0.8). */
  shutdownFraction?: number;
  /** Fewer foreign web inputs than this can never read as a shutdown (default 3). */
  shutdownMinInputs?: number;
}

/** A run of consecutive sweeps that disagree with the confirmed state and agree with each other. */
export interface Streak<S extends string> {
  value: S;
  count: number;
  /** `at` of the streak's first sweep. */
  since: string;
  measurement_ids: string[];
  verdicts: S[];
}

export interface InputState {
  target: string;
  url: string;
  kind: UnitKind;
  tags: string[];
  category: string | null;
  /** The confirmed verdict: ok or a blocking verdict; null until K sweeps agreed. */
  confirmed: Verdict | null;
  /** `at` of the first sweep of the streak that confirmed it. */
  confirmed_since: string | null;
  streak: Streak<Verdict> | null;
  last_verdict: Verdict | null;
  last_at: string | null;
}

export interface NetworkMachine<S extends string> {
  confirmed: S;
  since: string | null;
  streak: Streak<S> | null;
  /** Evidence of the sweep that last advanced the streak (counts, fractions). */
  evidence: Record<string, unknown> | null;
}

export interface DetectorState {
  version: 1;
  /** By inputKey(url, kind). */
  inputs: Record<string, InputState>;
  offline: NetworkMachine<'online' | 'offline'>;
  shutdown: NetworkMachine<'normal' | 'shutdown'>;
  /** The latest run ids seen, so that feeding a sweep twice changes nothing. */
  processed_runs: string[];
  last_run_id: string | null;
  last_at: string | null;
}

const DEFAULT_CONFIRM_SWEEPS = 2;
const DEFAULT_SHUTDOWN_FRACTION = 0.8;
const DEFAULT_SHUTDOWN_MIN_INPUTS = 3;
const PROCESSED_RUNS_KEPT = 200;
const VERDICT_SET: ReadonlySet<string> = new Set(VERDICTS);

export function inputKey(url: string, kind: UnitKind): string {
  return `${kind} ${url}`;
}

export function initialState(): DetectorState {
  return {
    version: 1,
    inputs: {},
    offline: { confirmed: 'online', since: null, streak: null, evidence: null },
    shutdown: { confirmed: 'normal', since: null, streak: null, evidence: null },
    processed_runs: [],
    last_run_id: null,
    last_at: null,
  };
}

export function isBlocking(verdict: string | null | undefined): boolean {
  return verdict != null && BLOCKING_VERDICTS.has(verdict as Verdict);
}

/** Verdicts that say nothing about the target: they neither confirm nor reset a state. */
function isSilent(verdict: Verdict): boolean {
  return verdict === 'down' || verdict === 'inconclusive' || verdict === 'network.offline' || verdict === 'site.geoblocked';
}

/** The two states an input can be confirmed in; blocking verdicts of any kind agree with each other. */
function phase(verdict: Verdict): 'ok' | 'blocked' {
  return verdict === 'ok' ? 'ok' : 'blocked';
}

/** Higher is worse: used to merge duplicate units and to colour timelines. */
export function severity(verdict: string): number {
  if (verdict === 'ok') return 0;
  if (verdict === 'down' || verdict === 'site.geoblocked') return 1;
  if (verdict === 'inconclusive') return 2;
  if (verdict === 'network.offline') return 3;
  return isBlocking(verdict) ? 4 : 2;
}

/** A stable id from the event's content and its confirming run: replaying the same history gives the same ids. */
export function eventId(kind: EventKind, runId: string, url: string | null, unitKind: string | null, verdict: string | null): string {
  return createHash('sha256').update(JSON.stringify([kind, runId, url, unitKind, verdict])).digest('hex').slice(0, 32);
}

/**
 * Feeds one sweep to the detector. Returns the new state (the given one is
 * not modified) and the events this sweep confirmed. A sweep already seen
 * (same run_id) changes nothing.
 */
export function detectChanges(state: DetectorState, sweep: SweepObservation, opts: DetectOptions): { state: DetectorState; events: StoredEvent[] } {
  assertSweep(sweep);
  const next = cloneState(state);
  if (next.processed_runs.includes(sweep.run_id)) return { state: next, events: [] };

  const k = positiveInt(opts.confirmSweeps, DEFAULT_CONFIRM_SWEEPS);
  const fraction = fractionOr(opts.shutdownFraction, DEFAULT_SHUTDOWN_FRACTION);
  const minInputs = positiveInt(opts.shutdownMinInputs, DEFAULT_SHUTDOWN_MIN_INPUTS);
  const units = normaliseUnits(sweep.units);
  const events: StoredEvent[] = [];

  const offline = classifyOffline(units);
  const shutdown = offline.like ? null : classifyShutdown(units, next.inputs, fraction, minInputs);
  // Nothing is blamed on single targets while the network itself is the story.
  const frozen = offline.like || shutdown?.like === true || next.shutdown.confirmed === 'shutdown';

  if (offline.judgeable) {
    const change = stepMachine(next.offline, offline.like ? 'offline' : 'online', sweep.at, offline.ids, offline.evidence, k);
    if (change) events.push(networkEvent(change.to === 'offline' ? 'network.offline' : 'network.online', sweep, change));
  }
  if (shutdown?.judgeable) {
    const change = stepMachine(next.shutdown, shutdown.like ? 'shutdown' : 'normal', sweep.at, shutdown.ids, shutdown.evidence, k);
    if (change) events.push(networkEvent(change.to === 'shutdown' ? 'shutdown' : 'restored', sweep, change));
  }

  const targetEvents: StoredEvent[] = [];
  for (const unit of units) {
    const key = inputKey(unit.url, unit.kind);
    const input = (next.inputs[key] ??= newInput(unit));
    input.target = unit.target;
    input.tags = [...unit.tags];
    if (unit.category) input.category = unit.category;
    input.last_verdict = unit.verdict;
    input.last_at = sweep.at;
    if (frozen) continue;
    const event = stepInput(input, unit, sweep, k);
    if (event) targetEvents.push(event);
  }
  events.push(...markHttpsUnblocked(targetEvents, next));

  next.processed_runs.push(sweep.run_id);
  if (next.processed_runs.length > PROCESSED_RUNS_KEPT) next.processed_runs.splice(0, next.processed_runs.length - PROCESSED_RUNS_KEPT);
  next.last_run_id = sweep.run_id;
  if (!next.last_at || sweep.at > next.last_at) next.last_at = sweep.at;
  return { state: next, events };
}

/** Feeds sweeps in order; returns the final state and every event. */
export function replay(observations: Iterable<SweepObservation>, opts: DetectOptions, from: DetectorState = initialState()): { state: DetectorState; events: StoredEvent[] } {
  let state = from;
  const events: StoredEvent[] = [];
  for (const sweep of observations) {
    const result = detectChanges(state, sweep, opts);
    state = result.state;
    events.push(...result.events);
  }
  return { state, events };
}

/** A stored verdict (one measurement), as the store gives it back for a replay. */
export interface VerdictRowLike {
  measurement_id: string;
  run_id: string;
  run_started_at?: string | null;
  started_at: string;
  target: string;
  url: string;
  probe: string;
  category?: string;
  verdict: string;
  tags: string[];
}

interface RunBuilder {
  run_id: string;
  at: string;
  units: Map<string, SweepUnit>;
}

function addRow(run: RunBuilder, row: VerdictRowLike): void {
  const kind = unitKindOfProbe(row.probe);
  if (!kind) return;
  if (!row.run_started_at && row.started_at < run.at) run.at = row.started_at;
  const key = inputKey(row.url, kind);
  const verdict = toVerdict(row.verdict);
  const unit = run.units.get(key);
  if (!unit) {
    run.units.set(key, { target: row.target, url: row.url, tags: row.tags, kind, verdict, measurement_ids: [row.measurement_id], category: row.category });
  } else {
    unit.measurement_ids.push(row.measurement_id);
    // The web probes of one input share a verdict; should they not, the worst one stands.
    if (severity(verdict) > severity(unit.verdict)) unit.verdict = verdict;
  }
}

const newRun = (row: VerdictRowLike): RunBuilder => ({ run_id: row.run_id, at: row.run_started_at ?? row.started_at, units: new Map() });
const toObservation = (run: RunBuilder): SweepObservation => ({ run_id: run.run_id, at: run.at, units: [...run.units.values()] });

/**
 * Groups stored verdict rows (one per measurement, in any order) into sweep
 * observations, one per run, ordered by the run's start.
 */
export function observationsFromRows(rows: Iterable<VerdictRowLike>): SweepObservation[] {
  const runs = new Map<string, RunBuilder>();
  for (const row of rows) {
    let run = runs.get(row.run_id);
    if (!run) runs.set(row.run_id, (run = newRun(row)));
    addRow(run, row);
  }
  return [...runs.values()].map(toObservation).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/**
 * The same from rows already ordered by run (as Store.iterateVerdictRows
 * gives them): yields each run as soon as it is complete, so a replay of
 * weeks of verdicts holds one run in memory at a time.
 */
export function* streamObservations(rows: Iterable<VerdictRowLike>): IterableIterator<SweepObservation> {
  let run: RunBuilder | null = null;
  for (const row of rows) {
    if (run && row.run_id !== run.run_id) {
      if (run.units.size) yield toObservation(run);
      run = null;
    }
    run ??= newRun(row);
    addRow(run, row);
  }
  if (run?.units.size) yield toObservation(run);
}

/** The network's state as the detector has confirmed it. */
export function networkMode(state: DetectorState): { mode: 'normal' | 'offline' | 'shutdown'; since: string | null } {
  if (state.offline.confirmed === 'offline') return { mode: 'offline', since: state.offline.since };
  if (state.shutdown.confirmed === 'shutdown') return { mode: 'shutdown', since: state.shutdown.since };
  return { mode: 'normal', since: null };
}

// --- per input ---------------------------------------------------------------

function newInput(unit: SweepUnit): InputState {
  return {
    target: unit.target,
    url: unit.url,
    kind: unit.kind,
    tags: [...unit.tags],
    category: unit.category ?? null,
    confirmed: null,
    confirmed_since: null,
    streak: null,
    last_verdict: null,
    last_at: null,
  };
}

function stepInput(input: InputState, unit: SweepUnit, sweep: SweepObservation, k: number): StoredEvent | null {
  const verdict = unit.verdict;
  if (isSilent(verdict)) return null;
  if (input.confirmed !== null && phase(input.confirmed) === phase(verdict)) {
    // Agreement resets a pending change. A different blocking method (say
    // dns.injected, then http.blockpage) is still "blocked": no event, but the
    // state shows the latest method.
    input.streak = null;
    if (verdict !== input.confirmed) input.confirmed = verdict;
    return null;
  }
  const streak = input.streak && phase(input.streak.value) === phase(verdict) ? input.streak : null;
  input.streak = streak
    ? { ...streak, value: verdict, count: streak.count + 1, measurement_ids: [...streak.measurement_ids, ...unit.measurement_ids], verdicts: [...streak.verdicts, verdict] }
    : { value: verdict, count: 1, since: sweep.at, measurement_ids: [...unit.measurement_ids], verdicts: [verdict] };
  if (input.streak.count < k) return null;

  const confirming = input.streak;
  const previous = input.confirmed;
  input.confirmed = confirming.value;
  input.confirmed_since = confirming.since;
  input.streak = null;
  // The first confirmed state of an input is news only when it is a block.
  if (previous === null && confirming.value === 'ok') return null;
  const kind: EventKind = confirming.value === 'ok' ? 'unblocked' : 'blocked';
  const verdict_ = kind === 'blocked' ? confirming.value : previous;
  return {
    event_id: eventId(kind, sweep.run_id, input.url, input.kind, verdict_),
    kind,
    target: input.target,
    url: input.url,
    verdict: verdict_,
    at: sweep.at,
    measurement_ids: confirming.measurement_ids,
    details: {
      unit_kind: input.kind,
      category: input.category,
      tags: input.tags,
      previous,
      since: confirming.since,
      sweeps: confirming.count,
      verdicts: confirming.verdicts,
      run_id: sweep.run_id,
    },
  };
}

/**
 * The July 2014 case: an https:// input is unblocked while the http:// input
 * of the same host stays blocked. Its `unblocked` event becomes one
 * `https_unblocked` event (one alert per change, with the http side as evidence).
 */
function markHttpsUnblocked(events: StoredEvent[], state: DetectorState): StoredEvent[] {
  return events.map((event) => {
    if (event.kind !== 'unblocked' || event.details.unit_kind !== 'web' || !event.url) return event;
    const host = webHost(event.url, 'https:');
    if (!host) return event;
    const httpInput = Object.values(state.inputs).find(
      (i) => i.kind === 'web' && webHost(i.url, 'http:') === host && i.confirmed !== null && isBlocking(i.confirmed),
    );
    if (!httpInput) return event;
    const runId = String(event.details.run_id);
    return {
      ...event,
      event_id: eventId('https_unblocked', runId, event.url, 'web', httpInput.confirmed),
      kind: 'https_unblocked',
      verdict: httpInput.confirmed,
      details: {
        ...event.details,
        host,
        https_url: event.url,
        http_url: httpInput.url,
        http_verdict: httpInput.confirmed,
        http_blocked_since: httpInput.confirmed_since,
        https_previous: event.details.previous,
      },
    };
  });
}

/** The host of a URL with the given scheme, lower case and without a leading "www."; null otherwise. */
function webHost(url: string, scheme: 'http:' | 'https:'): string | null {
  try {
    const u = new URL(url);
    if (u.protocol !== scheme) return null;
    return u.hostname.toLowerCase().replace(/^www\./, '');
  } catch {
    return null;
  }
}

// --- the network -------------------------------------------------------------

interface NetworkObservation {
  /** The sweep says something about this machine at all. */
  judgeable: boolean;
  like: boolean;
  ids: string[];
  evidence: Record<string, unknown>;
}

/** Offline: most units that say anything say network.offline (the analysis found the canaries failing too). */
function classifyOffline(units: SweepUnit[]): NetworkObservation {
  const decisive = units.filter((u) => u.verdict !== 'down' && u.verdict !== 'inconclusive');
  const offline = decisive.filter((u) => u.verdict === 'network.offline');
  const like = offline.length > 0 && offline.length * 2 >= decisive.length;
  const evidence = { units: units.length, decisive: decisive.length, offline: offline.length };
  return { judgeable: decisive.length > 0, like, ids: (like ? offline : decisive).flatMap((u) => u.measurement_ids), evidence };
}

/**
 * Shutdown: at least `fraction` of the foreign web inputs fail with a
 * blocking or network verdict in one sweep, while most domestic canaries
 * (at least one) are ok. A shutdown is a change, so inputs already confirmed
 * blocked do not count (where most of the test list is blocked every day,
 * that is censorship as usual, not a shutdown); nor do inputs that are down
 * from the control too.
 */
function classifyShutdown(units: SweepUnit[], inputs: Record<string, InputState>, fraction: number, minInputs: number): NetworkObservation {
  const web = units.filter((u) => u.kind === 'web');
  const alreadyBlocked = (u: SweepUnit) => isBlocking(inputs[inputKey(u.url, u.kind)]?.confirmed);
  const foreignAll = web.filter((u) => !u.tags.includes('domestic') && u.verdict !== 'down');
  const foreign = foreignAll.filter((u) => !alreadyBlocked(u));
  const domestic = web.filter((u) => u.tags.includes('domestic') && u.verdict !== 'down' && u.verdict !== 'inconclusive');
  const failing = foreign.filter((u) => isBlocking(u.verdict) || u.verdict === 'network.offline');
  const domesticOk = domestic.filter((u) => u.verdict === 'ok');
  const judgeable = foreign.length >= minInputs && domestic.length > 0;
  const share = foreign.length ? failing.length / foreign.length : 0;
  const like = judgeable && share >= fraction && domesticOk.length > 0 && domesticOk.length * 2 >= domestic.length;
  const verdictCounts: Record<string, number> = {};
  for (const u of failing) verdictCounts[u.verdict] = (verdictCounts[u.verdict] ?? 0) + 1;
  const evidence = {
    foreign_inputs: foreign.length,
    already_blocked: foreignAll.length - foreign.length,
    failing: failing.length,
    fraction: Math.round(share * 1000) / 1000,
    domestic_ok: domesticOk.length,
    domestic_total: domestic.length,
    verdict_counts: verdictCounts,
    failing_sample: failing.slice(0, 10).map((u) => u.url),
  };
  const ids = (like ? failing : foreign.filter((u) => u.verdict === 'ok')).flatMap((u) => u.measurement_ids);
  return { judgeable, like, ids, evidence };
}

function stepMachine<S extends string>(
  machine: NetworkMachine<S>,
  observed: S,
  at: string,
  ids: string[],
  evidence: Record<string, unknown>,
  k: number,
): { from: S; to: S; fromSince: string | null; streak: Streak<S>; evidence: Record<string, unknown> } | null {
  if (observed === machine.confirmed) {
    machine.streak = null;
    return null;
  }
  const streak = machine.streak && machine.streak.value === observed ? machine.streak : null;
  machine.streak = streak
    ? { ...streak, count: streak.count + 1, measurement_ids: [...streak.measurement_ids, ...ids], verdicts: [...streak.verdicts, observed] }
    : { value: observed, count: 1, since: at, measurement_ids: [...ids], verdicts: [observed] };
  machine.evidence = evidence;
  if (machine.streak.count < k) return null;
  const change = { from: machine.confirmed, to: observed, fromSince: machine.since, streak: machine.streak, evidence };
  machine.confirmed = observed;
  machine.since = machine.streak.since;
  machine.streak = null;
  return change;
}

function networkEvent(
  kind: EventKind,
  sweep: SweepObservation,
  change: { fromSince: string | null; streak: Streak<string>; evidence: Record<string, unknown> },
): StoredEvent {
  const details: Record<string, unknown> = { since: change.streak.since, sweeps: change.streak.count, run_id: sweep.run_id, ...change.evidence };
  if (change.fromSince) {
    details.previous_since = change.fromSince;
    const seconds = (Date.parse(change.streak.since) - Date.parse(change.fromSince)) / 1000;
    if (Number.isFinite(seconds)) details.previous_duration_s = seconds;
  }
  return { event_id: eventId(kind, sweep.run_id, null, null, null), kind, target: null, url: null, verdict: null, at: sweep.at, measurement_ids: change.streak.measurement_ids, details };
}

// --- input hygiene -------------------------------------------------------------

function assertSweep(sweep: SweepObservation): void {
  if (!sweep || typeof sweep !== 'object') throw new TypeError('detectChanges: the sweep is not an object');
  if (typeof sweep.run_id !== 'string' || sweep.run_id === '') throw new TypeError('detectChanges: the sweep has no run_id');
  if (typeof sweep.at !== 'string' || Number.isNaN(Date.parse(sweep.at))) throw new TypeError(`detectChanges: sweep ${sweep.run_id} has no valid "at" time`);
  if (!Array.isArray(sweep.units)) throw new TypeError(`detectChanges: sweep ${sweep.run_id} has no units array`);
}

/** Drops units without a URL or a known kind, maps unknown verdicts to inconclusive, merges duplicates (worst verdict wins). */
function normaliseUnits(units: unknown[]): SweepUnit[] {
  const byKey = new Map<string, SweepUnit>();
  for (const raw of units) {
    const u = raw as Partial<SweepUnit> | null;
    if (!u || typeof u.url !== 'string' || !u.url || !UNIT_KINDS.includes(u.kind as string)) continue;
    const unit: SweepUnit = {
      target: typeof u.target === 'string' ? u.target : u.url,
      url: u.url,
      tags: Array.isArray(u.tags) ? u.tags.filter((t): t is string => typeof t === 'string') : [],
      kind: u.kind as UnitKind,
      verdict: toVerdict(u.verdict),
      measurement_ids: Array.isArray(u.measurement_ids) ? u.measurement_ids.filter((id): id is string => typeof id === 'string') : [],
      category: typeof u.category === 'string' ? u.category : undefined,
    };
    const key = inputKey(unit.url, unit.kind);
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, unit);
    else {
      seen.measurement_ids.push(...unit.measurement_ids);
      if (severity(unit.verdict) > severity(seen.verdict)) seen.verdict = unit.verdict;
    }
  }
  return [...byKey.values()];
}

function toVerdict(value: unknown): Verdict {
  return typeof value === 'string' && VERDICT_SET.has(value) ? (value as Verdict) : 'inconclusive';
}

function cloneState(state: DetectorState): DetectorState {
  if (!state || state.version !== 1 || typeof state.inputs !== 'object' || !state.offline || !state.shutdown) {
    throw new TypeError('detectChanges: not a detector state (version 1)');
  }
  return structuredClone(state);
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Math.floor(Number(value));
  return Number.isFinite(n) && n >= 1 ? n : fallback;
}

function fractionOr(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 && n <= 1 ? n : fallback;
}
