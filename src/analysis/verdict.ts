// The entry point of the analysis: one verdict per unit of a sweep. The sweep
// is judged as a whole first (is the probe's own network down?), then each
// unit by its experiment's judge (src/experiments/<kind>/judge.ts), which may
// read sweep-wide facts its experiment prepared (agreeing cut ages, the
// domestic baseline). Pure: records in, verdicts out; a malformed record
// becomes an inconclusive verdict, never a crash.
import { FAILURE } from '../../probes/failure.js';
import { experimentOf } from '../experiments/registry.js';
import type { VerdictResult } from '../model.js';
import { detectCaptive, type NameAnswer } from './captive.js';
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
  const judgement = startSweepJudgement(options);
  for (const unit of Array.isArray(units) ? units : []) judgement.add(unit);
  return judgement.finish();
}

/**
 * A sweep judged as its units finish. A unit whose experiment judges it
 * alone (web, the apps, the handshakes) is judged when it is added and only
 * its verdict and failure facts are kept, so a sweep's memory does not grow
 * with its measurement records. The units of an experiment that needs the
 * whole sweep (a baseline, agreeing cut ages: `prepare`) are kept to the end.
 * finish() applies the sweep-wide rules (network.captive, network.offline) and judges those.
 */
export interface SweepJudgement {
  /** Takes one finished unit: its index in finish()'s verdicts, and whether its probes failed to reach the target. */
  add(unit: UnitObservation): { index: number; failed: boolean };
  /** One verdict per added unit, in the order they were added. */
  finish(): VerdictResult[];
}

export type SweepJudge = (options: JudgeOptions) => SweepJudgement;

/** What the sweep-wide rules need of a unit. */
interface UnitFacts {
  domestic: boolean;
  failure: UnitFailure;
  /** The name it looked up and what the local resolvers answered (the captive check), or null. */
  name: NameAnswer | null;
}

const NOT_FAILED: UnitFailure = { failed: false, networkLevel: false, failures: [] };

export function startSweepJudgement(options: JudgeOptions): SweepJudgement {
  const facts: (UnitFacts | null)[] = [];
  const early: (VerdictResult | null)[] = [];
  const held = new Map<number, UnitObservation>();
  return {
    add(unit) {
      const index = facts.length;
      if (!unit || typeof unit !== 'object') {
        facts.push(null);
        early.push(malformed('the unit is not an object'));
        return { index, failed: false };
      }
      const failure = safely(() => unitFailure(unit), NOT_FAILED);
      const domestic = safely(() => isDomestic(unit), false);
      facts.push({ domestic, failure, name: safely(() => nameAnswer(unit, domestic), null) });
      if (safely(() => !!experimentOf(unit.kind)?.prepare, false)) {
        held.set(index, unit);
        early.push(null);
      } else {
        early.push(judgeUnit(unit, undefined, options));
      }
      return { index, failed: failure.failed };
    },
    finish() {
      const known = facts.filter((f): f is UnitFacts => f !== null);
      // The network itself first: a captive one (every name answers one private address), then a dead one.
      const network =
        safely(() => detectCaptive(known.flatMap((f) => (f.name ? [f.name] : [])), options.fingerprints ?? null), null) ?? safely(() => detectOffline(known), null);
      if (network) return facts.map(() => ({ ...network, evidence: { ...network.evidence } }));
      const kept = [...held.values()];
      const contexts = new Map<string, unknown>();
      const contextOf = (kind: string) => {
        if (!contexts.has(kind)) {
          const experiment = experimentOf(kind);
          contexts.set(kind, experiment?.prepare ? safely(() => experiment.prepare!(kept, options), undefined) : undefined);
        }
        return contexts.get(kind);
      };
      return early.map((verdict, i) => {
        if (verdict) return verdict;
        const unit = held.get(i)!;
        return judgeUnit(unit, safely(() => contextOf(unit.kind), undefined), options);
      });
    },
  };
}

/** A sweep judge for a function that judges all units at once (tests, stand-ins): it keeps every unit to the end. */
export function batchJudge(judgeAll: (units: UnitObservation[], options: JudgeOptions) => VerdictResult[]): SweepJudge {
  return (options) => {
    const units: UnitObservation[] = [];
    return {
      add(unit) {
        units.push(unit);
        return { index: units.length - 1, failed: safely(() => unitFailure(unit).failed, false) };
      },
      finish: () => judgeAll(units, options),
    };
  };
}

/** One unit by its experiment's judge; a malformed unit or a judge that throws gives inconclusive. */
function judgeUnit(unit: UnitObservation, context: unknown, options: JudgeOptions): VerdictResult {
  return safely<VerdictResult>(
    () => {
      const experiment = experimentOf(unit.kind);
      if (!experiment) return malformed(`unknown unit kind "${String((unit as { kind?: unknown }).kind)}"`);
      return experiment.judge(unit, context, options);
    },
    (err) => malformed((err as Error)?.message ?? String(err)),
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

/** The name a unit looked up, every address its local resolvers answered and where its plain-HTTP fetches ended, over all attempts; null when its experiment resolves none. */
function nameAnswer(unit: UnitObservation, domestic: boolean): NameAnswer | null {
  const view = experimentOf(unit.kind)?.captiveView;
  if (!view) return null;
  const host = view.host(unit.url);
  if (!host) return null;
  const attempts = Array.isArray(unit.attempts) ? unit.attempts.filter(Boolean) : [];
  const landings = attempts.map((attempt) => view.landing(unit.url, attempt)).filter((l): l is string => l !== null);
  return {
    host,
    domestic,
    addresses: [...new Set(attempts.flatMap((attempt) => view.addresses(attempt)))],
    validated: [...new Set(attempts.flatMap((attempt) => view.validated(unit.url, attempt)))],
    landings: [...new Set(landings)],
  };
}

/** network.offline for every unit, or null when the network was up. */
function detectOffline(units: UnitFacts[]): VerdictResult | null {
  if (units.length === 0) return null;
  const domestic = units.filter((u) => u.domestic).map((u) => u.failure);
  const others = units.filter((u) => !u.domestic).map((u) => u.failure);
  const otherFailed = others.filter((o) => o.failed).length;
  const evidence: Record<string, unknown> = {
    domestic_units: domestic.length,
    domestic_failed: domestic.filter((o) => o.failed).length,
    other_units: others.length,
    other_failed: otherFailed,
    failures_seen: countFailures([...domestic, ...others].flatMap((o) => o.failures)),
  };

  if (domestic.length > 0) {
    if (!domestic.every((o) => o.failed)) return null;
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
  if (!others.every((o) => o.failed && o.networkLevel)) return null;
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
