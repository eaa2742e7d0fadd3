// The JSONL export of export-ready rows (stored since migration 3) writes the
// stored text as it is. Its output must be byte for byte what the full path
// (measurementRecord + JSON.stringify) gives for every row, in databases
// holding rows stored both ways, and what the old store and export gave for
// the same measurements.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { measurementRecord } from '../../src/export/records.js';
import { scrubbedCopy } from '../../src/privacy.js';
import { ECHOED_ADDRESS_SCRUB } from '../../src/privacy/echoed.js';
import { writeExport, type ExportFormat, type ExportRequest } from '../../src/export/run-export.js';
import type { ExportSink } from '../../src/export/sink.js';
import type { Measurement } from '../../src/model.js';
import { Store } from '../../src/store/store.js';
import { GENERATED_RUN, generatedMeasurement } from './generated.js';
import { fixtureMeasurements, fixtureRuns, insertAsBeforeMigration3 } from './helpers.js';

/** The full path's JSONL line for a stored text. */
function fullLine(text: string, includeIp: boolean): string {
  return JSON.stringify(measurementRecord(JSON.parse(text) as Measurement, { includeIp })) + '\n';
}

class CollectSink implements ExportSink {
  text = '';
  write(text: string): undefined {
    this.text += text;
    return undefined;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

async function exportText(store: Store, format: ExportFormat, includeIp: boolean): Promise<string> {
  const sink = new CollectSink();
  const request: ExportRequest = { format, events: false, filter: {}, includeIp, probeAsn: 'AS0', probeCc: 'ZZ' };
  await writeExport(store, request, sink);
  return sink.text;
}

/** Every stored row's full-path line, in the export's order. */
function fullPathOf(store: Store, includeIp: boolean): string {
  const texts = store.db.prepare(`SELECT record FROM measurements ORDER BY started_at, id`).pluck().all() as string[];
  return texts.map((t) => fullLine(t, includeIp)).join('');
}

function readyCount(store: Store): number {
  return store.db.prepare(`SELECT count(*) FROM measurements WHERE export_ready = 1`).pluck().get() as number;
}

function storeWithRuns(runs: { run_id: string; started_at: string; probes: string[]; inputs_total: number }[]): Store {
  const store = Store.open(':memory:');
  for (const run of runs) store.beginRun(run);
  return store;
}

describe('the export of export-ready rows', () => {
  it('gives, for the fixtures, the bytes the old store and export gave, in every format', async () => {
    const fresh = storeWithRuns(fixtureRuns());
    const old = storeWithRuns(fixtureRuns());
    try {
      fresh.insertMeasurements(fixtureMeasurements());
      insertAsBeforeMigration3(old.db, fixtureMeasurements());
      expect(readyCount(fresh)).toBe(fixtureMeasurements().length);
      expect(readyCount(old)).toBe(0);
      for (const format of ['jsonl', 'csv', 'ooni'] as const) {
        expect(await exportText(fresh, format, false), format).toBe(await exportText(old, format, false));
      }
      expect(await exportText(fresh, 'jsonl', false)).toBe(fullPathOf(fresh, false));
      expect(await exportText(old, 'jsonl', true)).toBe(fullPathOf(old, true));
    } finally {
      fresh.close();
      old.close();
    }
  });

  it('writes an export-ready row as it is stored, without reading it', async () => {
    const store = storeWithRuns(fixtureRuns());
    try {
      const [m] = fixtureMeasurements();
      store.insertMeasurements([m!]);
      // Planted: a text the full path would rearrange. Only a row not read at all comes out like this.
      store.db.prepare(`UPDATE measurements SET record = '{"z":1,"measurement_id":"planted"}'`).run();
      expect(await exportText(store, 'jsonl', false)).toBe('{"z":1,"measurement_id":"planted"}\n');
      store.db.prepare(`UPDATE measurements SET export_ready = 0`).run();
      expect(JSON.parse(await exportText(store, 'jsonl', false))).toMatchObject({ measurement_id: 'planted', run_id: null, z: 1 });
    } finally {
      store.close();
    }
  });

  it('agrees with the full path on generated rows stored both ways, with and without --include-ip', async () => {
    let ready = 0;
    let legacy = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(generatedMeasurement, fc.boolean()), { minLength: 1, maxLength: 8 }), async (rows) => {
        const store = storeWithRuns([{ run_id: GENERATED_RUN, started_at: '2025-01-01T00:00:00.000Z', probes: ['dns'], inputs_total: 1 }]);
        try {
          const byId = new Map<string, Measurement>();
          const legacyIds = new Set<string>();
          rows.forEach(([m, storedBefore], i) => {
            const row = { ...m, measurement_id: `m-${i}` } as Measurement;
            byId.set(row.measurement_id, row);
            if (storedBefore) legacyIds.add(row.measurement_id);
            if (storedBefore) insertAsBeforeMigration3(store.db, [row]);
            else store.insertMeasurements([row]);
          });
          ready += readyCount(store);
          legacy += rows.length - readyCount(store);
          for (const includeIp of [false, true]) {
            expect(await exportText(store, 'jsonl', includeIp)).toBe(fullPathOf(store, includeIp));
          }
          // And what the old store gave: its rows held the measurements as given, the export scrubbed them.
          const order = store.db.prepare(`SELECT measurement_id FROM measurements ORDER BY started_at, id`).pluck().all() as string[];
          // Rows stored now also lose the addresses a server echoed (issue 16); rows stored before migration 3 keep them.
          const echoScrubbed = (id: string) => (legacyIds.has(id) ? byId.get(id) : scrubbedCopy(byId.get(id), undefined, ECHOED_ADDRESS_SCRUB));
          const before = order.map((id) => fullLine(JSON.stringify(echoScrubbed(id)), false)).join('');
          expect(await exportText(store, 'jsonl', false)).toBe(before);
        } finally {
          store.close();
        }
      }),
      { numRuns: 150 },
    );
    // Both kinds of row were exercised, many times.
    expect(ready).toBeGreaterThan(100);
    expect(legacy).toBeGreaterThan(100);
  });
});
