// The export's fast paths (CSV bytes, OONI lines without a second scrub of
// export-ready rows, the JSONL stored text) against the slow path each one
// replaces: parse every stored record, build the export record or OONI
// measurement as objects, scrub, JSON.stringify / csvRecord. Same bytes, on
// the synthetic bench fixtures and the test fixtures, with rows stored
// export-ready and rows stored before migration 3 (export_ready 0, not
// scrubbed at storage: the export must still scrub them).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { syntheticBatches } from '../../bench/fixtures.js';
import { csvRecord, csvRow } from '../../src/export/csv.js';
import { CsvByteEncoder } from '../../src/export/csv-bytes.js';
import { ooniMeasurements, type OoniStats } from '../../src/export/ooni/measurements.js';
import { csvFromReadyText } from '../../src/export/raw-record.js';
import { MEASUREMENT_FIELDS, measurementRecord } from '../../src/export/records.js';
import { writeExport, type ExportFormat } from '../../src/export/run-export.js';
import type { ExportSink } from '../../src/export/sink.js';
import { parseStoredTime } from '../../src/export/time.js';
import type { Measurement } from '../../src/model.js';
import { Store } from '../../src/store/store.js';
import { GENERATED_RUN, generatedMeasurement } from './generated.js';
import { fixtureMeasurements, fixtureRuns, insertAsBeforeMigration3, PROBE_OWN_ADDRESSES } from './helpers.js';

