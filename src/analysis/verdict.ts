// The entry point of the analysis: one verdict per unit of a sweep. The sweep
// is judged as a whole first (is the probe's own network down?), then each
// unit by its experiment's judge (src/experiments/<kind>/judge.ts), which may
// read sweep-wide facts its experiment prepared (agreeing cut ages, the
// domestic baseline). Pure: records in, verdicts out; a malformed record
// becomes an inconclusive verdict, never a crash.
import { FAILURE } from '../../probes/failure.js';
import { experimentOf } from '../experiments/registry.js';
import type { VerdictResult } from '../model.js';
import { isDomestic, type AttemptResults, type JudgeOptions, type UnitObservation } from './observation.js';

export type { AttemptResults, JudgeOptions, UnitObservation } from './observation.js';

/** Share of the non-domestic units that must fail, with the canaries, for the sweep to be offline. */
export const OFFLINE_SHARE = 0.8;

/** Whether the sweep should run this web unit again before judging (Censored Planet style: a failing measurement is retried, any success clears it). */
export function needsRetry(attempt: AttemptResults, url = '', kind = 'web'): boolean {
  const experiment = experimentOf(kind);
  return !!experiment && experiment.retried && experiment.needsRetry(attempt, url);
}

/** One verdict per unit, same order; every measurement of a unit carries its unit's verdict. */
export function judgeSweep(units: UnitObservation[], options: JudgeOptions): VerdictResult[] {
  const list = Array.isArray(units) ? units : [];
  const offline = safely(() => detectOffline(list), null);
  if (offline) return list.map(() => ({ ...offline, evidence: { ...offline.evidence } }));

  const valid = list.filter((u) => u && typeof u === 'object');
  const contexts = new Map<string, unknown>();
  const contextOf = (kind: string) => {
    if (!contexts.has(kind)) {
      const experiment = experimentOf(kind);
      contexts.set(kind, experiment?.prepare ? safely(() => experiment.prepare!(valid, options), undefined) : undefined);
    }
    return contexts.get(kind);
  };
  return list.map((unit) =>
    safely<VerdictResult>(
      () => {
        if (!unit || typeof unit !== 'object') return malformed('the unit is not an object');
        const experiment = experimentOf(unit.kind);
        if (!experiment) return malformed(`unknown unit kind "${String((unit as { kind?: unknown }).kind)}"`);
        return experiment.judge(unit, contextOf(unit.kind), options);
      },
      (err) => malformed((err as Error)?.message ?? String(err)),
    ),
  );
}

// ---------------------------------------------------------------------------
// The probe's own network

interface UnitFailure {
  failed: boolean;
  networkLevel: boolean;
  failures: string[];
}

const UNREACHABLE = new Set<string>([FAILURE.networkUnreachable, FAILURE.hostUnreachable]);
const DNS_SILENT = new Set<string>([FAILURE.timeout, FAILURE.dnsTemporary, FAILURE.networkUnreachable, FAILURE.hostUnreachable]);

/** How one unit fared, for the sweep-wide view: did it fail, and with what. */
export function unitFailure(unit: UnitObservation): UnitFailure {
  const experiment = experimentOf(unit.kind);
  const attempts = Array.isArray(unit.attempts) ? unit.attempts.filter(Boolean) : [];
  if (!experiment || attempts.length === 0) return { failed: false, networkLevel: false, failures: [] };
  // Any attempt that worked shows the network was up at some point of the sweep.
  const outcomes = attempts.map((attempt) => {
    const { failed, failures } = experiment.outcome(attempt);
    // A DNS lookup that got no answer at all; an NXDOMAIN is an answer, so the network worked.
    const dnsSilent = attempt.dns ? DNS_SILENT.has(attempt.dns.failure ?? '') : false;
    // A control answer means this machine reached the helper: its network is up.
    const networkLevel = failed && !unit.control && (failures.some((f) => UNREACHABLE.has(f)) || dnsSilent);
    return { failed, networkLevel, failures };
  });
  const failed = outcomes.every((o) => o.failed);
  return { failed, networkLevel: failed && outcomes.every((o) => o.networkLevel), failures: outcomes.flatMap((o) => o.failures) };
}

/** network.offline for every unit, or null when the network was up. */
function detectOffline(units: UnitObservation[]): VerdictResult | null {
  const valid = units.filter((u) => u && typeof u === 'object');
  if (valid.length === 0) return null;
  const domestic = valid.filter(isDomestic);
  const others = valid.filter((u) => !isDomestic(u));
  const domesticOutcomes = domestic.map(unitFailure);
  const otherOutcomes = others.map(unitFailure);
  const otherFailed = otherOutcomes.filter((o) => o.failed).length;
  const evidence: Record<string, unknown> = {
    domestic_units: domestic.length,
    domestic_failed: domesticOutcomes.filter((o) => o.failed).length,
    other_units: others.length,
    other_failed: otherFailed,
    failures_seen: countFailures([...domesticOutcomes, ...otherOutcomes].flatMap((o) => o.failures)),
  };

  if (domestic.length > 0) {
    if (!domesticOutcomes.every((o) => o.failed)) return null;
    const share = others.length > 0 ? otherFailed / others.length : 1;
    evidence.other_failed_share = Math.round(share * 1000) / 1000;
    // With nothing but canaries, one failing canary is too thin to call the network down.
    if (others.length === 0 && domestic.length < 2) return null;
    if (share < OFFLINE_SHARE) return null;
    return {
      verdict: 'network.offline',
      verdict_reason: `The probe's own network is down: all ${domestic.length} domestic canar${domestic.length === 1 ? 'y' : 'ies'} failed, and ${otherFailed} of ${others.length} other inputs failed at once. Nothing is blamed on the targets.`,
      evidence,
    };
  }
  // No canary in the sweep: only network-level failures on every unit say "offline".
  if (!otherOutcomes.every((o) => o.failed && o.networkLevel)) return null;
  return {
    verdict: 'network.offline',
    verdict_reason: `The probe's own network is down: every one of the ${others.length} inputs failed with a network-level error (unreachable network or host, or DNS with no answer at all) and no control helper answered. Nothing is blamed on the targets.`,
    evidence,
  };
}

function countFailures(failures: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of failures) counts[f] = (counts[f] ?? 0) + 1;
  return counts;
}

function malformed(why: string): VerdictResult {
  return { verdict: 'inconclusive', verdict_reason: `The measurement record is malformed (${why}); no verdict can rest on it.`, evidence: { malformed: why } };
}

function safely<T>(fn: () => T, fallback: T | ((err: unknown) => T)): T {
  try {
    return fn();
  } catch (err) {
    return typeof fallback === 'function' ? (fallback as (err: unknown) => T)(err) : fallback;
  }
}
