// What the store writes (stored-record.ts): a record marked export-ready must
// be, byte for byte, the line the full export path (measurementRecord +
// JSON.stringify) makes of it, and the line the full path made of the same
// measurement stored the old way; a record not marked ready must still export
// to that same line. And the measurement given is never modified.
import fc from 'fast-check';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { storedMeasurement } from '../../src/export/stored-record.js';
import { scrubbedCopy } from '../../src/privacy.js';
import { ECHOED_ADDRESS_SCRUB } from '../../src/privacy/echoed.js';
import { MEASUREMENT_FIELDS, measurementRecord } from '../../src/export/records.js';
import type { Measurement } from '../../src/model.js';
import { generatedMeasurement } from './generated.js';
import { PROBE_OWN_ADDRESSES, fixtureMeasurements } from './helpers.js';

/** The full path's line for a stored text. */
function fullLine(text: string, includeIp = false): string {
  return JSON.stringify(measurementRecord(JSON.parse(text) as Measurement, { includeIp }));
}

describe('storedMeasurement', () => {
  it('stores each fixture as its own export line: scrubbed, contract fields first, and the same bytes the old store gave the export', () => {
    for (const m of fixtureMeasurements()) {
      const before = structuredClone(m);
      const stored = storedMeasurement(m);
      expect(stored.exportReady, m.measurement_id).toBe(true);
      // Legacy: the old store wrote JSON.stringify(m) and the export rearranged and scrubbed it.
      expect(stored.record).toBe(fullLine(JSON.stringify(m)));
      expect(stored.record).toBe(fullLine(stored.record));
      expect(Object.keys(JSON.parse(stored.record))).toEqual([...MEASUREMENT_FIELDS]);
      for (const ip of PROBE_OWN_ADDRESSES) expect(stored.record).not.toContain(ip);
      expect(stored.record).not.toContain('local_address');
      expect(m).toEqual(before);
    }
  });

  it('gives the scrubbed failure and verdict reason for their columns', () => {
    const m = fixtureMeasurements().find((x) => x.probe === 'tls' && x.url === 'https://www.facebook.com/')!;
    const stored = storedMeasurement(m);
    expect(m.failure).toContain('192.168.1.23');
    expect(stored.failure).toBe('unknown_failure: socket hang up after local [scrubbed]:51234 connected to [scrubbed]:443');
    expect(stored.verdictReason).toBe('the local resolver answered [scrubbed] (fingerprint ir_10dot10_ipv4_1) and the control resolved [scrubbed]');
  });

  it.each([
    ['a time with a zone', { started_at: '2025-06-01T13:30:00+03:30' }],
    ['a time without milliseconds', { started_at: '2025-06-01T10:00:00Z' }],
    ['a missing contract field', { control: undefined }],
    ['a key a plain object hides', { constructor: 'x' }],
  ])('leaves a record with %s to the full path, and keeps it whole', (_what, change) => {
    const m = { ...fixtureMeasurements()[0]!, ...change } as Measurement;
    const stored = storedMeasurement(m);
    expect(stored.exportReady).toBe(false);
    const back = JSON.parse(stored.record) as Record<string, unknown>;
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) expect(Object.hasOwn(back, k)).toBe(false);
      else expect(back[k]).toBe(v);
    }
    // Exported, it is still what the old store's text gave.
    expect(fullLine(stored.record)).toBe(fullLine(JSON.stringify(m)));
  });

  it('writes a Date or a toJSON value as JSON does, scrubbed after that', () => {
    const m = { ...fixtureMeasurements()[0]!, evidence: { when: new Date(0), message: { toJSON: () => 'from 192.0.2.77' } } } as unknown as Measurement;
    const stored = storedMeasurement(m);
    expect(JSON.parse(stored.record).evidence).toEqual({ when: '1970-01-01T00:00:00.000Z', message: 'from [scrubbed]' });
    expect(stored.exportReady).toBe(true);
    expect(stored.record).toBe(fullLine(JSON.stringify(m)));
  });

  it('agrees with the full path on generated measurements, ready or not, and modifies none', () => {
    let ready = 0;
    let runs = 0;
    fc.assert(
      fc.property(generatedMeasurement, (m) => {
        runs++;
        const legacyText = JSON.stringify(m);
        // inspect shows what structuredClone would lose (an own "__proto__" key, -0).
        const before = inspect(m, { depth: Infinity });
        const stored = storedMeasurement(m);
        // The measurement given is left as it was (a sweep goes on using it).
        expect(inspect(m, { depth: Infinity })).toBe(before);
        // Whatever the flag, the export of the new row is the export of the old row, less the addresses a
        // server echoed in headers, titles and bodies (scrubbed at storage since issue 16).
        expect(fullLine(stored.record)).toBe(fullLine(JSON.stringify(scrubbedCopy(JSON.parse(legacyText), undefined, ECHOED_ADDRESS_SCRUB))));
        if (stored.exportReady) {
          ready++;
          expect(stored.record).toBe(fullLine(stored.record));
        }
      }),
      { numRuns: 600 },
    );
    // The property would say little if nothing were ever ready.
    expect(ready).toBeGreaterThan(runs / 3);
  });
});
