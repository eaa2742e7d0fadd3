// The network-wide machines of the change detector: the probe's own network
// (offline/online), a shutdown of foreign traffic while domestic canaries work
// (restored), and the control helpers (down/up).
import type { EventKind, StoredEvent } from '../model.js';
import {
  eventId,
  inputKey,
  isBlocking,
  type ControlObservation,
  type InputState,
  type NetworkMachine,
  type Streak,
  type SweepObservation,
  type SweepUnit,
} from './change-types.js';

export interface NetworkObservation {
  /** The sweep says something about this machine at all. */
  judgeable: boolean;
  like: boolean;
  ids: string[];
  evidence: Record<string, unknown>;
}

/**
 * Offline: most units that say anything say network.offline (the analysis found the canaries failing
 * too) or network.captive (a captive portal answers every name): either way the probe's own network
 * cannot reach the targets. `captive` in the evidence tells the two apart.
 */
export function classifyOffline(units: SweepUnit[]): NetworkObservation {
  const decisive = units.filter((u) => u.verdict !== 'down' && u.verdict !== 'inconclusive');
  const offline = decisive.filter((u) => u.verdict === 'network.offline' || u.verdict === 'network.captive');
  const captive = offline.filter((u) => u.verdict === 'network.captive').length;
  const like = offline.length > 0 && offline.length * 2 >= decisive.length;
  const evidence = { units: units.length, decisive: decisive.length, offline: offline.length, captive };
  return { judgeable: decisive.length > 0, like, ids: (like ? offline : decisive).flatMap((u) => u.measurement_ids), evidence };
}

/**
 * Shutdown: at least `fraction` of the foreign web inputs fail in one sweep,
 * while most domestic canaries (at least one) work. Judged from raw failures
 * (the unit's probes did not reach the target), not from blocking verdicts:
 * in a real shutdown the control abroad is cut off too, and every verdict
 * that needs it is inconclusive. A shutdown is a change, so inputs already
 * confirmed blocked do not count (where most of the test list is blocked
 * every day, that is censorship as usual); nor do inputs that are down from
 * the control too. Units without raw failure data (old rows) count by verdict.
 */
export function classifyShutdown(units: SweepUnit[], inputs: Record<string, InputState>, fraction: number, minInputs: number): NetworkObservation {
  const web = units.filter((u) => u.kind === 'web');
  const raw = (u: SweepUnit) => typeof u.failed === 'boolean';
  const alreadyBlocked = (u: SweepUnit) => isBlocking(inputs[inputKey(u.url, u.kind)]?.confirmed);
  const foreignAll = web.filter((u) => !u.tags.includes('domestic') && u.verdict !== 'down');
  const foreign = foreignAll.filter((u) => !alreadyBlocked(u));
  const domestic = web.filter((u) => u.tags.includes('domestic') && u.verdict !== 'down' && (raw(u) || u.verdict !== 'inconclusive'));
  const failing = foreign.filter((u) => (raw(u) ? u.failed === true : isBlocking(u.verdict) || u.verdict === 'network.offline'));
  const domesticOk = domestic.filter((u) => (raw(u) ? u.failed === false : u.verdict === 'ok'));
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
    judged_from: foreign.every(raw) ? 'raw failures' : 'verdicts',
    failing_sample: failing.slice(0, 10).map((u) => u.url),
  };
  const ids = (like ? failing : foreign.filter((u) => !failing.includes(u))).flatMap((u) => u.measurement_ids);
  return { judgeable, like, ids, evidence };
}

/** The control: down when no helper answered any query of the sweep, up when one did. */
export function classifyControl(control: ControlObservation | null | undefined): NetworkObservation {
  if (!control || !(control.asked > 0)) return { judgeable: false, like: false, ids: [], evidence: {} };
  const evidence = { asked: control.asked, answered: control.answered, helpers: control.helpers, helper: control.helpers.find((h) => h.up)?.url ?? null };
  return { judgeable: true, like: control.answered === 0, ids: [], evidence };
}

/** Storage: failing when a sweep lost measurements (a full disk, a damaged file), ok when one is stored in full. */
export function classifyStorage(storage: SweepObservation['storage']): NetworkObservation {
  if (!storage || storage.status === 'interrupted') return { judgeable: false, like: false, ids: [], evidence: {} };
  return { judgeable: true, like: storage.status !== 'complete', ids: [], evidence: { status: storage.status, measured: storage.measured, stored: storage.stored } };
}

/** A control machine for a state saved before rasad tracked the control. */
export function controlMachine(): NetworkMachine<'up' | 'down'> {
  return { confirmed: 'up', since: null, streak: null, evidence: null };
}

export function stepMachine<S extends string>(
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

export function networkEvent(
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
