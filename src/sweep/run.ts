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
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import { startPhase } from '../../probes/net.js';
import { preferConnected } from '../../probes/tcp.js';
import { withoutSecrets } from '../../probes/wireguard.js';
import type { DnsDetails, HttpHop, ProbeKind, ProbeOptions, ProbeResult, TcpDetails, Target } from '../../probes/types.js';
import type { SweepJudge } from '../analysis/verdict.js';
import { askLongControl, type LongControlQuery } from './long-control.js';
import { learnOwnAddresses } from './own-address.js';
import { BatchWriter } from './batch-writer.js';
import type { AttemptResults, JudgeOptions, UnitObservation } from '../analysis/verdict.js';
import type { VerdictUpdate } from '../records/stored-record.js';
import type { Config } from '../config/schema.js';
import { experimentOf, experimentOfProbe, type ProbeRegistry } from '../experiments/registry.js';
import { okDroppedBodyHops } from '../experiments/web/kept-body.js';
import type { ControlAnswer, Measurement, Verdict, VerdictResult } from '../model.js';
import type { Store } from '../store/store.js';
import type { RunSettlement, SettledRun } from '../store/runs.js';
import { planSweep, type PlannedUnit } from './plan.js';

export const PROVISIONAL_REASON = 'not analysed yet: the sweep had not finished';

/** How many of the inputs in flight a progress report names. */
export const IN_FLIGHT_SHOWN = 8;

export interface ControlQuery {
  (
    helperUrls: string[],
    req: { url: string; headers?: Record<string, string[]>; tcpConnect: string[] },
    signal: AbortSignal,
    opts?: { timeoutMs?: number; extraCaPem?: string },
  ): Promise<{ answer: ControlAnswer | null; helper: string | null; failures: { helper: string; failure: string }[]; health?: HelperHealth[] }>;
}

/** Whether a control helper answered (or was only busy), as the client saw it. */
export interface HelperHealth {
  url: string;
  up: boolean;
  failure: string | null;
}

/** How the control fared over one sweep: the change detector turns it into control.down / control.up. */
export interface ControlHealth {
  /** Units whose URL was sent to the control. */
  asked: number;
  /** Of those, how many got an answer. */
  answered: number;
  /** The last word on each helper in this sweep. */
  helpers: HelperHealth[];
}

