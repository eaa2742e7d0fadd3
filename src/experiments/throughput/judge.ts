// Throttling: a foreign download at most a tenth of the domestic baseline.
// A small page never leaves TCP slow start over a long round trip, and a 302
// or a blockpage is no download: only a 2xx body of at least 256 KiB is a
// throughput figure. One sweep's ratio is noisy (3 % loss gave 0.11 in the
// lab), so the target's own history must agree; a long-lived control that
// downloads the same resource from outside must be at least 10× faster.
// Pure: no I/O, no clock.
import type { ProbeResult, ThroughputDetails } from '../../../probes/types.js';
import { isDomestic, lastAttempt, type JudgeOptions, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { median, positiveOr, round } from '../stats.js';

export const DEFAULT_THROTTLE_RATIO = 0.1;
/** Below this a download says more about slow start and the round trip than about the path's rate. */
export const MIN_THROUGHPUT_BYTES = 256 * 1024;
/** The sweeps of history the median is taken over (this one included). */
export const HISTORY_SWEEPS = 10;
/**
 * Sweeps (this one included) a throttled verdict needs before its history
 * decides. One download under random loss can fall below a tenth of the
 * baseline (3 % loss did in the lab, in about one sweep of five), and on a
 * fresh install or a new target there is no history to outvote it: until
 * then only a collapse (a rate below COLLAPSE_RATIO of the threshold, which a
 * policer gives and loss does not: 0.0001 against 0.6 to 4 in the lab) is
 * throttling on its own.
 */
export const MIN_THROTTLE_SWEEPS = 3;
export const COLLAPSE_RATIO = 0.1;

export interface ThroughputContext {
  baseline: { baseline_bps: number; samples: number } | null;
  throttleRatio: number;
  history: JudgeOptions['history'];
}

function throughputOf(unit: UnitObservation): ProbeResult<ThroughputDetails> | undefined {
  return lastAttempt(unit).throughput as ProbeResult<ThroughputDetails> | undefined;
}

function steadyRate(result: ProbeResult<ThroughputDetails> | null | undefined): number | null {
  const rate = result?.details?.steady_rate_bps;
  return typeof rate === 'number' && Number.isFinite(rate) && rate >= 0 ? rate : null;
}

function isDomesticThroughput(unit: UnitObservation): boolean {
  return isDomestic(unit) || throughputOf(unit)?.details?.domestic === true;
}

/** Why a download is no throughput figure (a non-2xx answer, a body too small to leave slow start), or null. */
export function unusableDownload(d: ThroughputDetails | undefined): string | null {
  if (!d) return 'no download was recorded';
  const status = d.status_code;
  if (typeof status === 'number' && (status < 200 || status > 299)) return `the response was ${status}, not a 2xx download`;
  // A body that arrived whole and small is a small resource; one cut by the time cap (a policer at 128 kbit/s
  // gives 96 KB in 6 s) is a large resource downloaded slowly, and that is the figure.
  if (typeof d.bytes === 'number' && d.bytes < MIN_THROUGHPUT_BYTES && d.complete !== false) {
    return `only ${d.bytes} bytes came (${d.resource_choice ? `resource chosen: ${d.resource_choice}` : 'no larger resource'}): under ${MIN_THROUGHPUT_BYTES / 1024} KiB a download never leaves TCP slow start`;
  }
  return null;
}

/** The median steady rate of the sweep's usable domestic downloads, or null when there is none. */
export function prepareBaseline(units: readonly UnitObservation[], options: JudgeOptions): ThroughputContext {
  const rates = units
    .filter((u) => u && u.kind === 'throughput' && isDomesticThroughput(u) && unusableDownload(throughputOf(u)?.details) === null)
    .map((u) => steadyRate(throughputOf(u)))
    .filter((r): r is number => r !== null && r > 0);
  return {
    baseline: rates.length > 0 ? { baseline_bps: median(rates), samples: rates.length } : null,
    throttleRatio: positiveOr(options.throttleRatio, DEFAULT_THROTTLE_RATIO),
    history: options.history,
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
    status_code: d?.status_code ?? null,
    resource: d?.url ?? null,
    resource_choice: d?.resource_choice ?? null,
    duration_s: d?.duration_s ?? null,
    rate_cv: d?.rate_cv ?? null,
    shape: d?.shape ?? null,
    failure: result?.failure ?? null,
    baseline_bps: baseline?.baseline_bps ?? null,
    baseline_samples: baseline?.samples ?? 0,
  };
  if (!result) return { verdict: 'inconclusive', verdict_reason: 'No download was recorded for this input.', evidence };
  const unusable = unusableDownload(d);
  if (unusable) return { verdict: 'inconclusive', verdict_reason: `No throughput figure: ${unusable}.`, evidence };
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
  const past = (context.history?.(unit.url, 'throughput')?.throughputRatios ?? []).filter((r) => Number.isFinite(r) && r >= 0).slice(0, HISTORY_SWEEPS - 1);
  const historyRatio = median([ratio, ...past]);
  evidence.history_median_ratio = round(historyRatio, 4);
  evidence.history_sweeps = past.length + 1;
  const control = unit.longControl;
  const controlRate = steadyRate(control?.result as ProbeResult<ThroughputDetails> | null | undefined);
  evidence.long_control = control?.result ? { helper: control.helper, steady_rate_bps: controlRate } : 'no long-lived control';
  const pct = (r: number) => `${round(r * 100, 1)}%`;
  if (ratio > throttleRatio) {
    return { verdict: 'ok', verdict_reason: `The steady rate ${Math.round(rate)} B/s is ${pct(ratio)} of the domestic baseline: not throttled.`, evidence };
  }
  if (historyRatio > throttleRatio) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `This sweep's rate is ${pct(ratio)} of the domestic baseline, but the median over the last ${past.length + 1} sweeps is ${pct(historyRatio)}: one slow sweep is not throttling.`,
      evidence,
    };
  }
  if (control?.result && controlRate !== null && controlRate < rate * 10) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `${pct(ratio)} of the domestic baseline, but the control downloads the same resource from outside at only ${Math.round(controlRate)} B/s (less than 10× this network's rate): the server or its path is slow, not this network.`,
      evidence,
    };
  }
  const sweeps = past.length + 1;
  if (sweeps < MIN_THROTTLE_SWEEPS && historyRatio > throttleRatio * COLLAPSE_RATIO) {
    return {
      verdict: 'inconclusive',
      verdict_reason: `${pct(ratio)} of the domestic baseline, over ${sweeps} sweep${sweeps === 1 ? '' : 's'} of history: a slow download under loss can fall this low once; throttling needs ${MIN_THROTTLE_SWEEPS} sweeps that agree, or a rate below ${pct(throttleRatio * COLLAPSE_RATIO)} of the baseline.`,
      evidence,
    };
  }
  const policer = d?.shape === 'flat' ? ', at a flat rate (a policer, not congestion)' : '';
  const corroboration = control?.result ? `, and the control downloads it ${round((controlRate ?? 0) / rate, 1)}× faster from outside` : ' (no long-lived control: the domestic baseline and the history decide)';
  return {
    verdict: 'throttled',
    verdict_reason: `The steady rate ${Math.round(rate)} B/s is ${pct(ratio)} of the domestic baseline ${Math.round(baseline.baseline_bps)} B/s (at most ${throttleRatio * 100}% counts as throttled; history median ${pct(historyRatio)} over ${past.length + 1} sweeps)${policer}${corroboration}.`,
    evidence,
  };
}
