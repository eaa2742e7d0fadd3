// A sweep that cannot store its measurements never reports success (issue 16 #1).
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';
import { Store, StoreWriteError, runStatusFor } from '../../src/store/store.js';
import { fakeMeasurement } from '../helpers/measurements.js';

const run = (id: string) => ({ run_id: id, started_at: '2026-11-01T10:00:00.000Z', probes: ['dns'], inputs_total: 3 });

describe('runStatusFor', () => {
  it('never calls a run that lost measurements complete', () => {
    expect(runStatusFor({ interrupted: false, measured: 3, stored: 3 })).toBe('complete');
    expect(runStatusFor({ interrupted: false, measured: 0, stored: 0 })).toBe('complete');
    expect(runStatusFor({ interrupted: true, measured: 3, stored: 3 })).toBe('interrupted');
    expect(runStatusFor({ interrupted: false, measured: 3, stored: 2 })).toBe('partial');
    expect(runStatusFor({ interrupted: true, measured: 3, stored: 2 })).toBe('partial');
    expect(runStatusFor({ interrupted: false, measured: 3, stored: 0 })).toBe('failed');
  });
});

describe('settleRun', () => {
  it('counts what was stored, stores the counts, and marks the run partial', () => {
    const store = Store.open(':memory:');
    store.beginRun(run('r'));
    store.insertMeasurements([fakeMeasurement({ run_id: 'r' }), fakeMeasurement({ run_id: 'r' })]);
    const settled = store.settleRun('r', { interrupted: false, measured: 3, summary: { duration_s: 1, dropped: 1 } });
    expect(settled).toEqual({ status: 'partial', measured: 3, stored: 2, recorded: true });
    expect(store.getRun('r')).toMatchObject({ status: 'partial', summary: { duration_s: 1, dropped: 1, measurements_measured: 3, measurements_stored: 2 } });
    store.beginRun(run('f'));
    expect(store.settleRun('f', { interrupted: false, measured: 4, summary: {} }).status).toBe('failed');
    expect(store.getRun('f')?.status).toBe('failed');
    store.close();
  });

  it('tells the caller when the run row itself cannot be written, and finishRun throws a coded error', () => {
    const store = Store.open(':memory:');
    store.beginRun(run('r'));
    store.insertMeasurements([fakeMeasurement({ run_id: 'r' })]);
    // Every write refused, as on a full disk.
    store.db.pragma('query_only = ON');
    const settled = store.settleRun('r', { interrupted: false, measured: 1, summary: {} });
    expect(settled).toMatchObject({ status: 'complete', stored: 1, recorded: false });
    expect(settled.error).toBeInstanceOf(StoreWriteError);
    expect(settled.error?.code).toBe('RASAD_DB_WRITE_FAILED');
    expect(settled.error?.message).toMatch(/could not mark run r complete: .*interrupted after the next start/);
    expect(() => store.finishRun('r', 'complete', {})).toThrow(StoreWriteError);
    store.db.pragma('query_only = OFF');
    expect(store.getRun('r')?.status).toBe('running');
    expect(store.markInterruptedRuns()).toBe(1);
    store.close();
  });
});

describe('migration 4', () => {
  it('keeps the runs and measurements of an older database and accepts the new statuses', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rasad-m4-')), 'v3.db');
    const old = new BetterSqlite3(file);
    migrate(old, MIGRATIONS.filter((m) => m.version <= 3));
    expect(() => old.prepare(`INSERT INTO runs (run_id, started_at, status, probes) VALUES ('x', 't', 'partial', '[]')`).run()).toThrow(/CHECK/);
    old.prepare(`INSERT INTO runs (run_id, started_at, status, probes, summary) VALUES ('r1', '2026-01-01T00:00:00Z', 'complete', '["dns"]', '{"a":1}')`).run();
    old.close();
    const store = Store.open(file);
    store.insertMeasurements([fakeMeasurement({ run_id: 'r1' })]);
    expect(store.getRun('r1')).toMatchObject({ status: 'complete', summary: { a: 1 } });
    store.finishRun('r1', 'partial', {});
    expect(store.getRun('r1')?.status).toBe('partial');
    // The measurements' foreign key points at the rebuilt table.
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
    expect(() => store.insertMeasurements([fakeMeasurement({ run_id: 'no-such-run' })])).toThrow(/FOREIGN KEY/);
    store.close();
  });
});
