// updateVerdicts patches an export-ready row in SQL (json_set) instead of
// scrubbing and serialising the whole measurement again: the stored text,
// its flag and its columns must be exactly what a full rewrite gives.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/model.js';
import { storedMeasurement, type VerdictUpdate } from '../../src/records/stored-record.js';
import { Store } from '../../src/store/store.js';
import { GENERATED_RUN, generatedMeasurement, jsonishTree } from '../export/generated.js';
import { fakeMeasurement, httpHop } from '../helpers/measurements.js';

function rowOf(store: Store, id: string): Record<string, unknown> {
  return store.db.prepare(`SELECT verdict, verdict_reason, record, export_ready FROM measurements WHERE measurement_id = ?`).get(id) as Record<string, unknown>;
}

/** What the sweep does to a provisional measurement once it has its verdict (src/sweep/run.ts). */
function finalise(m: Measurement, verdict: string, reason: string, evidence: unknown): Measurement {
  const details = m.details as { hops?: unknown } | null;
  const hops = Array.isArray(details?.hops) ? details.hops.map((h) => (h && typeof h === 'object' ? { ...h, body_sample: null } : h)) : undefined;
  return { ...m, verdict, verdict_reason: reason, evidence, ...(hops ? { details: { ...details, hops } } : {}) } as Measurement;
}

function openWithRun(): Store {
  const store = Store.open(':memory:');
  store.beginRun({ run_id: GENERATED_RUN, started_at: '2026-11-01T10:00:00.000Z', probes: ['http'], inputs_total: 1 });
  store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00.000Z', probes: ['http'], inputs_total: 1 });
  return store;
}

