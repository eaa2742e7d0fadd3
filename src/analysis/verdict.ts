// The entry point of the analysis: one verdict per unit of a sweep. The sweep
// is judged as a whole first (is the probe's own network down?), then each
// unit by its kind: web units against the control (web.ts), long-lived ones
// against the rest of the sweep (longlived.ts). Pure: records in, verdicts
// out; a malformed record becomes an inconclusive verdict, never a crash.
import type { DetailsByKind, ProbeKind, ProbeResult, Target } from '../../probes/types.js';
import { FAILURE } from '../../probes/failure.js';
import type { ControlAnswer, VerdictResult } from '../model.js';
import type { Fingerprints } from './fingerprints.js';
import {
  collectCutCandidates,
  DEFAULT_CUT_TOLERANCE_S,
  DEFAULT_MIN_CUT_SESSIONS,
  DEFAULT_THROTTLE_RATIO,
  domesticBaseline,
  isDomestic,
  judgeProtocol,
  judgeThroughput,
  judgeTlsDuration,
} from './longlived.js';
import { judgeWebUnit } from './web.js';

export type AttemptResults = Partial<{ [K in ProbeKind]: ProbeResult<DetailsByKind[K]> }>;

/** One input measured in one sweep: the web probes of one URL ("web" unit), or one long-lived probe of one input. */
export interface UnitObservation {
  kind: 'web' | 'tls_duration' | 'throughput' | 'protocol';
  target: Target;
  url: string;
  /** attempt 0 first; the sweep appends retries while needsRetry() says so. */
  attempts: AttemptResults[];
  /** The control helper's answer for this URL (web units), or null. */
  control: ControlAnswer | null;
  /** A control was configured but none of the helpers answered. */
  controlFailed: boolean;
}

export interface JudgeOptions {
  fingerprints: Fingerprints;
  /** A target at most this fraction of the domestic baseline is throttled (0.1). */
  throttleRatio?: number;
  /** TLS sessions whose death ages differ by at most this many seconds agree (2). */
  cutToleranceS?: number;
  /** Sessions that must agree before a cut is called (2). */
  minCutSessions?: number;
}

/** Share of the non-domestic units that must fail, with the canaries, for the sweep to be offline. */
export const OFFLINE_SHARE = 0.8;

const WEB_KINDS = ['dns', 'tcp', 'tls', 'http'] as const;

/** Whether the sweep should run this web unit again before judging (Censored Planet style: a failing measurement is retried, any success clears it). */
export function needsRetry(attempt: AttemptResults): boolean {
  if (!attempt || typeof attempt !== 'object') return false;
  // Only the web probes: the long-lived ones take minutes and are judged across the sweep.
  return WEB_KINDS.some((kind) => {
    const result = attempt[kind];
    return !!result && typeof result === 'object' && result.failure !== null && result.failure !== undefined;
  });
}

/** One verdict per unit, same order; every measurement of a unit carries its unit's verdict. */
export function judgeSweep(units: UnitObservation[], options: JudgeOptions): VerdictResult[] {
  const list = Array.isArray(units) ? units : [];
  const throttleRatio = positiveOr(options.throttleRatio, DEFAULT_THROTTLE_RATIO);
  const cutToleranceS = nonNegativeOr(options.cutToleranceS, DEFAULT_CUT_TOLERANCE_S);
  const minCutSessions = Math.max(1, Math.floor(positiveOr(options.minCutSessions, DEFAULT_MIN_CUT_SESSIONS)));

  const offline = safely(() => detectOffline(list), null);
  if (offline) return list.map(() => ({ ...offline, evidence: { ...offline.evidence } }));

  const candidates = safely(() => collectCutCandidates(list, cutToleranceS), []);
  const baseline = safely(() => domesticBaseline(list), null);
  return list.map((unit, index) =>
    safely<VerdictResult>(
      () => {
        if (!unit || typeof unit !== 'object') return malformed('the unit is not an object');
        switch (unit.kind) {
          case 'web':
            return judgeWebUnit(unit, options.fingerprints);
          case 'tls_duration':
            return judgeTlsDuration(unit, index, candidates, { cutToleranceS, minCutSessions });
          case 'throughput':
            return judgeThroughput(unit, baseline, throttleRatio);
          case 'protocol':
            return judgeProtocol(unit);
          default:
            return malformed(`unknown unit kind "${String((unit as { kind?: unknown }).kind)}"`);
        }
      },
      (err) => malformed((err as Error)?.message ?? String(err)),
    ),
  );
}

// ---------------------------------------------------------------------------
// The probe's own network

/** How one unit fared, for the sweep-wide view: did it fail, and with what. */
function unitFailure(unit: UnitObservation): { failed: boolean; networkLevel: boolean; failures: string[] } {
  const attempts = Array.isArray(unit.attempts) ? unit.attempts.filter(Boolean) : [];
  if (attempts.length === 0) return { failed: false, networkLevel: false, failures: [] };
  // Any attempt that worked shows the network was up at some point of the sweep.
  const outcomes = attempts.map((attempt) => attemptFailed(unit, attempt));
  const failed = outcomes.every((o) => o.failed);
  const failures = outcomes.flatMap((o) => o.failures);
  return { failed, networkLevel: failed && outcomes.every((o) => o.networkLevel), failures };
}

const UNREACHABLE = new Set<string>([FAILURE.networkUnreachable, FAILURE.hostUnreachable]);
const DNS_SILENT = new Set<string>([FAILURE.timeout, FAILURE.dnsTemporary, FAILURE.networkUnreachable, FAILURE.hostUnreachable]);

function attemptFailed(unit: UnitObservation, attempt: AttemptResults): { failed: boolean; networkLevel: boolean; failures: string[] } {
  const results = (Object.values(attempt) as unknown[]).filter((r): r is ProbeResult => !!r && typeof r === 'object');
  const failures = results.map((r) => r.failure).filter((f): f is string => typeof f === 'string');
  let failed: boolean;
  if (unit.kind === 'web') {
    const http = attempt.http;
    failed = http ? http.failure !== null : results.length > 0 && failures.length > 0;
  } else {
    failed = results.length > 0 && results.every((r) => r.failure !== null) && !longProbeGotData(attempt);
  }
  // A DNS lookup that got no answer at all; an NXDOMAIN is an answer, so the network worked.
  const dnsSilent = attempt.dns ? DNS_SILENT.has(attempt.dns.failure ?? '') : false;
  // A control answer means this machine reached the helper: its network is up.
  const networkLevel = failed && !unit.control && (failures.some((f) => UNREACHABLE.has(f)) || dnsSilent);
  return { failed, networkLevel, failures };
}

function longProbeGotData(attempt: AttemptResults): boolean {
  const t = attempt.throughput?.details;
  if (t && typeof t.bytes === 'number' && t.bytes > 0) return true;
  const s = attempt.tls_duration?.details;
  if (s && s.tls && (s.tls.bytes_received > 0 || s.tls.end !== 'connect_failed')) return true;
  const p = attempt.protocol?.details;
  if (p && Array.isArray(p.flows) && p.flows.some((f) => f && f.bytes_received > 0)) return true;
  return false;
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

// ---------------------------------------------------------------------------

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

function positiveOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function nonNegativeOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}
