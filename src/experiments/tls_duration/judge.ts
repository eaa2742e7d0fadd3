// The 60-second cut (Iran, 2013): long TLS sessions that die at one age
// while plain sessions to the same hosts live on. One session dying proves
// nothing; several agreeing on the age do. Pure: no I/O, no clock.
import type { ProbeResult, SessionResult, TlsDurationDetails } from '../../../probes/types.js';
import { lastAttempt, type JudgeOptions, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { median, nonNegativeOr, positiveOr, round } from '../stats.js';

export const DEFAULT_CUT_TOLERANCE_S = 2;
export const DEFAULT_MIN_CUT_SESSIONS = 2;

const DEATHS = new Set(['reset', 'eof', 'timeout']);

/** A TLS session that died (reset, EOF, timeout) at an age the plain session of the same host outlived. */
interface CutCandidate {
  unit: UnitObservation;
  attempt: number;
  age: number;
}

export interface CutContext {
  candidates: CutCandidate[];
  toleranceS: number;
  minSessions: number;
}

function sessionOf(result: ProbeResult<TlsDurationDetails> | undefined): { tls: SessionResult; plain: SessionResult | null } | null {
  const tls = result?.details?.tls;
  if (!tls || typeof tls !== 'object') return null;
  return { tls, plain: result.details.plain ?? null };
}

function cutCandidateAge(result: ProbeResult<TlsDurationDetails> | undefined, toleranceS: number): number | null {
  const s = sessionOf(result);
  if (!s || !DEATHS.has(s.tls.end) || typeof s.tls.died_after_s !== 'number' || !Number.isFinite(s.tls.died_after_s)) return null;
  const plain = s.plain;
  if (!plain || plain.end === 'connect_failed') return null;
  const age = s.tls.died_after_s;
  const plainLived = plain.died_after_s === null || plain.died_after_s > age + toleranceS;
  return plainLived ? age : null;
}

/** Every cut candidate of the sweep, over all attempts of all tls_duration units. */
export function prepareCuts(units: readonly UnitObservation[], options: JudgeOptions): CutContext {
  const toleranceS = nonNegativeOr(options.cutToleranceS, DEFAULT_CUT_TOLERANCE_S);
  const minSessions = Math.max(1, Math.floor(positiveOr(options.minCutSessions, DEFAULT_MIN_CUT_SESSIONS)));
  const candidates: CutCandidate[] = [];
  for (const unit of units) {
    if (!unit || unit.kind !== 'tls_duration') continue;
    (Array.isArray(unit.attempts) ? unit.attempts : []).forEach((attempt, a) => {
      const age = cutCandidateAge(attempt?.tls_duration as ProbeResult<TlsDurationDetails> | undefined, toleranceS);
      if (age !== null) candidates.push({ unit, attempt: a, age });
    });
  }
  return { candidates, toleranceS, minSessions };
}

function sessionEvidence(s: SessionResult) {
  return { end: s.end, died_after_s: s.died_after_s, failure: s.failure, bytes_received: s.bytes_received, requests_completed: s.requests_completed };
}

export function judgeTlsDuration(unit: UnitObservation, context: CutContext): VerdictResult {
  const result = lastAttempt(unit).tls_duration as ProbeResult<TlsDurationDetails> | undefined;
  const s = sessionOf(result);
  if (!s) return { verdict: 'inconclusive', verdict_reason: 'No TLS session was recorded for this input.', evidence: {} };
  const evidence: Record<string, unknown> = {
    horizon_s: result!.details.horizon_s,
    tls: sessionEvidence(s.tls),
    plain: s.plain ? sessionEvidence(s.plain) : null,
  };
  if (s.tls.end === 'connect_failed') {
    const both = s.plain?.end === 'connect_failed';
    return {
      verdict: 'inconclusive',
      verdict_reason: `The TLS session could not be opened (${s.tls.failure ?? 'connect failed'})${both ? ', nor the plain one' : ''}; without a control, the web probes judge reachability.`,
      evidence,
    };
  }
  if (s.tls.died_after_s === null || s.tls.end === 'horizon') {
    return { verdict: 'ok', verdict_reason: `The TLS session lived to the horizon (${result!.details.horizon_s} s).`, evidence };
  }
  const age = s.tls.died_after_s;
  const lastIndex = unit.attempts.length - 1;
  const mine = context.candidates.find((c) => c.unit === unit && c.attempt === lastIndex);
  if (!mine) {
    const why = !DEATHS.has(s.tls.end)
      ? `it ended with ${s.tls.end} (${s.tls.failure ?? 'no failure string'})`
      : !s.plain
        ? 'there is no plain session to compare with'
        : s.plain.end === 'connect_failed'
          ? 'the plain comparison session could not connect'
          : `the plain session died too (after ${s.plain.died_after_s} s)`;
    return { verdict: 'inconclusive', verdict_reason: `The TLS session died after ${age} s, but ${why}: not a TLS-specific cut.`, evidence };
  }
  const agreeing = context.candidates.filter((c) => Math.abs(c.age - mine.age) <= context.toleranceS);
  const ages = agreeing.map((c) => c.age);
  evidence.sessions_agreeing = agreeing.length;
  evidence.agreeing_ages_s = ages;
  if (agreeing.length < context.minSessions) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `The TLS session died after ${age} s while the plain one lived on, but only ${agreeing.length} session${agreeing.length === 1 ? '' : 's'} of this sweep died at that age (${context.minSessions} needed): one death is not a cut.`,
      evidence,
    };
  }
  const cut = round(median(ages), 1);
  evidence.cut_after_s = cut;
  return {
    verdict: 'tls.session_cut',
    verdict_reason: `${agreeing.length} TLS sessions of this sweep died at about ${cut} s (within ±${context.toleranceS} s) while plain sessions lived longer; this one died after ${age} s (${s.tls.end}).`,
    evidence,
  };
}
