// The composition root's parts: configuration from flags, the store, the
// probes, the analysis and the alerts wired together for `run` and `once`.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import type { Probe, ProbeKind, ProbeOptions, Target } from '../probes/types.js';
import { resolveNonexistentName, type NonexistentNameCheck } from '../probes/dns.js';
import { defaultFingerprints } from './analysis/fingerprints.js';
import { needsRetry, startSweepJudgement, type JudgeOptions, type UnitObservation } from './analysis/verdict.js';
import { answeredMissingName } from './experiments/web/facts.js';
import { createChangePipeline, type ChangePipeline } from './alerts/pipeline.js';
import { UsageError } from './cli/command.js';
import { loadConfig } from './config/load.js';
import { MAX_CA_FILE_BYTES, readBoundedText, readFailure } from './read-bounded.js';
import { PROBE_KINDS, PROBES } from './experiments/registry.js';
import { lookupAsn, preloadAsnTable } from './net/asn.js';
import type { Config } from './config/schema.js';
import { queryControl } from './control/client.js';
import { queryLongControl } from './control/long/client.js';
import { throughputRatios } from './store/history.js';
import { startUploader } from './upload/uploader.js';
import { Metrics } from './http/metrics.js';
import { createLogger } from './log.js';
import { packageRoot } from './paths.js';
import { Store } from './store/store.js';
import { runSweep, type SweepOutcome, type SweepRequest } from './sweep/run.js';
import type { SweepObservation } from './analysis/changes.js';
import { loadTargets } from './targets/parse.js';

/** Whether a sweep's judges may look up autonomous systems: Messenger's addresses, or DNS consistency against a control. */
/** resolveNonexistentName, bounded by one probe timeout (and the sweep's signal); logged when the resolver rewrites NXDOMAIN. */
async function checkNonexistentName(options: ProbeOptions, sweepSignal: AbortSignal | undefined, logger: Logger): Promise<NonexistentNameCheck | null> {
  if (sweepSignal?.aborted) return null;
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(sweepSignal ? [sweepSignal] : [])];
  const check = await resolveNonexistentName(options, AbortSignal.any(signals));
  if (check.addresses.length > 0) {
    logger.warn({ name: check.name, addresses: check.addresses }, 'the local resolver answers names that exist nowhere (it rewrites NXDOMAIN): answers for missing names are not taken as censorship this sweep');
  }
  return check;
}

export function needsAsnTable(probes: readonly string[], config: Pick<Config, 'controls'>): boolean {
  return probes.includes('facebook_messenger') || (probes.includes('dns') && config.controls.length > 0);
}

export interface CommonFlags {
  config?: string;
  targets?: string;
  db?: string;
  resolver?: string;
  control?: string[];
  /** --no-control: no control helper at all. */
  'no-control'?: boolean;
}

/** File, environment, then flags; NODE_EXTRA_CA_CERTS is also trusted by the probes (the lab's CA). */
export function resolveConfig(flags: CommonFlags, env: NodeJS.ProcessEnv): Config {
  const overrides: Record<string, unknown> = {};
  if (flags.targets) overrides.targets = flags.targets;
  if (flags.db) overrides.db = flags.db;
  if (flags.resolver !== undefined) overrides.probe = { resolver: flags.resolver };
  if (flags.control?.length) overrides.controls = flags.control.flatMap((c) => c.split(',')).filter(Boolean);
  if (flags['no-control']) {
    if (flags.control?.length) throw new UsageError('--no-control and --control contradict each other: give one');
    overrides.controls = [];
  }
  const config = loadConfig({ file: flags.config, env, overrides: overrides as never });
  const extraCa = env.NODE_EXTRA_CA_CERTS;
  if (extraCa && !config.probe.extraCaPem) {
    try {
      config.probe.extraCaPem = readBoundedText(extraCa, MAX_CA_FILE_BYTES);
    } catch (err) {
      throw new UsageError(`${extraCa}: NODE_EXTRA_CA_CERTS is not readable (${readFailure(err)})`);
    }
  }
  return config;
}

/** The targets file: as configured, or the bundled targets.txt when the default is not in the working directory. */
export function resolveTargetsPath(config: Config, cwd: string): string {
  const path = isAbsolute(config.targets) ? config.targets : join(cwd, config.targets);
  if (existsSync(path) || config.targets !== 'targets.txt') return path;
  return join(packageRoot(), 'targets.txt');
}

export function parseProbeList(value: string | undefined, fallback: readonly ProbeKind[]): ProbeKind[] {
  if (value === undefined) return [...fallback];
  const kinds = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (kinds.length === 0) throw new UsageError('--probes: give at least one of ' + PROBE_KINDS.join(','));
  for (const k of kinds) {
    if (!(PROBE_KINDS as readonly string[]).includes(k)) throw new UsageError(`--probes: unknown probe "${k}" (known: ${PROBE_KINDS.join(', ')})`);
  }
  return kinds as ProbeKind[];
}

export interface Runtime {
  config: Config;
  logger: Logger;
  store: Store;
  targets: Target[];
  metrics: Metrics;
  pipeline: ChangePipeline;
  /** Runs one sweep, then feeds the change pipeline and the metrics. */
  sweep(request: Omit<SweepRequest, 'targets'> & { targets?: Target[] }): Promise<SweepOutcome>;
  close(): Promise<void>;
}

