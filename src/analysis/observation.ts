// What the analysis is given: the units of one sweep, each with its attempts
// (probe records) and the control's answer. Types and small readers only, so
// that the sweep judge and every experiment's judge can share them without
// importing each other.
import type { DetailsByKind, ProbeKind, ProbeResult, Target } from '../../probes/types.js';
import type { ControlAnswer } from '../model.js';
import type { Fingerprints } from './fingerprints.js';

export type AttemptResults = Partial<{ [K in ProbeKind]: ProbeResult<DetailsByKind[K]> }>;

/** One input measured in one sweep: the probes of one experiment on one input. */
export interface UnitObservation {
  /** The experiment's unit kind (src/experiments/registry.ts). */
  kind: string;
  target: Target;
  url: string;
  /** attempt 0 first; the sweep appends retries while the experiment asks for them. */
  attempts: AttemptResults[];
  /** The control helper's answer for this URL (web units), or null. */
  control: ControlAnswer | null;
  /** A control was configured but none of the helpers answered. */
  controlFailed: boolean;
  /** The long-lived control's view of the same measurement (rasad helper `/rasad/v1/long`), when one was asked. */
  longControl?: LongControlView | null;
}

export interface LongControlView {
  /** The control's record of the same measurement from outside, or null when none answered. */
  result: ProbeResult | null;
  helper: string | null;
  /** No helper asked has the long-lived endpoint (OONI's do not): judges fall back to agreement across targets. */
  noEndpoint: boolean;
  failures: { helper: string; failure: string }[];
}

/** A target's own history, for judges that compare with the past (throughput). */
export interface UnitHistory {
  /** This input's throughput ratios to the domestic baseline over its last sweeps, newest first. */
  throughputRatios?: number[];
}

export interface JudgeOptions {
  fingerprints: Fingerprints;
  /** A target at most this fraction of the domestic baseline is throttled (0.1). */
  throttleRatio?: number;
  /** TLS sessions whose death ages differ by at most this many seconds agree (2). */
  cutToleranceS?: number;
  /** Sessions that must agree before a cut is called (2). */
  minCutSessions?: number;
  /** A session must live at least this long before its death can be a cut (10 s). */
  minCutAgeS?: number;
  /**
   * The AS announcing an address, or null when unknown. DNS consistency by
   * ASN needs it; without it only addresses and TLS can show consistency.
   */
  asnOf?: (ip: string) => number | null;
  /** The probes' per-phase timeout: a slow server is told from a drop against it. */
  probeTimeoutMs?: number;
  /** Per-input history, keyed by URL. */
  history?: (url: string, kind: string) => UnitHistory | null;
  /**
   * What the local resolvers answered this sweep for a random name that exists nowhere
   * (probes/dns.ts resolveNonexistentName): addresses mean they rewrite NXDOMAIN.
   */
  nonexistentName?: { name: string; addresses: string[] } | null;
}

export function isDomestic(unit: UnitObservation): boolean {
  return Array.isArray(unit.target?.tags) && unit.target.tags.includes('domestic');
}

export function lastAttempt(unit: UnitObservation): AttemptResults {
  const attempts = Array.isArray(unit.attempts) ? unit.attempts : [];
  return attempts[attempts.length - 1] ?? {};
}

/** Every probe record of one attempt that is an object (a malformed record is skipped, never trusted). */
export function attemptRecords(attempt: AttemptResults): ProbeResult[] {
  if (!attempt || typeof attempt !== 'object') return [];
  return (Object.values(attempt) as unknown[]).filter((r): r is ProbeResult => !!r && typeof r === 'object');
}
