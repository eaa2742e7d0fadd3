// One unit of a sweep: its probes in order (each under the measurement
// deadline), its retries, the control asked alongside, and its measurements
// stored provisionally. src/sweep/run.ts schedules the units and judges them.
import type { Logger } from 'pino';
import { startPhase } from '../../probes/net.js';
import { preferConnected } from '../../probes/tcp.js';
import { withoutSecrets } from '../../probes/wireguard.js';
import type { DnsDetails, ProbeKind, ProbeOptions, ProbeResult, TcpDetails, Target } from '../../probes/types.js';
import type { AttemptResults, UnitObservation } from '../analysis/verdict.js';
import type { Config } from '../config/schema.js';
import { experimentOf, experimentOfProbe, type ProbeRegistry } from '../experiments/registry.js';
import type { ControlAnswer, Measurement } from '../model.js';
import { timeOrderedId } from '../records/ids.js';
import { askLongControl, type LongControlQuery } from './long-control.js';
import { learnOwnAddresses } from './own-address.js';
import type { PlannedUnit } from './plan.js';

export const PROVISIONAL_REASON = 'not analysed yet: the sweep had not finished';

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

/** The sweeps (their health objects) that have already warned of an unanswered control. */
const warnedSweeps = new WeakSet<ControlHealth>();

/** What running one unit needs of the sweep's dependencies. */
export interface UnitDeps {
  config: Config;
  probes: ProbeRegistry;
  logger: Logger;
  needsRetry(attempt: AttemptResults, url: string, kind: string): boolean;
  queryControl?: ControlQuery;
  /** The long-lived control (rasad helper /rasad/v1/long); absent: the long-lived judges rest on agreement across targets. */
  queryLongControl?: LongControlQuery;
}

export interface UnitRun {
  unit: PlannedUnit;
  observation: UnitObservation;
  /** The measurements of the attempt that is kept (the last one). */
  measurements: Measurement[];
}

function measurementDeadlineMs(config: Config, kind: ProbeKind): number {
  return experimentOfProbe(kind)?.deadlineMs(config, kind) ?? config.measurementDeadlineMs;
}

async function runProbe(deps: UnitDeps, kind: ProbeKind, target: Target, url: string, addresses: string[], options: ProbeOptions, sweepSignal: AbortSignal): Promise<ProbeResult> {
  // One timer and one listener per probe (cheaper than AbortSignal.any + AbortSignal.timeout at 200 units in flight).
  const phase = startPhase(sweepSignal, measurementDeadlineMs(deps.config, kind), 'measurement');
  try {
    return await deps.probes[kind].run({ target, url, addresses, options }, phase.signal);
  } finally {
    phase.dispose();
  }
}

export async function runUnit(deps: UnitDeps, runId: string, unit: PlannedUnit, signal: AbortSignal, health: ControlHealth): Promise<UnitRun> {
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
  // one): the verdict's evidence, on every measurement, carries the summary. Four copies cost about 1,000 bytes each (bench/store.ts).
  const measurements: Measurement[] = kept.map((result, i) => ({
    ...result,
    measurement_id: timeOrderedId(),
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

async function queryControlFor(deps: UnitDeps, url: string, addresses: string[], signal: AbortSignal, health: ControlHealth) {
  health.asked++;
  const port = portOf(url);
  const tcpConnect = addresses.slice(0, 4).map((ip) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`));
  try {
    const res = await deps.queryControl!(deps.config.controls, { url, tcpConnect }, signal, {
      timeoutMs: deps.config.probe.timeoutMs * 3,
      extraCaPem: deps.config.probe.extraCaPem,
    });
    if (res.answer) health.answered++;
    else if (warnedSweeps.has(health)) deps.logger.debug({ url, failures: res.failures }, 'no control helper answered');
    else {
      // Once per sweep at warn: with the network or the helpers down, every unit would say the same.
      warnedSweeps.add(health);
      deps.logger.warn({ url, failures: res.failures }, 'no control helper answered (the other units of this sweep are logged at debug; the sweep summary counts them)');
    }
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
