// The 60-second cut (Iran, 2013): long TLS sessions that die abruptly at one
// age while plain sessions to the same hosts live on. Servers have habits that
// look like it (Apache closes idle keep-alive connections after 5 s, CDNs have
// their own limits), so only abrupt ends count (RST, silence, a FIN without
// close_notify), only past a minimum age, and only when several sessions
// agree on the age. A long-lived control abroad must see the same session
// live past that age; without one, the agreement must span several targets.
// Pure: no I/O, no clock.
import type { ProbeResult, SessionResult, TlsDurationDetails } from '../../../probes/types.js';
import { lastAttempt, type JudgeOptions, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { median, nonNegativeOr, positiveOr, round } from '../stats.js';

export const DEFAULT_CUT_TOLERANCE_S = 2;
export const DEFAULT_MIN_CUT_SESSIONS = 2;
/** Younger deaths are idle timeouts and load balancers, not a censor's timer. */
export const DEFAULT_MIN_CUT_AGE_S = 5;

const ABRUPT_ENDS = new Set(['reset', 'eof', 'timeout']);

/** A TLS session that died abruptly at an age its plain comparison outlived. */
interface CutCandidate {
  unit: UnitObservation;
  host: string;
  age: number;
}

export interface CutContext {
  candidates: CutCandidate[];
  toleranceS: number;
  minSessions: number;
  minAgeS: number;
}

function sessionOf(result: ProbeResult<TlsDurationDetails> | undefined): { tls: SessionResult; plain: SessionResult | null; horizon: number } | null {
  const tls = result?.details?.tls;
  if (!tls || typeof tls !== 'object') return null;
  return { tls, plain: result.details.plain ?? null, horizon: Number(result.details.horizon_s) };
}

/** Records older than the `abrupt` flag: an end of reset, eof or timeout was a death. */
function diedAbruptly(s: SessionResult): boolean {
  if (typeof s.abrupt === 'boolean') return s.abrupt && typeof s.died_after_s === 'number';
  return ABRUPT_ENDS.has(s.end) && typeof s.died_after_s === 'number';
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return url;
  }
}

function candidateAge(result: ProbeResult<TlsDurationDetails> | undefined, ctx: Omit<CutContext, 'candidates'>): number | null {
  const s = sessionOf(result);
  if (!s || !diedAbruptly(s.tls) || !Number.isFinite(s.tls.died_after_s)) return null;
  const age = s.tls.died_after_s!;
  if (age < ctx.minAgeS) return null;
  const plain = s.plain;
  if (!plain || plain.end === 'connect_failed') return null;
  const plainLived = !diedAbruptly(plain) || plain.died_after_s! > age + ctx.toleranceS;
  return plainLived ? age : null;
}

export function prepareCuts(units: readonly UnitObservation[], options: JudgeOptions): CutContext {
  const base = {
    toleranceS: nonNegativeOr(options.cutToleranceS, DEFAULT_CUT_TOLERANCE_S),
    minSessions: Math.max(1, Math.floor(positiveOr(options.minCutSessions, DEFAULT_MIN_CUT_SESSIONS))),
    minAgeS: nonNegativeOr(options.minCutAgeS, DEFAULT_MIN_CUT_AGE_S),
  };
  const candidates: CutCandidate[] = [];
  for (const unit of units) {
    if (!unit || unit.kind !== 'tls_duration') continue;
    const age = candidateAge(lastAttempt(unit).tls_duration as ProbeResult<TlsDurationDetails> | undefined, base);
    if (age !== null) candidates.push({ unit, host: hostOf(unit.url), age });
  }
  return { ...base, candidates };
}

function sessionEvidence(s: SessionResult) {
  return {
    end: s.end,
    died_after_s: s.died_after_s,
    abrupt: diedAbruptly(s),
    failure: s.failure,
    bytes_received: s.bytes_received,
    requests_completed: s.requests_completed,
    ...(Array.isArray(s.segments) && s.segments.length > 1
      ? { graceful_closes: s.segments.filter((g) => !g.abrupt && g.end !== 'horizon').map((g) => ({ after_s: g.died_after_s, end: g.end })) }
      : {}),
  };
}

/** What the long-lived control saw of the same session from outside: its abrupt death age, or null when it lived. */
function controlSession(unit: UnitObservation): { answered: boolean; age: number | null; noEndpoint: boolean; helper: string | null } {
  const view = unit.longControl;
  const record = view?.result as ProbeResult<TlsDurationDetails> | null | undefined;
  const s = sessionOf(record ?? undefined);
  if (!view || !s) return { answered: false, age: null, noEndpoint: view?.noEndpoint ?? true, helper: null };
  return { answered: true, age: diedAbruptly(s.tls) ? s.tls.died_after_s : null, noEndpoint: false, helper: view.helper };
}

