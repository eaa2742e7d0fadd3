// Stored measurements to OONI measurements, streaming. The rows arrive ordered
// by (run_id, url) (Store.iterateMeasurementsByUnit), so a web unit's dns,
// tcp, tls and http measurements are adjacent: they are gathered until the
// key changes and leave as one web_connectivity measurement. Long-lived
// probes leave one by one. Only one unit is held at a time.
import { WEB_PROBES, type ProbeKind } from '../../../probes/types.js';
import type { Measurement } from '../../model.js';
import { scrubErrorStrings } from '../privacy.js';
import { envelope, type EnvelopeOptions } from './envelope.js';
import { RASAD_TEST_NAMES, RASAD_TEST_VERSION, TCP_REACHABILITY_TEST_NAME, rasadTestKeys } from './rasad-tests.js';
import { WEB_CONNECTIVITY_EXTENSIONS, WEB_CONNECTIVITY_TEST_VERSION, webConnectivityKeys } from './web-connectivity.js';

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

const WEB = new Set<string>(WEB_PROBES);

export function* ooniMeasurements(rows: Iterable<Measurement>, options: OoniOptions, stats: OoniStats): Generator<Record<string, unknown>> {
  let unitKey: string | null = null;
  let unit: Measurement[] = [];
  for (const m of rows) {
    stats.read++;
    if (!m || typeof m !== 'object') {
      stats.skipped++;
      continue;
    }
    const key = `${m.run_id}\n${m.url}`;
    // A new (run, URL) closes the unit gathered so far, whatever kind of measurement opens it.
    if (key !== unitKey || unit.length >= MAX_UNIT_MEASUREMENTS) {
      if (unit.length) {
        stats.written++;
        yield webUnitMeasurement(unit, options);
      }
      unit = [];
      unitKey = key;
    }
    if (WEB.has(m.probe)) {
      unit.push(m);
      continue;
    }
    const out = longProbeMeasurement(m, options);
    if (out) {
      stats.written++;
      yield out;
    } else stats.skipped++;
  }
  if (unit.length) {
    stats.written++;
    yield webUnitMeasurement(unit, options);
  }
}

function webUnitMeasurement(unit: Measurement[], options: OoniOptions): Record<string, unknown> {
  const first = unit[0]!;
  const { testKeys, startMs, runtimeS } = webConnectivityKeys(unit);
  if (!options.includeIp) scrubErrorStrings(testKeys);
  const input = String(first.url ?? '');
  const testName = /^https?:/i.test(input) ? 'web_connectivity' : TCP_REACHABILITY_TEST_NAME;
  return envelope(
    {
      testName,
      testVersion: testName === 'web_connectivity' ? WEB_CONNECTIVITY_TEST_VERSION : RASAD_TEST_VERSION,
      input,
      runId: String(first.run_id ?? ''),
      measurementStartMs: startMs,
      testStartMs: options.runStart(String(first.run_id ?? '')) ?? startMs,
      runtimeS,
      extensions: WEB_CONNECTIVITY_EXTENSIONS,
      testKeys,
    },
    options,
  );
}

function longProbeMeasurement(m: Measurement, options: OoniOptions): Record<string, unknown> | null {
  const testName = RASAD_TEST_NAMES[m.probe as ProbeKind];
  if (!testName) return null;
  const { testKeys, startMs, runtimeS } = rasadTestKeys(m);
  if (!options.includeIp) scrubErrorStrings(testKeys);
  return envelope(
    {
      testName,
      testVersion: RASAD_TEST_VERSION,
      input: String(m.url ?? ''),
      runId: String(m.run_id ?? ''),
      measurementStartMs: startMs,
      testStartMs: options.runStart(String(m.run_id ?? '')) ?? startMs,
      runtimeS,
      extensions: {},
      testKeys,
    },
    options,
  );
}