export function createRuntime(config: Config, io: { cwd: string; stderr: NodeJS.WritableStream & { isTTY?: boolean } }): Runtime {
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty, destination: io.stderr });
  const targets = loadTargets(resolveTargetsPath(config, io.cwd));
  const store = Store.open(config.db);
  const interrupted = store.markInterruptedRuns();
  if (interrupted > 0) logger.child({ layer: 'store' }).warn({ runs: interrupted }, 'runs interrupted by an earlier crash or kill were marked as such');
  if (!process.env.UV_THREADPOOL_SIZE) {
    logger.child({ layer: 'cli' }).warn('UV_THREADPOOL_SIZE is not set: system DNS lookups run two at a time and sweeps are slow; start rasad with bin/rasad or npm start, which set it');
  }
  const metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store, config, logger: logger.child({ layer: 'alerts' }), metrics });
  // Off unless the volunteer enabled a collector (README: Safety): then each finished run is queued for it.
  const uploader = startUploader({ store, config, logger: logger.child({ layer: 'store' }) });
  const fingerprints = defaultFingerprints();
  const probeLogger = logger.child({ layer: 'probe' });
  // A warm-up that fails fails the same way every sweep: said once.
  const warmFailures = new Set<string>();
  const onWarmFailure = (kind: ProbeKind, err: unknown) => {
    const message = (err as Error).message;
    if (warmFailures.has(message)) return;
    warmFailures.add(message);
    probeLogger.warn({ probe: kind, err: message }, 'a probe cannot use its options: its measurements will fail');
  };
  const sweepLogger = logger.child({ layer: 'scheduler' });

  return {
    config,
    logger,
    store,
    targets,
    metrics,
    pipeline,
    async sweep(request) {
      // Judges ask for ASes as units finish (Messenger's always, the web's when a control answered with other
      // addresses): the table is loaded first, in slices. A sweep that never asks does not hold its 8 MiB.
      if (needsAsnTable(request.probes, config)) await preloadAsnTable();
      warmProbes(PROBES, request.probes, config.probe, onWarmFailure);
      // This sweep's judge options: the NXDOMAIN check below fills in nonexistentName once it is asked.
      const judgeOptions: JudgeOptions = {
        fingerprints,
        asnOf: (ip) => lookupAsn(ip),
        probeTimeoutMs: config.probe.timeoutMs,
        // The input's own past sweeps (the judge takes the median with this one).
        history: (url, kind) => (kind === 'throughput' ? { throughputRatios: historyOf(store, url) } : null),
      };
      // Does the local resolver rewrite NXDOMAIN? Asked at most once a sweep, and only when a unit needs it:
      // a name the control finds nowhere got an answer here. Most sweeps never send the random name.
      let nxdomainCheck: Promise<NonexistentNameCheck | null> | null = null;
      const beforeJudging = async (unit: UnitObservation) => {
        if (!answeredMissingName(unit)) return;
        nxdomainCheck ??= checkNonexistentName(config.probe, request.signal, sweepLogger);
        judgeOptions.nonexistentName = await nxdomainCheck;
      };
      const outcome = await runSweep(
        {
          store,
          config,
          probes: PROBES,
          logger: sweepLogger,
          judge: startSweepJudgement,
          needsRetry,
          judgeOptions,
          beforeJudging,
          queryControl,
          queryLongControl,
        },
        { ...request, targets: request.targets ?? targets },
      );
      metrics.recordMeasurements(outcome.measurements);
      metrics.recordSweep(request.schedule, outcome.durationS, outcome.status === 'complete');
      metrics.recordControl(outcome.control);
      try {
        await pipeline.onSweep(toObservation(outcome));
      } catch (err) {
        sweepLogger.error({ err: (err as Error).message }, 'change detection failed for this sweep');
      }
      try {
        uploader.enqueueRun(outcome.runId);
      } catch (err) {
        sweepLogger.error({ err: (err as Error).message }, 'queueing the run for the collector failed');
      }
      return outcome;
    },
    async close() {
      await pipeline.stop();
      await uploader.stop();
      store.close();
    },
  };
}

/**
 * Runs the warm-up of each probe a sweep uses (Probe.warm: a TLS trust store,
 * the roots plus an extra CA or an app's own CA, about 40 ms each) before the
 * sweep starts, so that the first handshakes do not wait for it and the
 * probes in flight are not held meanwhile. Never fatal: a probe that cannot
 * use its options reports it per measurement; `onFailure` hears it here.
 */
export function warmProbes(
  registry: Readonly<Partial<Record<ProbeKind, Probe>>>,
  kinds: readonly ProbeKind[],
  options: ProbeOptions,
  onFailure: (kind: ProbeKind, err: unknown) => void,
): void {
  for (const kind of new Set(kinds)) {
    try {
      registry[kind]?.warm?.(options);
    } catch (err) {
      onFailure(kind, err);
    }
  }
}

function historyOf(store: Store, url: string): number[] {
  try {
    return throughputRatios(store.db, url, 9);
  } catch {
    // A read that fails (a damaged row) leaves the judgement to this sweep.
    return [];
  }
}

export function toObservation(outcome: SweepOutcome): SweepObservation {
  return {
    run_id: outcome.runId,
    at: outcome.startedAt,
    units: outcome.units.map((u) => ({
      target: u.target.raw,
      url: u.url,
      tags: u.target.tags,
      kind: u.kind,
      verdict: u.verdict.verdict,
      measurement_ids: u.measurementIds,
      failed: u.failed,
    })),
    control: outcome.control,
    storage: { status: outcome.status, measured: outcome.measurements.length, stored: outcome.stored },
  };
}
