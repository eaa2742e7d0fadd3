// Verdicts of the long-lived probes, which have no control helper: each is
// judged against the other measurements of the same sweep. A TLS session cut
// needs several sessions dying at the same age while the plain session lives
// on; throttling needs a domestic baseline measured in the same sweep; a
// protocol filter needs the valid payload to pass where junk is dropped.
// Pure: no I/O, no clock.
import type {
  ProbeResult,
  ProtocolDetails,
  ProtocolFlowResult,
  SessionResult,
  ThroughputDetails,
  TlsDurationDetails,
} from '../../probes/types.js';
import type { VerdictResult } from '../model.js';
import type { AttemptResults, UnitObservation } from './verdict.js';

export const DEFAULT_THROTTLE_RATIO = 0.1;
export const DEFAULT_CUT_TOLERANCE_S = 2;
export const DEFAULT_MIN_CUT_SESSIONS = 2;

const DEATHS = new Set(['reset', 'eof', 'timeout']);

export function isDomestic(unit: UnitObservation): boolean {
  return Array.isArray(unit.target?.tags) && unit.target.tags.includes('domestic');
}

function lastAttempt(unit: UnitObservation): AttemptResults {
  const attempts = Array.isArray(unit.attempts) ? unit.attempts : [];
  return attempts[attempts.length - 1] ?? {};
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// ---------------------------------------------------------------------------
// tls_duration

/** A TLS session that died (reset, EOF, timeout) at an age the plain session of the same host outlived. */
interface CutCandidate {
  unit: number;
  attempt: number;
  age: number;
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
export function collectCutCandidates(units: UnitObservation[], toleranceS: number): CutCandidate[] {
  const out: CutCandidate[] = [];
  units.forEach((unit, u) => {
    if (unit.kind !== 'tls_duration') return;
    (Array.isArray(unit.attempts) ? unit.attempts : []).forEach((attempt, a) => {
      const age = cutCandidateAge(attempt?.tls_duration as ProbeResult<TlsDurationDetails> | undefined, toleranceS);
      if (age !== null) out.push({ unit: u, attempt: a, age });
    });
  });
  return out;
}

export function judgeTlsDuration(
  unit: UnitObservation,
  index: number,
  candidates: CutCandidate[],
  opts: { cutToleranceS: number; minCutSessions: number },
): VerdictResult {
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
  const mine = candidates.find((c) => c.unit === index && c.attempt === lastIndex);
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
  const agreeing = candidates.filter((c) => Math.abs(c.age - mine.age) <= opts.cutToleranceS);
  const ages = agreeing.map((c) => c.age);
  evidence.sessions_agreeing = agreeing.length;
  evidence.agreeing_ages_s = ages;
  if (agreeing.length < opts.minCutSessions) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `The TLS session died after ${age} s while the plain one lived on, but only ${agreeing.length} session${agreeing.length === 1 ? '' : 's'} of this sweep died at that age (${opts.minCutSessions} needed): one death is not a cut.`,
      evidence,
    };
  }
  const cut = round(median(ages), 1);
  evidence.cut_after_s = cut;
  return {
    verdict: 'tls.session_cut',
    verdict_reason: `${agreeing.length} TLS sessions of this sweep died at about ${cut} s (within ±${opts.cutToleranceS} s) while plain sessions lived longer; this one died after ${age} s (${s.tls.end}).`,
    evidence,
  };
}

function sessionEvidence(s: SessionResult) {
  return { end: s.end, died_after_s: s.died_after_s, failure: s.failure, bytes_received: s.bytes_received, requests_completed: s.requests_completed };
}

// ---------------------------------------------------------------------------
// throughput

function throughputOf(unit: UnitObservation): ProbeResult<ThroughputDetails> | undefined {
  return lastAttempt(unit).throughput as ProbeResult<ThroughputDetails> | undefined;
}

function steadyRate(result: ProbeResult<ThroughputDetails> | undefined): number | null {
  const rate = result?.details?.steady_rate_bps;
  return typeof rate === 'number' && Number.isFinite(rate) && rate >= 0 ? rate : null;
}

function isDomesticThroughput(unit: UnitObservation): boolean {
  return isDomestic(unit) || throughputOf(unit)?.details?.domestic === true;
}

/** The median steady rate of the domestic throughput units of the sweep, or null when there is none. */
export function domesticBaseline(units: UnitObservation[]): { baseline_bps: number; samples: number } | null {
  const rates = units
    .filter((u) => u.kind === 'throughput' && isDomesticThroughput(u))
    .map((u) => steadyRate(throughputOf(u)))
    .filter((r): r is number => r !== null && r > 0);
  return rates.length > 0 ? { baseline_bps: median(rates), samples: rates.length } : null;
}

