// Change detection: a state machine per input over successive sweep verdicts,
// plus the network-wide machines of network-changes.ts (the probe's own
// network, a shutdown of foreign traffic, the control helpers).
//
// Pure: no I/O and no clock; time arrives with the observations. The state is
// plain JSON, so the pipeline saves it after each sweep and a restarted daemon
// continues where it was; replay() rebuilds it from stored verdicts.
//
// Debouncing follows Censored Planet's "an anomaly only after retries": a new
// state is confirmed only after K consecutive sweeps agree on it, so a
// flapping target does not alert on every flap.
import { UNIT_KINDS, unitKindOfProbe } from '../experiments/registry.js';
import type { EventKind, StoredEvent, Verdict } from '../model.js';
import {
  DEFAULT_CONFIRM_SWEEPS,
  DEFAULT_SHUTDOWN_FRACTION,
  DEFAULT_SHUTDOWN_MIN_INPUTS,
  eventId,
  initialState,
  inputKey,
  isBlocking,
  isSilent,
  phase,
  PROCESSED_RUNS_KEPT,
  severity,
  toVerdict,
  type DetectOptions,
  type DetectorState,
  type InputState,
  type SweepObservation,
  type SweepUnit,
  type UnitKind,
} from './change-types.js';
import { classifyControl, classifyOffline, classifyShutdown, classifyStorage, controlMachine, networkEvent, stepMachine } from './network-changes.js';

export * from './change-types.js';
export { observationsFromRows, streamObservations, type VerdictRowLike } from './change-rows.js';
export { UNIT_KINDS, unitKindOfProbe };

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
  const storage = classifyStorage(sweep.storage);
  if (storage.judgeable) {
    next.storage ??= { confirmed: 'ok', since: null, streak: null, evidence: null };
    // Both ways at once: measurements lost is news now, and so is the first sweep stored in full.
    const change = stepMachine(next.storage, storage.like ? 'failing' : 'ok', sweep.at, storage.ids, storage.evidence, 1);
    if (change) events.push(networkEvent(change.to === 'failing' ? 'storage.failing' : 'storage.ok', sweep, change));
  }
  const control = classifyControl(sweep.control);
  // With the probe's own network down, no helper can answer: that is network.offline's news, not the control's.
  if (control.judgeable && !offline.like) {
    next.control ??= controlMachine();
    // Down at once (verdicts degrade from this sweep on, and the volunteer should know); up only after K
    // sweeps agree, so a flapping helper alerts once per outage, not on every flap.
    const observed = control.like ? 'down' : 'up';
    const change = stepMachine(next.control, observed, sweep.at, control.ids, control.evidence, observed === 'down' ? 1 : k);
    if (change) events.push(networkEvent(change.to === 'down' ? 'control.down' : 'control.up', sweep, change));
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

/** The network's state as the detector has confirmed it. */
export function networkMode(state: DetectorState): { mode: 'normal' | 'offline' | 'captive' | 'shutdown'; since: string | null } {
  if (state.offline.confirmed === 'offline') {
    // The sweeps that confirmed it were captive (network.captive): a portal, not a dead link.
    const captive = state.offline.evidence?.captive;
    return { mode: typeof captive === 'number' && captive > 0 ? 'captive' : 'offline', since: state.offline.since };
  }
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
    if (typeof u.failed === 'boolean') unit.failed = u.failed;
    const key = inputKey(unit.url, unit.kind);
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, unit);
    else {
      seen.measurement_ids.push(...unit.measurement_ids);
      if (severity(unit.verdict) > severity(seen.verdict)) seen.verdict = unit.verdict;
      // A duplicate input failed if either measurement of it failed to reach the target.
      if (unit.failed !== undefined) seen.failed = (seen.failed ?? false) || unit.failed;
    }
  }
  return [...byKey.values()];
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