// Bytes, as a file or stdout gets them: a lone surrogate in a string is U+FFFD's bytes on both paths.
class CollectSink implements ExportSink {
  chunks: Buffer[] = [];
  write(text: string): undefined {
    this.chunks.push(Buffer.from(text, 'utf8'));
    return undefined;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

/** A sink that takes byte chunks too, as the CLI's do. */
class ByteSink extends CollectSink {
  async writeBytes(chunk: Uint8Array): Promise<void> {
    this.chunks.push(Buffer.from(chunk));
  }
}

async function fastExport(store: Store, format: ExportFormat, includeIp: boolean, sink: CollectSink = new ByteSink()): Promise<Buffer> {
  await writeExport(store, { format, events: false, filter: {}, includeIp, probeAsn: 'AS64500', probeCc: 'IR' }, sink);
  return Buffer.concat(sink.chunks);
}

/** The same bytes (the text diff shown when not). */
function expectSameBytes(fast: Buffer, slow: string): void {
  const expected = Buffer.from(slow, 'utf8');
  if (!fast.equals(expected)) expect(fast.toString('utf8')).toBe(expected.toString('utf8'));
  expect(fast.equals(expected)).toBe(true);
}

function slowExport(store: Store, format: ExportFormat, includeIp: boolean): string {
  const options = { includeIp };
  if (format === 'jsonl') return [...store.iterateMeasurements()].map((m) => JSON.stringify(measurementRecord(m, options)) + '\n').join('');
  if (format === 'csv') return csvRow(MEASUREMENT_FIELDS) + [...store.iterateMeasurements()].map((m) => csvRecord(MEASUREMENT_FIELDS, measurementRecord(m, options))).join('');
  const runStarts = store.runStartTimes();
  const stats: OoniStats = { read: 0, written: 0, skipped: 0 };
  const ooniOptions = { includeIp, probeAsn: 'AS64500', probeCc: 'IR', runStart: (runId: string) => parseStoredTime(runStarts.get(runId)) };
  return [...ooniMeasurements(store.iterateMeasurementsByUnit(), ooniOptions, stats)].map((m) => JSON.stringify(m) + '\n').join('');
}

/** The bench's synthetic units and long-lived probes, plus the test fixtures; every third web row of the fixtures stored before migration 3. */
function mixedStore(): Store {
  const store = Store.open(':memory:');
  for (const batch of syntheticBatches(600, 200, { longProbes: true, seed: 7 })) {
    for (const run of batch.runs) store.beginRun(run);
    store.insertMeasurements(batch.measurements);
  }
  for (const run of fixtureRuns()) store.beginRun(run);
  const fixtures = fixtureMeasurements();
  store.insertMeasurements(fixtures.filter((_, i) => i % 3 !== 0));
  insertAsBeforeMigration3(store.db, fixtures.filter((_, i) => i % 3 === 0));
  // And synthetic rows marked as stored before migration 3: the export rearranges and scrubs them.
  store.db.prepare(`UPDATE measurements SET export_ready = 0 WHERE id % 5 = 0`).run();
  return store;
}

function readyCounts(store: Store): { ready: number; legacy: number } {
  const count = (flag: number) => store.db.prepare(`SELECT count(*) FROM measurements WHERE export_ready = ?`).pluck().get(flag) as number;
  return { ready: count(1), legacy: count(0) };
}

describe('the export fast paths against the slow path', () => {
  const store = mixedStore();

  it('hold both kinds of row, and addresses only the rows stored before migration 3 still carry', () => {
    const { ready, legacy } = readyCounts(store);
    expect(ready).toBeGreaterThan(400);
    expect(legacy).toBeGreaterThan(100);
    const legacyTexts = store.db.prepare(`SELECT record FROM measurements WHERE export_ready = 0`).pluck().all() as string[];
    expect(legacyTexts.some((t) => PROBE_OWN_ADDRESSES.some((a) => t.includes(a)))).toBe(true);
  });

  for (const format of ['csv', 'ooni', 'jsonl'] as const) {
    for (const includeIp of [false, true]) {
      it(`${format}${includeIp ? ' --include-ip' : ''}: the same bytes`, async () => {
        const fast = await fastExport(store, format, includeIp);
        expect(fast.length).toBeGreaterThan(10_000);
        expectSameBytes(fast, slowExport(store, format, includeIp));
        // The scrub of rows stored before migration 3 still happens (and --include-ip still keeps them).
        const text = fast.toString('utf8');
        const leaked = PROBE_OWN_ADDRESSES.some((a) => text.includes(a));
        expect(leaked).toBe(includeIp);
      });
    }
  }

  it('csv: the same bytes through a sink that takes only text', async () => {
    expectSameBytes(await fastExport(store, 'csv', false, new CollectSink()), slowExport(store, 'csv', false));
  });
});

describe('the CSV byte encoder', () => {
  const encode = (text: string): string | null => {
    const encoder = new CsvByteEncoder(MEASUREMENT_FIELDS, 'started_at');
    return encoder.appendReady(text) ? encoder.take().toString('utf8') : null;
  };
  const ready = (fields: Record<string, unknown>): string => {
    const record: Record<string, unknown> = {};
    for (const f of MEASUREMENT_FIELDS) record[f] = null;
    record.started_at = '2024-02-29T23:59:59.999Z';
    return JSON.stringify(Object.assign(record, fields));
  };

  it('writes what the string path writes, or hands the row back', () => {
    const cases = [
      ready({ verdict_reason: 'reachable, and consistent', target: 'plain' }),
      ready({ details: {}, tags: [], control: [1, 2], evidence: { a: 'x,y', b: 'say "hi"', c: '\\' } }),
      ready({ details: { nested: [{ q: '"', r: '}]{[' }] }, url: 'https://例え.テスト/パス' }),
      ready({ runtime_ms: -1.5e-7, failure: null, category: true }),
      ready({ extra: 'after the columns' }) + '',
    ];
    for (const text of cases) expect(encode(text)).toBe(csvFromReadyText(text, MEASUREMENT_FIELDS));
    // Handed back: an escape in a string column, a time toISOString would not write, a February 30th, columns out of order.
    expect(encode(ready({ failure: 'line\nbreak' }))).toBeNull();
    expect(encode(ready({ started_at: '2025-01-01T00:00:00Z' }))).toBeNull();
    expect(encode(ready({ started_at: '2025-02-30T00:00:00.000Z' }))).toBeNull();
    expect(encode(ready({ started_at: '2025-01-01T24:00:00.000Z' }))).toBeNull();
    expect(encode(JSON.stringify({ run_id: 'r', measurement_id: 'm' }))).toBeNull();
  });

  it('agrees with the string path on generated records', () => {
    fc.assert(
      fc.property(generatedMeasurement, (m) => {
        const record: Record<string, unknown> = {};
        for (const f of MEASUREMENT_FIELDS) record[f] = (m as unknown as Record<string, unknown>)[f] ?? null;
        const text = JSON.stringify({ ...record, ...(m as unknown as Record<string, unknown>) });
        const bytes = encode(text);
        const strings = csvFromReadyText(text, MEASUREMENT_FIELDS);
        // The byte pass may hand back more rows than the string path (escapes), never fewer, and never other bytes.
        if (bytes !== null) expect(bytes).toBe(strings);
        else expect(strings === null || /\\/.test(text) || !/"started_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/.test(text)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the rows of an export as one stream across chunks', () => {
    const encoder = new CsvByteEncoder(MEASUREMENT_FIELDS, 'started_at');
    const text = ready({ details: { body: 'x'.repeat(5000) } });
    const chunks: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      expect(encoder.appendReady(text)).toBe(true);
      const chunk = encoder.fullChunk();
      if (chunk) chunks.push(Buffer.from(chunk));
    }
    chunks.push(encoder.take());
    expect(chunks.length).toBeGreaterThan(2);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(csvFromReadyText(text, MEASUREMENT_FIELDS)!.repeat(40));
  });
});

// generatedMeasurement rows of GENERATED_RUN, stored both ways: every format's fast path against the slow one.
describe('the fast paths on generated rows', () => {
  it('give the slow path bytes in every format', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(generatedMeasurement, fc.boolean()), { minLength: 1, maxLength: 6 }), async (rows) => {
        const store = Store.open(':memory:');
        try {
          store.beginRun({ run_id: GENERATED_RUN, started_at: '2025-01-01T00:00:00.000Z', probes: ['dns'], inputs_total: 1 });
          rows.forEach(([m, before], i) => {
            const row = { ...m, measurement_id: `m-${i}` } as Measurement;
            if (before) insertAsBeforeMigration3(store.db, [row]);
            else store.insertMeasurements([row]);
          });
          for (const format of ['csv', 'ooni'] as const) {
            for (const includeIp of [false, true]) expectSameBytes(await fastExport(store, format, includeIp), slowExport(store, format, includeIp));
          }
        } finally {
          store.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
