// One sweep: plan the units, run the probes under the concurrency caps,
// query the control, judge the whole sweep, store everything.
//
// Measurements are stored as each unit finishes (so a crash loses only the
// units in flight) with a provisional verdict. Each unit is judged as it
// finishes, and the sweep keeps only its verdict and failure facts, not its
// records (src/analysis/verdict.ts: startSweepJudgement), so memory does not
// grow with the sweep. The sweep-wide rule (network.offline) and the
// experiments that compare units (the domestic baseline, cut-age agreement)
// are applied at the end, and the final verdicts written in one transaction.
import { setMaxListeners } from 'node:events';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import { withoutSecrets } from '../../probes/wireguard.js';
import type { HttpHop, ProbeKind, Target } from '../../probes/types.js';
import type { JudgeOptions, SweepJudge, UnitObservation } from '../analysis/verdict.js';
import { BatchWriter } from './batch-writer.js';
import { timeOrderedId } from '../records/ids.js';
import type { VerdictUpdate } from '../records/stored-record.js';
import { experimentOf } from '../experiments/registry.js';
import { okDroppedBodyHops } from '../experiments/web/kept-body.js';
import type { Verdict, VerdictResult } from '../model.js';
import type { Store } from '../store/store.js';
import type { RunSettlement, SettledRun } from '../store/runs.js';
import { planSweep, type PlannedUnit } from './plan.js';
import { runUnit, type ControlHealth, type UnitDeps, type UnitRun } from './unit.js';

export { PROVISIONAL_REASON } from './unit.js';
export type { ControlHealth, ControlQuery, HelperHealth } from './unit.js';

/** How many of the inputs in flight a progress report names. */
export const IN_FLIGHT_SHOWN = 8;

export interface SweepDeps extends UnitDeps {
  store: Store;
  /** startSweepJudgement in the daemon; batchJudge(fn) for a judge of all units at once. */
  judge: SweepJudge;
  judgeOptions: JudgeOptions;
  /** Awaited before each unit is judged: a sweep-wide fact the judge may need for it is fetched here (into judgeOptions). */
  beforeJudging?(unit: UnitObservation): Promise<void>;
}

export interface SweepRequest {
  schedule: string;
  probes: readonly ProbeKind[];
  targets: Target[];
  /** Concurrent units at most (the schedule's p-limit cap). */
  concurrency: number;
  /** Aborting stops the sweep: in-flight probes end at once, what was measured is judged and kept. */
  signal?: AbortSignal;
  onProgress?(progress: SweepProgress): void;
}

export interface SweepProgress {
  done: number;
  total: number;
  /** Some of the inputs being measured right now (at most IN_FLIGHT_SHOWN, the oldest first). */
  inFlight: string[];
  /** How many inputs are being measured right now. */
  inFlightCount: number;
}

export interface SweepUnitOutcome {
  kind: PlannedUnit['kind'];
  target: Target;
  url: string;
  verdict: VerdictResult;
  measurementIds: string[];
  /** The unit's probes did not reach the target (whatever the verdict): shutdowns are seen from these raw failures. */
  failed: boolean;
}

export interface SweepOutcome {
  runId: string;
  startedAt: string;
  /** complete, interrupted, or partial/failed when the database refused measurements: a sweep that lost rows never reports success. */
  status: 'complete' | 'interrupted' | 'partial' | 'failed';
  /** Measurements in the database for this run. */
  stored: number;
  durationS: number;
  units: SweepUnitOutcome[];
  /** What the sweep kept of each stored measurement, with its final verdict (the records are in the store). */
  measurements: SweepMeasurement[];
  countsByVerdict: Record<string, number>;
  /** Measurements that could not be stored (disk full, ...). */
  dropped: number;
  /** null when no control is configured or no unit asked one. */
  control: ControlHealth | null;
}

/** A measurement as the sweep keeps it once stored: enough for the outcome, the metrics and the final verdict. */
export interface SweepMeasurement {
  measurement_id: string;
  probe: ProbeKind;
  url: string;
  started_at: string;
  runtime_ms: number;
  failure: string | null;
  verdict: Verdict;
}

