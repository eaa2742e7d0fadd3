// Throttling needs the input's own history to agree (issue 15): one slow sweep
// is not throttling. The history comes from the store (src/store/history.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { judgeSweep, type UnitObservation } from '../../src/analysis/verdict.js';
import type { Measurement } from '../../src/model.js';
import { throughputRatios } from '../../src/store/history.js';
import { Store } from '../../src/store/store.js';
import { throughput } from '../fixtures/verdicts/builders.js';

const sweep = (): UnitObservation[] => [throughput('https://aparat.example/big.bin', 5_000_000, { domestic: true }), throughput('https://video.example/big.bin', 150_000)];
const judge = (history: number[] | null) =>
  judgeSweep(sweep(), { fingerprints: defaultFingerprints(), history: history ? () => ({ throughputRatios: history }) : undefined })[1]!;

describe('throttled against the history', () => {
  it('is throttled when this sweep and the median of the last ones are both at most a tenth', () => {
    const v = judge([0.05, 0.02, 0.04]);
    expect(v.verdict).toBe('throttled');
    expect(v.evidence).toMatchObject({ ratio: 0.03, history_sweeps: 4 });
  });

  it('is inconclusive when only this sweep is slow and the last ones were not', () => {
    const v = judge([0.8, 0.9, 0.6, 0.75]);
    expect(v.verdict).toBe('inconclusive');
    expect(v.verdict_reason).toMatch(/one slow sweep is not throttling/);
  });

  it('needs three sweeps that agree before a slow download is throttling, unless the rate collapsed', () => {
    // 3 % of the baseline with no history, or one sweep before: random loss can do that once.
    expect(judge(null).verdict).toBe('inconclusive');
    expect(judge(null).verdict_reason).toMatch(/throttling needs 3 sweeps that agree/);
    expect(judge([]).evidence).toMatchObject({ history_sweeps: 1 });
    expect(judge([0.02]).verdict).toBe('inconclusive');
    // The third sweep that agrees decides.
    expect(judge([0.02, 0.05]).verdict).toBe('throttled');
  });

  it('is throttled on the first sweep when the rate collapsed below a hundredth of the baseline', () => {
    const collapsed = [throughput('https://aparat.example/big.bin', 5_000_000, { domestic: true }), throughput('https://video.example/big.bin', 20_000)];
    const v = judgeSweep(collapsed, { fingerprints: defaultFingerprints() })[1]!;
    expect(v.verdict).toBe('throttled');
    expect(v.evidence).toMatchObject({ ratio: 0.004, history_sweeps: 1 });
  });
});

describe('throughputRatios', () => {
  it('reads the stored ratios of one input, newest first, and nothing of other inputs or probes', () => {
    const store = Store.open(join(mkdtempSync(join(tmpdir(), 'rasad-history-')), 'db.sqlite'));
    try {
      store.beginRun({ run_id: 'r1', started_at: '2026-01-01T00:00:00.000Z', probes: ['throughput'], inputs_total: 3 });
      const base = { run_id: 'r1', target: 't', category: 'MMED', tags: [], runtime_ms: 1, failure: null, failed_operation: null, details: {}, verdict_reason: 'x', control: null };
      const rows = [
        { ...base, measurement_id: 'a', url: 'https://v.example/', probe: 'throughput', started_at: '2026-01-01T01:00:00.000Z', verdict: 'ok', evidence: { ratio: 0.5 } },
        { ...base, measurement_id: 'b', url: 'https://v.example/', probe: 'throughput', started_at: '2026-01-01T02:00:00.000Z', verdict: 'throttled', evidence: { ratio: 0.04 } },
        { ...base, measurement_id: 'c', url: 'https://v.example/', probe: 'throughput', started_at: '2026-01-01T03:00:00.000Z', verdict: 'inconclusive', evidence: {} },
        { ...base, measurement_id: 'd', url: 'https://other.example/', probe: 'throughput', started_at: '2026-01-01T04:00:00.000Z', verdict: 'ok', evidence: { ratio: 0.9 } },
      ] as unknown as Measurement[];
      store.insertMeasurements(rows);
      expect(throughputRatios(store.db, 'https://v.example/', 9)).toEqual([0.04, 0.5]);
      expect(throughputRatios(store.db, 'https://v.example/', 1)).toEqual([0.04]);
    } finally {
      store.close();
    }
  });
});
