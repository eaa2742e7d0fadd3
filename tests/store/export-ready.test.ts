// Migration 3 and the store's write path (issues 8 and 9): every measurement
// is stored scrubbed, its columns included, with its keys in the export's
// order and export_ready 1 when its text is its JSONL line; rows stored
// before keep their text and 0; the objects given are never modified.
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEASUREMENT_FIELDS, measurementRecord } from '../../src/export/records.js';
import type { Measurement } from '../../src/model.js';
import { MIGRATIONS, migrate, schemaVersion } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { fakeMeasurement } from '../helpers/measurements.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rasad-store-ready-'));
const PROBE_IP = '192.168.1.23';
const PROBE_IP6 = '2001:db8:85a3::8a2e:370:7334';

/** A measurement with the probe's own addresses in its error strings and a local_address, keys in the sweep's order. */
function leakyMeasurement(overrides: Partial<Measurement> = {}): Measurement {
  return fakeMeasurement({
    probe: 'tcp',
    failure: `unknown_failure: connect EHOSTUNREACH 10.10.34.34:443 - Local (${PROBE_IP}:51234)`,
    failed_operation: 'connect',
    details: { connects: [{ ip: '10.10.34.34', port: 443, failure: `unknown_failure: from [${PROBE_IP6}]:51234`, local_address: PROBE_IP }] },
    verdict: 'tcp.blocked',
    verdict_reason: `the probe (${PROBE_IP}) could not connect`,
    evidence: { errors: [`reset by ${PROBE_IP6}`], probe_ip: PROBE_IP },
    ...overrides,
  });
}

function rowOf(store: Store, id: string): Record<string, unknown> {
  return store.db.prepare(`SELECT * FROM measurements WHERE measurement_id = ?`).get(id) as Record<string, unknown>;
}

/** The full export path's line for a stored text. */
const fullLine = (text: string) => JSON.stringify(measurementRecord(JSON.parse(text) as Measurement, { includeIp: false }));

function openWithRun(file = ':memory:'): Store {
  const store = Store.open(file);
  store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00.000Z', probes: ['tcp'], inputs_total: 1 });
  return store;
}