/** A finished unit, once its records are handed to the store and the judgement. */
interface FinishedUnit {
  unit: PlannedUnit;
  /** Its index in the judgement's verdicts. */
  index: number;
  failed: boolean;
  measurements: SweepMeasurement[];
  /** Per measurement, the HTTP hops whose body an ok verdict drops. */
  okDroppedHops: number[][];
}

export async function runSweep(deps: SweepDeps, request: SweepRequest): Promise<SweepOutcome> {
  const { store, config, logger } = deps;
  const runId = timeOrderedId();
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  // Circumvention tools (a tag) and circumvention protocols (an experiment) are probed only when the volunteer opted in.
  const targets = config.probeCircumvention ? request.targets : request.targets.filter((t) => !t.tags.includes('circumvention'));
  const units = planSweep(targets, request.probes).filter((u) => config.probeCircumvention || !experimentOf(u.kind)?.circumvention);
  const signal = request.signal ?? new AbortController().signal;
  // Every in-flight probe listens on the sweep's signal (through AbortSignal.any): hundreds at once are expected, not a leak.
  setMaxListeners(0, signal);

  store.beginRun({ run_id: runId, started_at: startedAt, probes: [...request.probes], inputs_total: units.length });
  logger.info({ run_id: runId, schedule: request.schedule, units: units.length }, 'sweep started');

  const limit = pLimit(Math.max(1, request.concurrency));
  // Experiments marked exclusive (downloads) run one unit at a time: two sharing the access link measure each other.
  const exclusive = pLimit(1);
  const ungated = pLimit(Number.POSITIVE_INFINITY);
  // A host's limiter lives while a unit of that host runs or waits: a long list does not keep one per host.
  const hostLimits = new Map<string, { limit: LimitFunction; users: number }>();
  const onHost = async <T>(host: string, fn: () => Promise<T>): Promise<T> => {
    let h = hostLimits.get(host);
    if (!h) hostLimits.set(host, (h = { limit: pLimit(Math.max(1, config.perHostConcurrency)), users: 0 }));
    h.users++;
    try {
      return await h.limit(fn);
    } finally {
      if (--h.users === 0) hostLimits.delete(host);
    }
  };

  const controlHealth: ControlHealth = { asked: 0, answered: 0, helpers: [] };
  const inFlight = new Set<string>();
  let done = 0;
  const writer = new BatchWriter(store, logger);
  const judgement = deps.judge(deps.judgeOptions);
  // Called twice per unit: copying 200 in-flight inputs each time cost a few percent of a large sweep's CPU.
  const report = () => request.onProgress?.({ done, total: units.length, inFlight: firstOf(inFlight, IN_FLIGHT_SHOWN), inFlightCount: inFlight.size });
  report();

  const runs = await Promise.all(
    units.map((unit) =>
      limit(() =>
        (experimentOf(unit.kind)?.exclusive ? exclusive : ungated)(() => onHost(unit.host, async () => {
          if (signal.aborted) return null;
          inFlight.add(withoutSecrets(unit.url));
          report();
          try {
            const run = await runUnit(deps, runId, unit, signal, controlHealth);
            writer.add(run.measurements);
            if (deps.beforeJudging) await deps.beforeJudging(run.observation).catch(() => undefined);
            return finishUnit(run, judgement.add(run.observation));
          } catch (err) {
            // A probe throws only on invalid input: keep the sweep going and say which unit.
            logger.error({ url: withoutSecrets(unit.url), kind: unit.kind, err: (err as Error).message }, 'unit failed to run');
            return null;
          } finally {
            inFlight.delete(withoutSecrets(unit.url));
            done++;
            report();
          }
        })),
      ),
    ),
  );

  writer.flush();
  const dropped = writer.dropped;
  const finished = runs.filter((r): r is FinishedUnit => r !== null);
  const verdicts = judgement.finish();

  const outcomes: SweepUnitOutcome[] = [];
  const measurements: SweepMeasurement[] = [];
  const updates: VerdictUpdate[] = [];
  const countsByVerdict: Record<string, number> = {};
  for (const run of finished) {
    const verdict = verdicts[run.index]!;
    run.measurements.forEach((m, j) => {
      m.verdict = verdict.verdict;
      const nulledBodyHops = verdict.verdict === 'ok' ? run.okDroppedHops[j]! : [];
      updates.push({ measurement_id: m.measurement_id, verdict: verdict.verdict, verdict_reason: verdict.verdict_reason, evidence: verdict.evidence, nulledBodyHops });
      measurements.push(m);
      countsByVerdict[verdict.verdict] = (countsByVerdict[verdict.verdict] ?? 0) + 1;
    });
    outcomes.push({ kind: run.unit.kind, target: { ...run.unit.target, raw: withoutSecrets(run.unit.target.raw) }, url: withoutSecrets(run.unit.url), verdict, measurementIds: run.measurements.map((m) => m.measurement_id), failed: run.failed });
  }

  try {
    store.applyVerdicts(updates);
  } catch (err) {
    logger.error({ run_id: runId, err: (err as Error).message }, 'could not store the sweep verdicts');
  }
  const durationS = (Date.now() - started) / 1000;
  const control = controlHealth.asked > 0 ? controlHealth : null;
  const summary = { duration_s: durationS, units: units.length, measured: finished.length, counts_by_verdict: countsByVerdict, dropped, control };
  // The store counts what it really holds: a sweep that lost rows is partial or failed, never complete.
  const settled = settle(store, runId, { interrupted: signal.aborted, measured: measurements.length, summary }, logger);
  const status = settled.status === 'running' ? 'failed' : settled.status;
  const unanswered = control && control.answered < control.asked ? `; the control answered ${control.answered}/${control.asked}` : '';
  const line = `sweep ${status}: ${finished.length}/${units.length} units in ${durationS.toFixed(1)} s, ${formatCounts(countsByVerdict)}${unanswered}`;
  if (status === 'partial' || status === 'failed') {
    logger.error({ run_id: runId, schedule: request.schedule, status, stored: settled.stored, measurements: measurements.length, ...summary }, `${line}; only ${settled.stored} of ${measurements.length} measurements were stored`);
  } else {
    logger.info({ run_id: runId, schedule: request.schedule, status, ...summary }, line);
  }
  return { runId, startedAt, status, stored: settled.stored, durationS, units: outcomes, measurements, countsByVerdict, dropped, control };
}