export function judgeThroughput(
  unit: UnitObservation,
  baseline: { baseline_bps: number; samples: number } | null,
  throttleRatio: number,
): VerdictResult {
  const result = throughputOf(unit);
  const rate = steadyRate(result);
  const d = result?.details;
  const evidence: Record<string, unknown> = {
    steady_rate_bps: rate,
    bytes: d?.bytes ?? null,
    duration_s: d?.duration_s ?? null,
    rate_cv: d?.rate_cv ?? null,
    shape: d?.shape ?? null,
    failure: result?.failure ?? null,
    baseline_bps: baseline?.baseline_bps ?? null,
    baseline_samples: baseline?.samples ?? 0,
  };
  if (!result) return { verdict: 'inconclusive', verdict_reason: 'No download was recorded for this input.', evidence };
  if (isDomesticThroughput(unit)) {
    if (rate === null || rate === 0) {
      return { verdict: 'inconclusive', verdict_reason: `The domestic baseline download failed (${result.failure ?? 'no steady rate'}).`, evidence };
    }
    return { verdict: 'ok', verdict_reason: `Domestic baseline: ${Math.round(rate)} B/s.`, evidence };
  }
  if (rate === null) {
    return { verdict: 'inconclusive', verdict_reason: `The download gave no steady rate (${result.failure ?? 'too short'}); reachability is the web probes' to judge.`, evidence };
  }
  if (!baseline) {
    return { verdict: 'inconclusive', verdict_reason: `${Math.round(rate)} B/s, but no domestic baseline was measured in this sweep to compare with.`, evidence };
  }
  const ratio = rate / baseline.baseline_bps;
  evidence.ratio = round(ratio, 4);
  evidence.throttle_ratio = throttleRatio;
  if (ratio <= throttleRatio) {
    const policer = d?.shape === 'flat' ? ', at a flat rate (a policer, not congestion)' : '';
    return {
      verdict: 'throttled',
      verdict_reason: `The steady rate ${Math.round(rate)} B/s is ${round(ratio * 100, 1)}% of the domestic baseline ${Math.round(baseline.baseline_bps)} B/s (at most ${throttleRatio * 100}% counts as throttled)${policer}.`,
      evidence,
    };
  }
  return {
    verdict: 'ok',
    verdict_reason: `The steady rate ${Math.round(rate)} B/s is ${round(ratio * 100, 1)}% of the domestic baseline: not throttled.`,
    evidence,
  };
}

// ---------------------------------------------------------------------------
// protocol

export function judgeProtocol(unit: UnitObservation): VerdictResult {
  const result = lastAttempt(unit).protocol as ProbeResult<ProtocolDetails> | undefined;
  const flows = Array.isArray(result?.details?.flows) ? result.details.flows.filter(Boolean) : [];
  const evidence: Record<string, unknown> = { flows: flows.map(flowEvidence), failure: result?.failure ?? null };
  if (flows.length === 0) return { verdict: 'inconclusive', verdict_reason: 'No protocol flow was recorded for this input.', evidence };
  const ports = [...new Set(flows.map((f) => f.port))];
  const filtered: number[] = [];
  const compared: number[] = [];
  const strict: number[] = [];
  for (const port of ports) {
    const valid = flows.filter((f) => f.port === port && f.kind === 'valid_first');
    const junk = flows.filter((f) => f.port === port && f.kind === 'junk_first');
    if (!valid.some((f) => f.later_data_flows) || junk.length === 0) continue;
    // A server that rejects junk closes the connection itself (EOF or reset): that is a strict
    // server, and it hides whether a filter is there. A filter leaves the flow silent instead.
    if (junk.some(closedByPeer)) {
      strict.push(port);
      continue;
    }
    compared.push(port);
    if (junk.every((f) => !f.later_data_flows && !connectFailed(f))) filtered.push(port);
  }
  evidence.ports_compared = compared;
  if (strict.length > 0) evidence.strict_server_ports = strict;
  if (filtered.length > 0) {
    evidence.filtered_ports = filtered;
    return {
      verdict: 'protocol.filtered',
      verdict_reason: `On port${filtered.length > 1 ? 's' : ''} ${filtered.join(', ')}, data after a junk first packet is dropped while the same flow after a valid first packet passes.`,
      evidence,
    };
  }
  if (compared.length > 0) {
    return { verdict: 'ok', verdict_reason: `Junk-first and valid-first flows both pass on port${compared.length > 1 ? 's' : ''} ${compared.join(', ')}.`, evidence };
  }
  const allFailed = flows.every(connectFailed);
  return {
    verdict: 'inconclusive',
    verdict_reason: allFailed
      ? `No flow could connect (${result?.failure ?? flows[0]!.failure}); reachability is the web probes' to judge.`
      : strict.length > 0
        ? `The server closed the junk-first flow itself on port${strict.length > 1 ? 's' : ''} ${strict.join(', ')}, which hides whether a filter drops it; an echo endpoint can tell.`
        : 'The valid-first flow did not pass either, so there is nothing to compare the junk-first flow with.',
    evidence,
  };
}

function closedByPeer(f: ProtocolFlowResult): boolean {
  return !f.later_data_flows && (f.failure === 'eof_error' || f.failure === 'connection_reset') && f.bytes_sent > 0;
}

function connectFailed(f: ProtocolFlowResult): boolean {
  return f.failure !== null && f.bytes_sent === 0 && f.bytes_received === 0;
}

function flowEvidence(f: ProtocolFlowResult) {
  return { kind: f.kind, port: f.port, failure: f.failure, later_data_flows: f.later_data_flows, bytes_sent: f.bytes_sent, bytes_received: f.bytes_received };
}
