// The change detector's vocabulary: what a sweep looks like to it, the state
// it keeps between sweeps (plain JSON), and the small rules every part of it
// shares (which verdicts block, how bad each is, stable event ids).
import { createHash } from 'node:crypto';
import { BLOCKING_VERDICTS, VERDICTS, type EventKind, type Verdict } from '../model.js';

export type UnitKind = string;

export interface SweepUnit {
  target: string;
  url: string;
  tags: string[];
  kind: UnitKind;
  verdict: Verdict;
  measurement_ids: string[];
  /**
   * The unit's probes did not reach the target, whatever the verdict. Shutdowns are judged from
   * these raw failures, so they are seen when the control abroad is cut off too. Absent in replays
   * of rows stored before rasad recorded it; the verdict stands in then.
   */
  failed?: boolean;
  /** Citizen Lab category of the target (optional; kept for the status and dashboard views). */
  category?: string;
}

export interface SweepObservation {
  run_id: string;
  /** ISO-8601: when the sweep started. */
  at: string;
  units: SweepUnit[];
  /** How the control fared in this sweep; absent when none was asked. */
  control?: ControlObservation | null;
  /** Whether the sweep's measurements were all stored (complete), only some (partial) or none (failed). */
  storage?: { status: 'complete' | 'partial' | 'failed' | 'interrupted'; measured: number; stored: number } | null;
}

export interface ControlObservation {
  /** Units whose URL was sent to the control. */
  asked: number;
  /** Of those, how many got an answer. */
  answered: number;
  helpers: { url: string; up: boolean; failure: string | null }[];
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
  /** Whether the control helpers answer (absent in states saved before rasad tracked it). */
  control?: NetworkMachine<'up' | 'down'>;
  /** Whether sweeps are stored in full (absent in states saved before rasad tracked it). */
  storage?: NetworkMachine<'ok' | 'failing'>;
  /** The latest run ids seen, so that feeding a sweep twice changes nothing. */
  processed_runs: string[];
  last_run_id: string | null;
  last_at: string | null;
}

export const DEFAULT_CONFIRM_SWEEPS = 2;
export const DEFAULT_SHUTDOWN_FRACTION = 0.8;
export const DEFAULT_SHUTDOWN_MIN_INPUTS = 3;
export const PROCESSED_RUNS_KEPT = 200;
export const VERDICT_SET: ReadonlySet<string> = new Set(VERDICTS);

export function inputKey(url: string, kind: UnitKind): string {
  return `${kind} ${url}`;
}

export function initialState(): DetectorState {
  return {
    version: 1,
    inputs: {},
    offline: { confirmed: 'online', since: null, streak: null, evidence: null },
    shutdown: { confirmed: 'normal', since: null, streak: null, evidence: null },
    control: { confirmed: 'up', since: null, streak: null, evidence: null },
    processed_runs: [],
    last_run_id: null,
    last_at: null,
  };
}

export function isBlocking(verdict: string | null | undefined): boolean {
  return verdict != null && BLOCKING_VERDICTS.has(verdict as Verdict);
}

/** Verdicts that say nothing about the target: they neither confirm nor reset a state. */
export function isSilent(verdict: Verdict): boolean {
  return verdict === 'down' || verdict === 'inconclusive' || verdict === 'network.offline' || verdict === 'network.captive' || verdict === 'site.geoblocked';
}

/** The two states an input can be confirmed in; blocking verdicts of any kind agree with each other. */
export function phase(verdict: Verdict): 'ok' | 'blocked' {
  return verdict === 'ok' ? 'ok' : 'blocked';
}

/** Higher is worse: used to merge duplicate units and to colour timelines. */
export function severity(verdict: string): number {
  if (verdict === 'ok') return 0;
  if (verdict === 'down' || verdict === 'site.geoblocked') return 1;
  if (verdict === 'inconclusive') return 2;
  if (verdict === 'network.offline' || verdict === 'network.captive') return 3;
  return isBlocking(verdict) ? 4 : 2;
}

/** A stable id from the event's content and its confirming run: replaying the same history gives the same ids. */
export function eventId(kind: EventKind, runId: string, url: string | null, unitKind: string | null, verdict: string | null): string {
  return createHash('sha256').update(JSON.stringify([kind, runId, url, unitKind, verdict])).digest('hex').slice(0, 32);
}

export function toVerdict(value: unknown): Verdict {
  return typeof value === 'string' && VERDICT_SET.has(value) ? (value as Verdict) : 'inconclusive';
}