function settle(store: Store, runId: string, settlement: RunSettlement, logger: Logger): SettledRun {
  try {
    const settled = store.settleRun(runId, settlement);
    if (!settled.recorded) logger.error({ run_id: runId, err: settled.error?.message }, 'could not mark the run finished');
    // A run whose row could not be written was not stored as finished: it did not succeed.
    return settled.recorded ? settled : { ...settled, status: settled.status === 'complete' ? 'partial' : settled.status };
  } catch (err) {
    logger.error({ run_id: runId, err: (err as Error).message }, 'could not settle the run');
    return { status: 'failed', measured: settlement.measured, stored: 0, recorded: false };
  }
}

/** What the sweep keeps of a unit once its records are with the store and the judgement. */
function finishUnit(run: UnitRun, judged: { index: number; failed: boolean }): FinishedUnit {
  return {
    unit: run.unit,
    index: judged.index,
    failed: judged.failed,
    measurements: run.measurements.map((m) => ({
      measurement_id: m.measurement_id,
      probe: m.probe,
      url: m.url,
      started_at: m.started_at,
      runtime_ms: m.runtime_ms,
      failure: m.failure,
      verdict: m.verdict,
    })),
    okDroppedHops: run.measurements.map((m) => (m.probe === 'http' ? okDroppedBodyHops(m.details as { hops?: HttpHop[] }) : [])),
  };
}

function firstOf<T>(items: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length >= n) break;
    out.push(item);
  }
  return out;
}

function formatCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([v, n]) => `${v}=${n}`);
  return parts.length ? parts.join(' ') : 'nothing measured';
}

