// Throttling: a foreign download at most a tenth of the domestic baseline.
// Pure: no I/O, no clock.
import type { ProbeResult, ThroughputDetails } from '../../../probes/types.js';
import { isDomestic, lastAttempt, type JudgeOptions, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { median, positiveOr, round } from '../stats.js';

export const DEFAULT_THROTTLE_RATIO = 0.1;

export interface ThroughputContext {
  baseline: { baseline_bps: number; samples: number } | null;
  throttleRatio: number;
}

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
export function prepareBaseline(units: readonly UnitObservation[], options: JudgeOptions): ThroughputContext {
  const rates = units
    .filter((u) => u && u.kind === 'throughput' && isDomesticThroughput(u))
    .map((u) => steadyRate(throughputOf(u)))
    .filter((r): r is number => r !== null && r > 0);
  return {
    baseline: rates.length > 0 ? { baseline_bps: median(rates), samples: rates.length } : null,
    throttleRatio: positiveOr(options.throttleRatio, DEFAULT_THROTTLE_RATIO),
  };
}

export function judgeThroughput(unit: UnitObservation, context: ThroughputContext): VerdictResult {
  const { baseline, throttleRatio } = context;
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
