import BetterSqlite3 from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, schemaVersion, type Migration } from '../../src/store/migrations.js';
import { retentionCutoff, Store, StoreOpenError } from '../../src/store/store.js';
import { fakeMeasurement } from '../helpers/measurements.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rasad-store-'));
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('migrations', () => {
  it('bring an old schema up to date and keep its rows', () => {
    const file = join(tmp(), 'old.db');
    // A database written by the first release: schema version 1 only, with a run and a measurement.
    const old = new BetterSqlite3(file);
    migrate(old, MIGRATIONS.filter((m) => m.version === 1));
    expect(schemaVersion(old)).toBe(1);
    old.prepare(`INSERT INTO runs (run_id, started_at, status, probes) VALUES ('r1', '2026-01-01T00:00:00Z', 'complete', '["dns"]')`).run();
    const m = fakeMeasurement({ run_id: 'r1' });
    old.prepare(`INSERT INTO measurements (measurement_id, run_id, target, url, probe, category, started_at, runtime_ms, failure, verdict, verdict_reason, record)
                 VALUES (?, 'r1', ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`).run(m.measurement_id, m.target, m.url, m.probe, m.category, m.started_at, m.runtime_ms, m.verdict, m.verdict_reason, JSON.stringify(m));
    old.close();

    const store = Store.open(file);
    const newest = Math.max(...MIGRATIONS.map((x) => x.version));
    expect(schemaVersion(store.db)).toBe(newest);
    expect([...store.iterateMeasurements()]).toEqual([m]);
    expect(store.getRun('r1')?.status).toBe('complete');
    store.close();
  });

  it('apply a new migration once, in a transaction with the version bump', () => {
    const db = new BetterSqlite3(':memory:');
    migrate(db);
    const extra: Migration = { version: 999, name: 'add a column', up: (d) => d.exec('ALTER TABLE runs ADD COLUMN note TEXT') };
    expect(migrate(db, [...MIGRATIONS, extra])).toEqual([999]);
    expect(migrate(db, [...MIGRATIONS, extra])).toEqual([]);
    const failing: Migration = { version: 1000, name: 'breaks halfway', up: (d) => { d.exec('CREATE TABLE half (x)'); throw new Error('boom'); } };
    expect(() => migrate(db, [...MIGRATIONS, extra, failing])).toThrow('boom');
    expect(schemaVersion(db)).toBe(999);
    expect(db.prepare(`SELECT count(*) n FROM sqlite_master WHERE name = 'half'`).get()).toEqual({ n: 0 });
  });

  it('refuse a database from a newer rasad', () => {
    const file = join(tmp(), 'future.db');
    const db = new BetterSqlite3(file);
    db.pragma('user_version = 9999');
    db.close();
    expect(() => Store.open(file)).toThrow(/newer than this rasad knows/);
  });
});

describe('Store', () => {
  it('opens in WAL mode and stores a batch atomically', () => {
    const store = Store.open(join(tmp(), 'a.db'));
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00Z', probes: ['dns'], inputs_total: 2 });
    const a = fakeMeasurement();
    store.insertMeasurements([a]);
    // The second batch repeats a's id: the whole batch must be refused, b included.
    const b = fakeMeasurement({ url: 'http://b.test/' });
    expect(() => store.insertMeasurements([b, { ...a }])).toThrow();
    expect(store.countMeasurements()).toBe(1);
    store.close();
  });

  it('filters and streams measurements oldest first', () => {
    const store = Store.open(join(tmp(), 'f.db'));
    store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00Z', probes: ['dns', 'http'], inputs_total: 3 });
    const rows = [
      fakeMeasurement({ started_at: '2026-11-01T10:00:03Z', probe: 'http', verdict: 'http.blockpage', target: 'x.test', url: 'http://x.test/' }),
      fakeMeasurement({ started_at: '2026-11-01T10:00:01Z', probe: 'dns' }),
      fakeMeasurement({ started_at: '2026-11-01T10:00:02Z', probe: 'dns', verdict: 'dns.injected' }),
    ];
    store.insertMeasurements(rows);
    expect([...store.iterateMeasurements()].map((m) => m.started_at)).toEqual(['2026-11-01T10:00:01Z', '2026-11-01T10:00:02Z', '2026-11-01T10:00:03Z']);
    expect(store.countMeasurements({ anomaliesOnly: true })).toBe(2);
    expect(store.countMeasurements({ probe: ['http'] })).toBe(1);
    expect(store.countMeasurements({ verdict: ['dns.injected', 'ok'] })).toBe(2);
    expect(store.countMeasurements({ since: '2026-11-01T10:00:02Z' })).toBe(2);
    expect(store.countMeasurements({ until: '2026-11-01T10:00:02Z' })).toBe(1);
    expect(store.countMeasurements({ target: 'http://x.test/' })).toBe(1);
    expect(store.countMeasurements({ target: 'x.test' })).toBe(1);
    store.close();
  });

  it('marks runs left running by a dead process as interrupted', () => {
    const file = join(tmp(), 'i.db');
    const first = Store.open(file);
    first.beginRun({ run_id: 'dead', started_at: '2026-11-01T10:00:00Z', probes: ['dns'], inputs_total: 1 });
    first.close();
    const second = Store.open(file);
    expect(second.markInterruptedRuns()).toBe(1);
    expect(second.getRun('dead')?.status).toBe('interrupted');
    expect(second.lastRunStart(['dns'])).toBe('2026-11-01T10:00:00Z');
    expect(second.lastRunStart(['throughput'])).toBeNull();
    second.close();
  });

  it('rewrites verdicts of stored measurements', () => {
    const store = Store.open(join(tmp(), 'v.db'));
    store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00Z', probes: ['dns'], inputs_total: 1 });
    const m = fakeMeasurement({ verdict: 'inconclusive', verdict_reason: 'pending' });
    store.insertMeasurements([m]);
    store.updateVerdicts([{ ...m, verdict: 'dns.injected', verdict_reason: 'bogon answer' }]);
    const [back] = [...store.iterateMeasurements({ verdict: ['dns.injected'] })];
    expect(back?.verdict_reason).toBe('bogon answer');
    store.close();
  });

  it('refuses a corrupt file with a clear error and leaves it untouched', () => {
    const file = join(tmp(), 'corrupt.db');
    writeFileSync(file, Buffer.concat([Buffer.from('this is not sqlite\n'), Buffer.alloc(8192, 7)]));
    const before = sha(file);
    expect(() => Store.open(file)).toThrow(StoreOpenError);
    expect(() => Store.open(file)).toThrow(/corrupt\.db: not a rasad database, or corrupt/);
    expect(sha(file)).toBe(before);
  });

  it('refuses a read-only database file with a clear error and leaves it untouched', () => {
    const dir = tmp();
    const file = join(dir, 'ro.db');
    Store.open(file).close();
    const before = sha(file);
    chmodSync(file, 0o444);
    // Root ignores file modes, so the check is rasad's own, not the kernel's.
    expect(() => Store.open(file)).toThrow(/ro\.db: the database file is not writable/);
    expect(sha(file)).toBe(before);
  });

  it('opens read-only for readers and says when the file is missing', () => {
    expect(() => Store.open(join(tmp(), 'missing.db'), { readonly: true })).toThrow(/missing\.db: no such database file/);
  });
});