describe('migration 3', () => {
  it('adds export_ready, 0 for the rows already stored, whose text stays byte for byte', () => {
    const file = join(tmp(), 'v2.db');
    const old = new BetterSqlite3(file);
    migrate(old, MIGRATIONS.filter((m) => m.version <= 2));
    old.prepare(`INSERT INTO runs (run_id, started_at, status, probes) VALUES ('run-1', '2026-11-01T10:00:00Z', 'complete', '["tcp"]')`).run();
    const m = leakyMeasurement();
    const text = JSON.stringify(m);
    old.prepare(`INSERT INTO measurements (measurement_id, run_id, target, url, probe, category, started_at, runtime_ms, failure, verdict, verdict_reason, record)
                 VALUES (?, 'run-1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(m.measurement_id, m.target, m.url, m.probe, m.category, m.started_at, m.runtime_ms, m.failure, m.verdict, m.verdict_reason, text);
    old.close();

    // Read-only, as `rasad export` opens it: not migrated, and every row reads as not ready.
    const reader = Store.open(file, { readonly: true });
    expect(schemaVersion(reader.db)).toBe(2);
    expect([...reader.iterateExportTexts()]).toEqual([[text, 0]]);
    reader.close();

    const store = Store.open(file);
    expect(schemaVersion(store.db)).toBe(Math.max(...MIGRATIONS.map((x) => x.version)));
    expect(rowOf(store, m.measurement_id)).toMatchObject({ record: text, export_ready: 0, failure: m.failure });
    expect([...store.iterateExportTexts()]).toEqual([[text, 0]]);
    store.close();
  });
});

describe('the write path', () => {
  it('stores no probe address anywhere, in the record or the columns, and leaves the measurement given alone', () => {
    const store = openWithRun();
    const m = leakyMeasurement();
    const given = structuredClone(m);
    store.insertMeasurements([m]);
    expect(m).toEqual(given);

    const row = rowOf(store, m.measurement_id);
    const everything = JSON.stringify(store.db.prepare(`SELECT * FROM measurements`).all());
    for (const ip of [PROBE_IP, PROBE_IP6]) expect(everything).not.toContain(ip);
    expect(everything).not.toContain('local_address');
    expect(everything).not.toContain('probe_ip');
    expect(row.failure).toBe('unknown_failure: connect EHOSTUNREACH [scrubbed]:443 - Local ([scrubbed]:51234)');
    expect(row.verdict_reason).toBe('the probe ([scrubbed]) could not connect');
    // Structured target addresses are the measurement and stay.
    expect(JSON.parse(row.record as string).details.connects[0]).toEqual({ ip: '10.10.34.34', port: 443, failure: 'unknown_failure: from [[scrubbed]]:51234' });
    expect(JSON.parse(row.record as string).evidence).toEqual({ errors: ['reset by [scrubbed]'] });
    store.close();
  });

  it('stores the record with the export\'s key order and marks it ready: its text is its export line', () => {
    const store = openWithRun();
    const m = { extra_note: 'a newer probe\'s field', ...leakyMeasurement() } as Measurement;
    store.insertMeasurements([m]);
    const row = rowOf(store, m.measurement_id);
    expect(row.export_ready).toBe(1);
    expect(Object.keys(JSON.parse(row.record as string))).toEqual([...MEASUREMENT_FIELDS, 'extra_note']);
    expect(row.record).toBe(fullLine(row.record as string));
    expect(row.record).toBe(fullLine(JSON.stringify(m)));
    expect([...store.iterateExportTexts()]).toEqual([[row.record, 1]]);
    store.close();
  });

  it('stores a time the export would rewrite as it was given, and leaves the row to the full path', () => {
    const store = openWithRun();
    const m = leakyMeasurement({ started_at: '2026-11-01T10:00:00Z' });
    store.insertMeasurements([m]);
    const row = rowOf(store, m.measurement_id);
    expect(row.export_ready).toBe(0);
    expect(row.started_at).toBe('2026-11-01T10:00:00Z');
    expect(JSON.parse(row.record as string).started_at).toBe('2026-11-01T10:00:00Z');
    expect(row.record).not.toContain(PROBE_IP);
    store.close();
  });

  it('stores a measurement without a failure field with no failure', () => {
    const store = openWithRun();
    const m = fakeMeasurement();
    delete (m as Partial<Measurement>).failure;
    store.insertMeasurements([m]);
    expect(rowOf(store, m.measurement_id)).toMatchObject({ failure: null, export_ready: 0 });
    store.close();
  });

  it('rewrites verdicts scrubbed and ready too', () => {
    const store = openWithRun();
    const m = fakeMeasurement({ started_at: '2026-11-01T10:00:00Z', verdict: 'inconclusive', verdict_reason: 'pending' });
    store.insertMeasurements([m]);
    expect(rowOf(store, m.measurement_id).export_ready).toBe(0);
    const judged = { ...m, started_at: '2026-11-01T10:00:00.000Z', verdict: 'tcp.blocked', verdict_reason: `timeout from ${PROBE_IP}` } as Measurement;
    store.updateVerdicts([judged]);
    const row = rowOf(store, m.measurement_id);
    expect(row).toMatchObject({ verdict: 'tcp.blocked', verdict_reason: 'timeout from [scrubbed]', export_ready: 1 });
    expect(row.record).toBe(fullLine(JSON.stringify(judged)));
    expect(judged.verdict_reason).toContain(PROBE_IP);
    store.close();
  });

  it('keeps a ready row\'s text its export line through retention\'s compaction', () => {
    const store = openWithRun();
    const m = leakyMeasurement({ started_at: '2026-01-01T00:00:00.000Z' });
    store.insertMeasurements([m]);
    expect(store.compactOlderThan('2026-06-01T00:00:00Z')).toBe(1);
    const row = rowOf(store, m.measurement_id);
    expect(JSON.parse(row.record as string).details).toEqual({ compacted: true });
    expect(row.export_ready).toBe(1);
    expect(row.record).toBe(fullLine(row.record as string));
    store.close();
  });

  it('survives a restart: a file database keeps the flag and the scrubbed text', () => {
    const file = join(tmp(), 'r.db');
    const first = openWithRun(file);
    first.insertMeasurements([leakyMeasurement()]);
    first.close();
    const reader = Store.open(file, { readonly: true });
    const rows = [...reader.iterateExportTexts()];
    reader.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]![1]).toBe(1);
    expect(rows[0]![0]).not.toContain(PROBE_IP);
    expect(readFileSync(file).includes(PROBE_IP)).toBe(false);
  });
});
