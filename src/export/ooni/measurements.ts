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
import { envelope, EnvelopeLines, type EnvelopeInput, type EnvelopeOptions } from './envelope.js';
import { unflaggedRows, type UnitRow } from './unit-rows.js';

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

/** OONI measurements as objects (the uploader's); every row is scrubbed again unless includeIp. */
export function* ooniMeasurements(rows: Iterable<Measurement>, options: OoniOptions, stats: OoniStats): Generator<Record<string, unknown>> {
  for (const unit of ooniUnits(unflaggedRows(rows), stats)) yield envelope(unitInput(unit, options), options);
}

/**
 * OONI measurements as JSONL lines, the bytes of JSON.stringify(ooniMeasurements'
 * object) plus a newline: the envelope's constant parts are serialised once
 * (envelope.ts EnvelopeLines), and a unit of rows stored export-ready (scrubbed
 * at storage) is not scrubbed again.
 */
export function* ooniLines(rows: Iterable<UnitRow>, options: OoniOptions, stats: OoniStats): Generator<string> {
  const lines = new EnvelopeLines(options);
  for (const unit of ooniUnits(rows, stats)) yield lines.line(unitInput(unit, options));
}

interface Unit {
  experiment: Experiment<unknown>;
  measurements: Measurement[];
  /** Every row was stored scrubbed (export_ready). */
  ready: boolean;
}

function* ooniUnits(rows: Iterable<UnitRow>, stats: OoniStats): Generator<Unit> {
  // The open units of the current (run, input), by experiment: a long-lived probe of the
  // same input may interleave with a web unit's probes when one run held both.
  let inputKey: string | null = null;
  const open = new Map<Experiment<unknown>, Unit>();
  const close = function* (experiment: Experiment<unknown>) {
    const unit = open.get(experiment);
    open.delete(experiment);
    if (unit?.measurements.length) {
      stats.written++;
      yield unit;
    }
  };
  for (const { m, ready } of rows) {
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
    let unit = open.get(experiment);
    if (!unit) open.set(experiment, (unit = { experiment, measurements: [], ready: true }));
    unit.measurements.push(m);
    unit.ready &&= ready;
    // A one-probe experiment's unit is complete with its measurement; a retried unit is cut when it grows past bad-data size.
    if (experiment.probes.length === 1 || unit.measurements.length >= MAX_UNIT_MEASUREMENTS) yield* close(experiment);
  }
  for (const e of [...open.keys()]) yield* close(e);
}

function unitInput({ experiment, measurements: unit, ready }: Unit, options: OoniOptions): EnvelopeInput {
  const first = unit[0]!;
  const { testKeys, startMs, runtimeS } = experiment.ooni.keys(unit);
  // Rows stored export-ready were scrubbed at storage, and the mapping moves
  // only strings that were under error-text keys to error-text keys: scrubbing again would change nothing.
  if (!options.includeIp && !ready) scrubErrorStrings(testKeys);
  const input = String(first.url ?? '');
  const runId = String(first.run_id ?? '');
  return {
    testName: experiment.ooni.testName(input),
    testVersion: experiment.ooni.testVersion(input),
    input,
    runId,
    measurementStartMs: startMs,
    testStartMs: options.runStart(runId) ?? startMs,
    runtimeS,
    extensions: experiment.ooni.extensions,
    testKeys,
  };
}
