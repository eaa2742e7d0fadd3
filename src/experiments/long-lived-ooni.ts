// rasad's own experiments, which OONI has no test for, as OONI measurements
// under their own test names (README.md "Export for researchers" documents the keys).
// Their test_keys are the probe's details as recorded, plus the verdict fields
// every rasad export carries.
import type { Measurement } from '../model.js';
import { parseStoredTime } from '../export/time.js';
import type { OoniKeys, OoniMapping } from './types.js';

export const RASAD_TEST_VERSION = '0.1.0';

/** The mapping of a one-probe rasad experiment, exported as `testName`. */
export function rasadOoniMapping(testName: string, testVersion = RASAD_TEST_VERSION): OoniMapping {
  return {
    testName: () => testName,
    testVersion: () => testVersion,
    extensions: {},
    keys: (measurements) => rasadTestKeys(measurements[measurements.length - 1]!),
  };
}

/** The test_keys of one measurement of a rasad experiment. */
export function rasadTestKeys(m: Measurement): OoniKeys {
  const details = m.details && typeof m.details === 'object' && !Array.isArray(m.details) ? (m.details as Record<string, unknown>) : {};
  const runtimeMs = typeof m.runtime_ms === 'number' && Number.isFinite(m.runtime_ms) ? m.runtime_ms : 0;
  return {
    testKeys: {
      ...details,
      failure: m.failure ?? null,
      failed_operation: m.failed_operation ?? null,
      ...(m.control ? { control: m.control } : {}),
      x_rasad_verdict: m.verdict ?? 'inconclusive',
      x_rasad_verdict_reason: m.verdict_reason ?? '',
      x_rasad_evidence: m.evidence ?? {},
      x_rasad_target: m.target ?? null,
      x_rasad_category: m.category ?? null,
      x_rasad_tags: Array.isArray(m.tags) ? m.tags : [],
      x_rasad_measurement_ids: [m.measurement_id],
    },
    startMs: parseStoredTime(m.started_at) ?? 0,
    runtimeS: Math.round(runtimeMs * 1000) / 1e6,
  };
}
