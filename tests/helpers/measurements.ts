// Small builders of records for tests: stored measurements, HTTP hops.
import { randomUUID } from 'node:crypto';
import type { HttpHop } from '../../probes/types.js';
import type { Measurement } from '../../src/model.js';

export function fakeMeasurement(overrides: Partial<Measurement> = {}): Measurement {
  return {
    measurement_id: randomUUID(),
    run_id: 'run-1',
    target: 'example.test',
    url: 'https://example.test/',
    category: 'NEWS',
    tags: [],
    probe: 'dns',
    started_at: '2026-11-01T10:00:00.000Z',
    runtime_ms: 12.5,
    failure: null,
    failed_operation: null,
    details: { hostname: 'example.test', resolutions: [], addresses: ['192.0.2.1'] },
    verdict: 'ok',
    verdict_reason: 'consistent with the control',
    control: null,
    evidence: {},
    ...overrides,
  };
}

/** An HTTP hop that succeeded with an empty 200, changed by `spec`. */
export function httpHop(spec: Partial<HttpHop> = {}): HttpHop {
  return {
    url: 'http://site.example/',
    ip: null,
    t0: 0,
    t: 0.1,
    failure: null,
    failed_operation: null,
    status_code: 200,
    headers: {},
    title: null,
    body_length: 0,
    body_truncated: false,
    body_sample: '',
    body_sha256: null,
    timings: { connect_ms: null, tls_ms: null, first_byte_ms: null, total_ms: null },
    ...spec,
  };
}