export interface SweepDeps {
  store: Store;
  config: Config;
  probes: ProbeRegistry;
  logger: Logger;
  /** startSweepJudgement in the daemon; batchJudge(fn) for a judge of all units at once. */
  judge: SweepJudge;
  needsRetry(attempt: AttemptResults, url: string, kind: string): boolean;
  judgeOptions: JudgeOptions;
  queryControl?: ControlQuery;
  /** The long-lived control (rasad helper /rasad/v1/long); absent: the long-lived judges rest on agreement across targets. */
  queryLongControl?: LongControlQuery;
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

interface UnitRun {
  unit: PlannedUnit;
  observation: UnitObservation;
  /** The measurements of the attempt that is kept (the last one). */
  measurements: Measurement[];
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
  const runId = randomUUID();
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
  const line = `sweep ${status}: ${finished.length}/${units.length} units in ${durationS.toFixed(1)} s, ${formatCounts(countsByVerdict)}`;
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

function measurementDeadlineMs(config: Config, kind: ProbeKind): number {
  return experimentOfProbe(kind)?.deadlineMs(config, kind) ?? config.measurementDeadlineMs;
}

async function runProbe(deps: SweepDeps, kind: ProbeKind, target: Target, url: string, addresses: string[], options: ProbeOptions, sweepSignal: AbortSignal): Promise<ProbeResult> {
  // One timer and one listener per probe (cheaper than AbortSignal.any + AbortSignal.timeout at 200 units in flight).
  const phase = startPhase(sweepSignal, measurementDeadlineMs(deps.config, kind), 'measurement');
  try {
    return await deps.probes[kind].run({ target, url, addresses, options }, phase.signal);
  } finally {
    phase.dispose();
  }
}

async function runUnit(deps: SweepDeps, runId: string, unit: PlannedUnit, signal: AbortSignal, health: ControlHealth): Promise<UnitRun> {
  const { config } = deps;
  const options = config.probe;
  const attempts: AttemptResults[] = [];
  let controlPromise: Promise<{ answer: ControlAnswer | null; helper: string | null }> | null = null;
  const experiment = experimentOf(unit.kind);
  const maxAttempts = experiment?.retried ? 1 + Math.max(0, config.retries) : 1;
  // A session held from outside for the same horizon starts with the probe.
  let longControl = askLongControl(deps.queryLongControl, config, experiment, 'with_probe', unit.target, unit.url, null, signal);

  for (let attempt = 0; attempt < maxAttempts && !signal.aborted; attempt++) {
    if (attempt > 0) await sleep(500 * attempt, signal);
    const results: AttemptResults = {};
    let addresses: string[] = [];
    for (const kind of unit.probes) {
      if (signal.aborted) break;
      const result = await runProbe(deps, kind, unit.target, unit.url, addresses, options, signal);
      (results as Record<string, ProbeResult>)[kind] = result;
      if (kind === 'dns') {
        addresses = (result.details as DnsDetails).addresses ?? [];
        // The address this machine would reach them from is the volunteer's: it is scrubbed wherever a server echoes it.
        await learnOwnAddresses(addresses);
        // The control measures the same URL from outside, with the addresses we found, while we go on.
        if (attempt === 0 && experiment?.webControl && /^https?:/.test(unit.url) && config.controls.length > 0 && deps.queryControl) {
          controlPromise = queryControlFor(deps, unit.url, addresses, signal, health);
        }
      }
      // The next probes try the addresses that accepted a connection first.
      if (kind === 'tcp') addresses = preferConnected(addresses, result.details as TcpDetails, portOf(unit.url));
    }
    attempts.push(results);
    if (!experiment?.retried || !deps.needsRetry(results, unit.url, unit.kind)) break;
  }

  // The same resource, the same silent endpoint: asked once the probe has said which.
  longControl ??= signal.aborted ? null : askLongControl(deps.queryLongControl, config, experiment, 'after_probe', unit.target, unit.url, attempts[attempts.length - 1] ?? null, signal);
  let control: ControlAnswer | null = null;
  let controlHelper: string | null = null;
  if (controlPromise) ({ answer: control, helper: controlHelper } = await controlPromise);
  // The OONI helper protocol covers web URLs only: a bare tcp:// endpoint has no control to fail.
  const controlFailed = controlPromise !== null && control === null;

  const kept = Object.values(attempts[attempts.length - 1] ?? {}) as ProbeResult[];
  // The control's full answer is stored once per unit, on its last measurement (the HTTP one when there is
  // one): the verdict's evidence, on every measurement, carries the summary. Four copies cost 500 bytes each.
  const measurements: Measurement[] = kept.map((result, i) => ({
    ...result,
    measurement_id: randomUUID(),
    run_id: runId,
    // A lab or a volunteer's own WireGuard server may carry a client key in the input: it is never stored.
    target: withoutSecrets(unit.target.raw),
    url: withoutSecrets(unit.url),
    category: unit.target.category,
    tags: unit.target.tags,
    verdict: 'inconclusive',
    verdict_reason: PROVISIONAL_REASON,
    control: i === kept.length - 1 ? control : null,
    evidence: { attempts: attempts.length, control_helper: controlHelper },
  }));
  const observation: UnitObservation = { kind: unit.kind, target: unit.target, url: unit.url, attempts, control, controlFailed, longControl: longControl ? await longControl : null };
  return { unit, observation, measurements };
}

async function queryControlFor(deps: SweepDeps, url: string, addresses: string[], signal: AbortSignal, health: ControlHealth) {
  health.asked++;
  const port = portOf(url);
  const tcpConnect = addresses.slice(0, 4).map((ip) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`));
  try {
    const res = await deps.queryControl!(deps.config.controls, { url, tcpConnect }, signal, {
      timeoutMs: deps.config.probe.timeoutMs * 3,
      extraCaPem: deps.config.probe.extraCaPem,
    });
    if (!res.answer) deps.logger.warn({ url, failures: res.failures }, 'no control helper answered');
    else health.answered++;
    for (const h of res.health ?? []) {
      const known = health.helpers.find((k) => k.url === h.url);
      if (known) Object.assign(known, h);
      else health.helpers.push({ ...h });
    }
    return { answer: res.answer, helper: res.helper };
  } catch (err) {
    deps.logger.warn({ url, err: (err as Error).message }, 'control query failed');
    return { answer: null, helper: null };
  }
}

function portOf(url: string): number {
  const u = new URL(url);
  if (u.port) return Number(u.port);
  return u.protocol === 'https:' ? 443 : 80;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