describe('retention', () => {
  it('measures the cutoff from the newest stored measurement when the clock runs ahead of it: a wrong clock compacts nothing recent', () => {
    const store = Store.open(join(tmp(), 'clock.db'));
    store.beginRun({ run_id: 'run-1', started_at: '2026-01-01T00:00:00Z', probes: ['http'], inputs_total: 2 });
    const old = fakeMeasurement({ started_at: '2026-07-01T00:00:00.000Z' });
    const recent = fakeMeasurement({ started_at: '2026-11-01T00:00:00.000Z' });
    store.insertMeasurements([old, recent]);
    expect(store.newestMeasurementStart()).toBe('2026-11-01T00:00:00.000Z');
    // The clock says 2036: from it, 90 days back would compact both rows for good.
    const clockAhead = Date.parse('2036-11-01T00:00:00Z');
    const cutoff = retentionCutoff(clockAhead, store.newestMeasurementStart(), 90);
    expect(cutoff).toBe('2026-08-03T00:00:00.000Z');
    expect(store.compactOlderThan(cutoff)).toBe(1);
    const [a, b] = [...store.iterateMeasurements()];
    expect(a!.details).toEqual({ compacted: true });
    expect(b).toEqual(recent);
    // A clock behind the newest row, or an empty store, counts from the clock.
    expect(retentionCutoff(Date.parse('2026-10-01T00:00:00Z'), '2026-11-01T00:00:00.000Z', 1)).toBe('2026-09-30T00:00:00.000Z');
    expect(retentionCutoff(Date.parse('2026-10-01T00:00:00Z'), null, 1)).toBe('2026-09-30T00:00:00.000Z');
    store.close();
  });

  it('compacts old raw records and keeps verdicts, evidence and events', () => {
    const store = Store.open(join(tmp(), 'r.db'));
    store.beginRun({ run_id: 'run-1', started_at: '2026-01-01T00:00:00Z', probes: ['http'], inputs_total: 2 });
    const old = fakeMeasurement({ started_at: '2026-01-01T00:00:00Z', probe: 'http', verdict: 'http.blockpage', verdict_reason: 'Iranian blockpage', evidence: { fingerprint: 'ir.http.iframe' }, details: { hops: [{ body_sample: 'x'.repeat(5000) }] } });
    const recent = fakeMeasurement({ started_at: '2026-11-01T00:00:00Z' });
    store.insertMeasurements([old, recent]);
    store.insertEvents([{ event_id: 'e1', kind: 'blocked', target: old.target, url: old.url, verdict: 'http.blockpage', at: old.started_at, measurement_ids: [old.measurement_id], details: {} }]);
    expect(store.compactOlderThan('2026-06-01T00:00:00Z', 1)).toBe(1);
    expect(store.compactOlderThan('2026-06-01T00:00:00Z')).toBe(0);
    const [a, b] = [...store.iterateMeasurements()];
    expect(a).toMatchObject({ measurement_id: old.measurement_id, verdict: 'http.blockpage', verdict_reason: 'Iranian blockpage', evidence: { fingerprint: 'ir.http.iframe' }, details: { compacted: true } });
    expect(JSON.stringify(a).length).toBeLessThan(1000);
    expect(b).toEqual(recent);
    expect([...store.iterateEvents()]).toHaveLength(1);
    store.close();
  });
});
