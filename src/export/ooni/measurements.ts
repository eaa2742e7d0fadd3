// Stored measurements to OONI measurements, streaming. The rows arrive ordered
// by (run_id, url) (Store.iterateMeasurementsByUnit), so a unit's
// measurements (a web unit's dns, tcp, tls and http) are adjacent: they are
// gathered until the (run, input, experiment) changes and leave as one OONI
// measurement, mapped by the experiment's own OONI module
// (src/experiments/<kind>/). Only one unit is held at a time.
import { experimentOfProbe } from '../../experiments/registry.js';
import type { Experiment } from '../../experiments/types.js';
import type { Measurement } from '../../model.js';
import { scrubErrorStrings } from '../privacy.js';
import { envelope, type EnvelopeOptions } from './envelope.js';

export interface OoniOptions extends EnvelopeOptions {
  includeIp: boolean;
  /** The start of a run (ms since the epoch), for test_start_time and report_id; null when the run is unknown. */
  runStart(runId: string): number | null;
}

export interface OoniStats {
  /** Stored measurements read. */
  read: number;
  /** OONI measurements written. */
  written: number;
  /** Measurements of a probe kind the export does not know, left out. */
  skipped: number;
}

// A retried unit has a few measurements per probe; more than this under one
// (run, url) is bad data, and is cut into several measurements rather than held.
const MAX_UNIT_MEASUREMENTS = 64;

export function* ooniMeasurements(rows: Iterable<Measurement>, options: OoniOptions, stats: OoniStats): Generator<Record<string, unknown>> {
  // The open units of the current (run, input), by experiment: a long-lived probe of the
  // same input may interleave with a web unit's probes when one run held both.
  let inputKey: string | null = null;
  const open = new Map<Experiment<unknown>, Measurement[]>();
  const close = function* (experiment: Experiment<unknown>) {
    const unit = open.get(experiment);
    open.delete(experiment);
    if (unit?.length) {
      stats.written++;
      yield unitMeasurement(experiment, unit, options);
    }
  };
  for (const m of rows) {
    stats.read++;
    const experiment = m && typeof m === 'object' ? experimentOfProbe(m.probe) : undefined;
    if (!experiment) {
      stats.skipped++;
      continue;
    }
    const key = `${m.run_id}\n${m.url}`;
    if (key !== inputKey) {
      for (const e of [...open.keys()]) yield* close(e);
      inputKey = key;
    }
    const unit = open.get(experiment) ?? [];
    open.set(experiment, unit);
    unit.push(m);
    // A one-probe experiment's unit is complete with its measurement; a retried unit is cut when it grows past bad-data size.
    if (experiment.probes.length === 1 || unit.length >= MAX_UNIT_MEASUREMENTS) yield* close(experiment);
  }
  for (const e of [...open.keys()]) yield* close(e);
}

function unitMeasurement(experiment: Experiment<unknown>, unit: Measurement[], options: OoniOptions): Record<string, unknown> {
  const first = unit[0]!;
  const { testKeys, startMs, runtimeS } = experiment.ooni.keys(unit);
  if (!options.includeIp) scrubErrorStrings(testKeys);
  const input = String(first.url ?? '');
  const runId = String(first.run_id ?? '');
  return envelope(
    {
      testName: experiment.ooni.testName(input),
      testVersion: experiment.ooni.testVersion(input),
      input,
      runId,
      measurementStartMs: startMs,
      testStartMs: options.runStart(runId) ?? startMs,
      runtimeS,
      extensions: experiment.ooni.extensions,
      testKeys,
    },
    options,
  );
}
