// The bench fixture's web evidence must have the shape the web judge stores:
// a fixture with less parses less than a volunteer's database holds, and the
// store and export benches then report rates no real database reaches.
import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../probes/types.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { judgeSweep, type UnitObservation } from '../../src/analysis/verdict.js';
import type { ControlAnswer, Measurement } from '../../src/model.js';
import { syntheticBatches } from '../../bench/fixtures.js';

const WEB = new Set(['dns', 'tcp', 'tls', 'http']);

/** The fixture's web units, each as the judge would have observed it (its last attempt, the control on its http measurement). */
function webUnits(count: number): { measurements: Measurement[]; observation: UnitObservation }[] {
  const { measurements } = syntheticBatches(count * 4 + 40, count * 4 + 40, { longProbes: true }).next().value!;
  const byUnit = new Map<string, Measurement[]>();
  for (const m of measurements) {
    if (!WEB.has(m.probe)) continue;
    const key = `${m.run_id} ${m.url}`;
    if (!byUnit.has(key)) byUnit.set(key, []);
    byUnit.get(key)!.push(m);
  }
  return [...byUnit.values()].slice(0, count).map((unit) => {
    const attempt = Object.fromEntries(unit.map((m) => [m.probe, { probe: m.probe, started_at: m.started_at, runtime_ms: m.runtime_ms, failure: m.failure, failed_operation: m.failed_operation, details: m.details } as ProbeResult]));
    const http = unit.find((m) => m.probe === 'http')!;
    const first = unit[0]!;
    return {
      measurements: unit,
      observation: {
        kind: 'web',
        target: { raw: first.target, category: String(first.category), tags: first.tags as string[], inputs: [first.url] },
        url: first.url,
        attempts: [attempt],
        control: http.control as ControlAnswer,
        controlFailed: false,
      },
    };
  });
}

describe('bench/fixtures.ts web evidence', () => {
  const units = webUnits(60);
  const verdicts = judgeSweep(units.map((u) => u.observation), { fingerprints: defaultFingerprints(), asnOf: () => null });

  it('is on every measurement of a unit, as the sweep stores it', () => {
    for (const { measurements } of units) {
      expect(measurements).toHaveLength(4);
      for (const m of measurements) expect(m.evidence).toEqual(measurements[0]!.evidence);
    }
  });

  it('holds the members every web judgement stores, with the control summarised the same way', () => {
    const common = ['control', 'control_failed', 'attempts', 'decided_by_attempt', 'timings'];
    units.forEach(({ measurements }, i) => {
      const ours = measurements[0]!.evidence as Record<string, unknown>;
      const judged = verdicts[i]!.evidence as Record<string, unknown>;
      for (const key of common) expect(Object.keys(ours), key).toContain(key);
      for (const key of common) expect(Object.keys(judged), key).toContain(key);
      expect(ours.control).toEqual(judged.control);
      expect(Object.keys(ours.timings as object).sort()).toEqual(Object.keys(judged.timings as object).sort());
      expect(Object.keys((ours.attempts as object[])[0]!).sort()).toEqual(Object.keys((judged.attempts as object[])[0]!).sort());
    });
  });

  it('is about as large as the judge\'s own evidence for the same records', () => {
    const size = (x: unknown) => JSON.stringify(x).length;
    const ours = units.reduce((sum, u) => sum + size(u.measurements[0]!.evidence), 0);
    const judged = verdicts.reduce((sum, v) => sum + size(v.evidence), 0);
    // The fixture gives failing units three attempts where this replay judges one: it may be somewhat larger, never much smaller.
    expect(ours / judged).toBeGreaterThan(0.8);
    expect(ours / judged).toBeLessThan(1.5);
  });
});