export function judgeTlsDuration(unit: UnitObservation, context: CutContext): VerdictResult {
  const result = lastAttempt(unit).tls_duration as ProbeResult<TlsDurationDetails> | undefined;
  const s = sessionOf(result);
  if (!s) return { verdict: 'inconclusive', verdict_reason: 'No TLS session was recorded for this input.', evidence: {} };
  const evidence: Record<string, unknown> = { horizon_s: s.horizon, tls: sessionEvidence(s.tls), plain: s.plain ? sessionEvidence(s.plain) : null };
  const opened = s.tls.end !== 'connect_failed' || (Array.isArray(s.tls.segments) && s.tls.segments.length > 1);
  if (!opened) {
    const both = s.plain?.end === 'connect_failed';
    return {
      verdict: 'inconclusive',
      verdict_reason: `The TLS session could not be opened (${s.tls.failure ?? 'connect failed'})${both ? ', nor the plain one' : ''}; the web probes judge reachability.`,
      evidence,
    };
  }
  if (!diedAbruptly(s.tls)) {
    const closes = (evidence.tls as { graceful_closes?: unknown[] }).graceful_closes?.length ?? 0;
    const note = closes > 0 ? `; the server closed ${closes} connection${closes === 1 ? '' : 's'} gracefully on the way, and fresh ones were opened` : '';
    return { verdict: 'ok', verdict_reason: `The TLS session lived to the horizon (${s.horizon} s)${note}.`, evidence };
  }
  const age = s.tls.died_after_s!;
  if (age < context.minAgeS) {
    return { verdict: 'inconclusive', verdict_reason: `The TLS connection died after ${age} s (${s.tls.end}), younger than ${context.minAgeS} s, the least age a cut is called at: idle timeouts look like this.`, evidence: { ...evidence, min_cut_age_s: context.minAgeS } };
  }
  const mine = context.candidates.find((c) => c.unit === unit);
  if (!mine) {
    const why = !s.plain
      ? 'there is no plain session to compare with'
      : s.plain.end === 'connect_failed'
        ? 'the plain comparison session could not connect'
        : `the plain session died too (after ${s.plain.died_after_s} s)`;
    return { verdict: 'inconclusive', verdict_reason: `The TLS session died after ${age} s, but ${why}: not a TLS-specific cut.`, evidence };
  }
  const agreeing = context.candidates.filter((c) => Math.abs(c.age - mine.age) <= context.toleranceS);
  const hosts = new Set(agreeing.map((c) => c.host));
  evidence.sessions_agreeing = agreeing.length;
  evidence.agreeing_ages_s = agreeing.map((c) => c.age);
  evidence.hosts_agreeing = hosts.size;
  const control = controlSession(unit);
  evidence.long_control = control.answered ? { helper: control.helper, died_after_s: control.age } : 'no long-lived control';
  if (agreeing.length < context.minSessions) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `The TLS session died after ${age} s while the plain one lived on, but only ${agreeing.length} session${agreeing.length === 1 ? '' : 's'} of this sweep died at that age (${context.minSessions} needed): one death is not a cut.`,
      evidence,
    };
  }
  if (control.answered && control.age !== null && control.age <= age + context.toleranceS) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `The TLS session died after ${age} s, but the control's session to the same target died too (after ${control.age} s): the server's habit, not a cut on this network.`,
      evidence,
    };
  }
  if (!control.answered && hosts.size < context.minSessions) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `The TLS session died after ${age} s, but no long-lived control answered and the sessions agreeing on the age are all to one host: one server's habit is not a cut.`,
      evidence,
    };
  }
  const cut = round(median(agreeing.map((c) => c.age)), 1);
  evidence.cut_after_s = cut;
  const corroboration = control.answered
    ? `the control's session to the same target outlived it (${control.age === null ? 'to the horizon' : `${control.age} s`})`
    : `no long-lived control answered, so the cut rests on ${hosts.size} hosts agreeing`;
  return {
    verdict: 'tls.session_cut',
    verdict_reason: `${agreeing.length} TLS sessions of this sweep died abruptly at about ${cut} s (within ±${context.toleranceS} s) while plain sessions lived longer, and ${corroboration}; this one died after ${age} s (${s.tls.end}).`,
    evidence,
  };
}
