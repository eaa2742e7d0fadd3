// What an experiment is: the probes it runs on an input, how the sweep plans
// and schedules it, the judge that turns its records into a verdict, and how
// its measurements read in OONI's data format. One folder per experiment
// (src/experiments/<kind>/) implements this; registry.ts lists them all.
import type { Probe, ProbeKind, ProbeOptions, Target } from '../../probes/types.js';
import type { AttemptResults, JudgeOptions, UnitObservation } from '../analysis/observation.js';
import type { LongRequest } from '../control/long/request.js';
import type { Measurement, VerdictResult } from '../model.js';

/** What the deadlines are computed from (a slice of Config, so that the config can import the registry). */
export interface DeadlineSettings {
  measurementDeadlineMs: number;
  probe: ProbeOptions;
}

/** The two schedules of the daemon: hourly web probes, long-lived probes every 6 h. */
export type ScheduleName = 'web' | 'long';

/** One input an experiment measures, with the probes to run on it, in order. */
export interface PlannedInput {
  url: string;
  probes: ProbeKind[];
}

/** An attempt's outcome, for the sweep-wide view (is the probe's own network down?). */
export interface AttemptOutcome {
  /** The attempt did not reach the target (a blocked target fails too; the sweep judge weighs that). */
  failed: boolean;
  /** The failure strings of its records. */
  failures: string[];
}

/** The OONI test_keys of one unit's measurements, and the times the envelope needs. */
export interface OoniKeys {
  testKeys: Record<string, unknown>;
  startMs: number;
  runtimeS: number;
}

export interface OoniMapping {
  /** The OONI test name for an input (web_connectivity for URLs; rasad_* where OONI has no such test). */
  testName(input: string): string;
  testVersion(input: string): string;
  extensions: Record<string, number>;
  /** The test_keys of one unit: its measurements of one run and input, in stored order. */
  keys(measurements: Measurement[]): OoniKeys;
}

export interface Experiment<SweepContext = unknown> {
  /** The unit kind: one verdict per input, kind and sweep; the change detector's key. */
  kind: string;
  /** One line for help texts. */
  summary: string;
  /** The probes it runs on an input, in run order; each sees the addresses the earlier dns probe found. */
  probes: readonly Probe[];
  /** The schedule whose defaults include it. */
  schedule: ScheduleName;
  /** A failing attempt is retried, and any clean one clears it (Censored Planet). */
  retried: boolean;
  /** The OONI Web Connectivity test helper is asked about the input. */
  webControl: boolean;
  /** Units run one at a time within a sweep: two downloads sharing the link measure each other. */
  exclusive: boolean;
  /**
   * It probes circumvention endpoints (Tor, VPNs): probing them can put a volunteer at risk, so the
   * sweep runs it only when the volunteer opted in (probeCircumvention).
   */
  circumvention?: boolean;
  /** The inputs of a target this experiment measures, given the probe kinds wanted. */
  plan(target: Target, wanted: ReadonlySet<ProbeKind>): PlannedInput[];
  /** The hard deadline of one probe's run. */
  deadlineMs(settings: DeadlineSettings, kind: ProbeKind): number;
  /** Whether the sweep should run the unit again before judging. */
  needsRetry(attempt: AttemptResults, url: string): boolean;
  /** How an attempt fared, for the sweep-wide offline check. */
  outcome(attempt: AttemptResults): AttemptOutcome;
  /**
   * What the sweep-wide captive-network check needs of an input: the host name it looks up, the
   * addresses its local resolvers answered in an attempt, and where a plain-HTTP fetch of it ended
   * (src/analysis/captive.ts); absent for experiments that resolve no input's name.
   */
  captiveView?: {
    host(url: string): string | null;
    addresses(attempt: AttemptResults): string[];
    /** Addresses where a TLS handshake validated a certificate for the name: the site's own, whatever range they are in. */
    validated(url: string, attempt: AttemptResults): string[];
    landing(url: string, attempt: AttemptResults): string | null;
  };
  /**
   * What to ask the long-lived control (rasad helper `/rasad/v1/long`) about a unit: with the probe
   * (a session held for the same horizon) or after it (the same resource, the endpoint that went silent).
   * null: nothing to ask (a domestic baseline, an input the control cannot measure).
   */
  longControl?: {
    when: 'with_probe' | 'after_probe';
    request(target: Target, url: string, settings: DeadlineSettings, attempt: AttemptResults | null): LongRequest | null;
  };
  /** Sweep-wide facts its judge needs (agreement across targets, baselines), from every unit of the sweep. */
  prepare?(units: readonly UnitObservation[], options: JudgeOptions): SweepContext;
  /** The verdict of one unit. Pure: records in, verdict out. */
  judge(unit: UnitObservation, context: SweepContext, options: JudgeOptions): VerdictResult;
  ooni: OoniMapping;
}