describe('updateVerdicts', () => {
  it('patches an http measurement in place: verdict, scrubbed reason and evidence, body samples dropped', () => {
    const store = openWithRun();
    const m = fakeMeasurement({
      probe: 'http',
      verdict: 'inconclusive',
      verdict_reason: 'provisional',
      details: { hops: [httpHop({ body_sample: '<html>blocked</html>' }), httpHop({ body_sample: 'second' })] },
    });
    store.insertMeasurements([m]);
    const final = finalise(m, 'ok', 'fine from 10.1.2.3', { errors: ['reset by 192.0.2.9'], n: 1e21 });
    store.updateVerdicts([final]);
    const row = rowOf(store, m.measurement_id);
    const expected = storedMeasurement(final);
    expect(row.record).toBe(expected.record);
    expect(row.export_ready).toBe(1);
    expect(row.verdict).toBe('ok');
    expect(row.verdict_reason).toBe('fine from [scrubbed]');
    expect(JSON.parse(row.record as string).details.hops.map((h: { body_sample: unknown }) => h.body_sample)).toEqual([null, null]);
    store.close();
  });

  it('agrees with a full rewrite on the flag of a record with an undefined key named like an Object method (found by the property below)', () => {
    const store = openWithRun();
    const m = { ...fakeMeasurement({ probe: 'dns', run_id: GENERATED_RUN, evidence: { failure: { '': { failure: [new Date(0)] } } } }), toString: undefined } as unknown as Measurement;
    store.insertMeasurements([m]);
    const final = finalise(m, 'v.', ' via ::0:0:0', {});
    store.updateVerdicts([final]);
    const row = rowOf(store, m.measurement_id);
    const expected = storedMeasurement(final);
    expect(row.record).toBe(expected.record);
    expect(row.export_ready).toBe(expected.exportReady ? 1 : 0);
    expect(row.export_ready).toBe(1);
    store.close();
  });

  it('gives byte for byte what a full rewrite gives, for generated measurements', () => {
    fc.assert(
      fc.property(generatedMeasurement, fc.string(), fc.oneof(fc.ipV4(), fc.ipV6()), jsonishTree, (m, word, ip, evidence) => {
        const store = openWithRun();
        try {
          store.insertMeasurements([m]);
          const final = finalise(m, `v.${word}`, `${word} via ${ip}`, evidence);
          store.updateVerdicts([final]);
          const row = rowOf(store, m.measurement_id);
          const expected = storedMeasurement(final);
          expect(row.record).toBe(expected.record);
          expect(row.export_ready).toBe(expected.exportReady ? 1 : 0);
          expect(row.verdict_reason).toEqual(expected.verdictReason);
          expect(row.verdict).toBe(final.verdict);
        } finally {
          store.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** The update a sweep keeps for a measurement that `finalise` gives its verdict (every hop's body dropped). */
function updateOf(m: Measurement, verdict: string, reason: string, evidence: unknown): VerdictUpdate {
  const hops = (m.details as { hops?: unknown } | null)?.hops;
  return {
    measurement_id: m.measurement_id,
    verdict: verdict as VerdictUpdate['verdict'],
    verdict_reason: reason,
    evidence: evidence as Record<string, unknown>,
    nulledBodyHops: Array.isArray(hops) ? hops.flatMap((h, i) => (h && typeof h === 'object' ? [i] : [])) : [],
  };
}

describe('applyVerdicts (a sweep that kept only the verdicts)', () => {
  it('gives byte for byte what a full rewrite of the measurement gives, whether the row is patched or read back and rewritten', () => {
    let readBack = 0;
    fc.assert(
      fc.property(generatedMeasurement, fc.string(), fc.oneof(fc.ipV4(), fc.ipV6()), jsonishTree, (m, word, ip, evidence) => {
        const store = openWithRun();
        try {
          store.insertMeasurements([m]);
          if (rowOf(store, m.measurement_id).export_ready === 0) readBack++;
          store.applyVerdicts([updateOf(m, `v.${word}`, `${word} via ${ip}`, evidence)]);
          const row = rowOf(store, m.measurement_id);
          const expected = storedMeasurement(finalise(m, `v.${word}`, `${word} via ${ip}`, evidence));
          expect(row.record).toBe(expected.record);
          expect(row.export_ready).toBe(expected.exportReady ? 1 : 0);
          expect(row.verdict_reason).toEqual(expected.verdictReason);
          expect(row.verdict).toBe(`v.${word}`);
        } finally {
          store.close();
        }
      }),
      { numRuns: 300 },
    );
    // The read-back path was exercised, not only the patch.
    expect(readBack).toBeGreaterThan(0);
  });

  it('drops only the bodies it is told to, and leaves a kept page whole', () => {
    const store = openWithRun();
    const m = fakeMeasurement({
      probe: 'http',
      verdict: 'inconclusive',
      verdict_reason: 'provisional',
      details: { hops: [httpHop({ body_sample: 'redirect page' }), httpHop({ body_sample: '<html>kept</html>' })] },
    });
    store.insertMeasurements([m]);
    store.applyVerdicts([{ ...updateOf(m, 'ok', 'fine', {}), nulledBodyHops: [0] }]);
    const record = JSON.parse(rowOf(store, m.measurement_id).record as string);
    expect(record.details.hops.map((h: { body_sample: unknown }) => h.body_sample)).toEqual([null, '<html>kept</html>']);
    expect(record.verdict).toBe('ok');
    store.close();
  });

  it('skips a measurement the store never took, and gives a damaged row its verdict columns without touching its text', () => {
    const store = openWithRun();
    const m = fakeMeasurement({ probe: 'dns', verdict: 'inconclusive', verdict_reason: 'provisional' });
    store.insertMeasurements([m]);
    store.db.prepare(`UPDATE measurements SET record = '{"truncated', export_ready = 0 WHERE measurement_id = ?`).run(m.measurement_id);
    const absent = fakeMeasurement({ probe: 'dns' });
    store.applyVerdicts([updateOf(absent, 'dns.nxdomain', 'gone', {}), updateOf(m, 'dns.nxdomain', 'no such name', {})]);
    const row = rowOf(store, m.measurement_id);
    expect(row).toMatchObject({ verdict: 'dns.nxdomain', verdict_reason: 'no such name', record: '{"truncated' });
    expect(store.countMeasurements()).toBe(1);
    store.close();
  });
});

describe('module boundaries', () => {
  it('nothing in src/store imports src/export', () => {
    const dir = join(import.meta.dirname, '../../src/store');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from ['"][^'"]*\/export\//.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
