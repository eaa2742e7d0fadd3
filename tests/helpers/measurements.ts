// Small builders of stored measurements for tests that need rows in a store.
import { randomUUID } from 'node:crypto';
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
