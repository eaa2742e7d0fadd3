// The sweep's batch writer on a real store: finished units' rows wait for the
// window or a full batch, then go in one transaction; a row the database
// refuses loses only itself.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Store } from '../../src/store/store.js';
import { BatchWriter } from '../../src/sweep/batch-writer.js';
import { fakeMeasurement } from '../helpers/measurements.js';

let store: Store;
beforeEach(() => {
  store = Store.open(join(mkdtempSync(join(tmpdir(), 'rasad-batch-')), 'db.sqlite'));
  store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00.000Z', probes: ['dns'], inputs_total: 1 });
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  store.close();
});

const rows = (n: number) => Array.from({ length: n }, () => fakeMeasurement());

describe('BatchWriter', () => {
  it('holds rows for its window (2 s), then stores them in one go', () => {
    const writer = new BatchWriter(store, pino({ level: 'silent' }));
    writer.add(rows(4));
    vi.advanceTimersByTime(1000);
    writer.add(rows(4));
    expect(store.countMeasurements()).toBe(0);
    // The window runs from the first row that waits, not the last.
    vi.advanceTimersByTime(BatchWriter.BATCH_MS - 1001);
    expect(store.countMeasurements()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(store.countMeasurements()).toBe(8);
    expect(BatchWriter.BATCH_MS).toBe(2000);
  });

  it('stores a full batch at once, and flush stores what waits', () => {
    const writer = new BatchWriter(store, pino({ level: 'silent' }));
    writer.add(rows(BatchWriter.BATCH_ROWS - 1));
    expect(store.countMeasurements()).toBe(0);
    writer.add(rows(1));
    expect(store.countMeasurements()).toBe(BatchWriter.BATCH_ROWS);
    writer.add(rows(3));
    writer.flush();
    expect(store.countMeasurements()).toBe(BatchWriter.BATCH_ROWS + 3);
    // Nothing is left to store twice when the timer would have fired.
    vi.advanceTimersByTime(BatchWriter.BATCH_MS);
    expect(store.countMeasurements()).toBe(BatchWriter.BATCH_ROWS + 3);
  });

  it('drops only the row the database refuses, and says so', () => {
    const lines: { level: number; msg: string; count?: number }[] = [];
    const writer = new BatchWriter(store, pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }));
    const stored = fakeMeasurement();
    store.insertMeasurements([stored]);
    // The same measurement id again: the unique index refuses it, and with it the batch's transaction.
    writer.add([fakeMeasurement(), fakeMeasurement({ measurement_id: stored.measurement_id }), fakeMeasurement()]);
    writer.flush();
    expect(store.countMeasurements()).toBe(3);
    expect(writer.dropped).toBe(1);
    expect(lines).toEqual([expect.objectContaining({ level: 50, count: 1, msg: expect.stringMatching(/^measurements dropped/) })]);
  });
});
