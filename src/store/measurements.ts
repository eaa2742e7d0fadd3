// Measurements: the batch insert a sweep stores as units finish, the verdict
// patch at the sweep's end, and the streaming reads (oldest first, by web
// unit, as export text). Rows are read through iterators so that an export
// of any size runs in flat memory.
import type { Database, Statement } from 'better-sqlite3';
import type { Measurement } from '../model.js';
import { storedMeasurement, verdictPatch, verdictPatchOf, withVerdict, type VerdictPatch, type VerdictUpdate } from '../records/stored-record.js';
import { hasColumn, measurementWhere } from './sql.js';
import type { MeasurementFilter, UnreadableRows } from './types.js';

export class MeasurementWriter {
  private insertStmt: Statement | null = null;
  private rewriteStmt: Statement | null = null;
  private readonly patchStmts = new Map<number, Statement>();
  private storedTextStmt: Statement | null = null;

  constructor(private readonly db: Database) {}

  /**
   * Stores a batch in one transaction: all of it or none of it. Every
   * measurement is stored scrubbed and with its keys in the export's order
   * (src/records/stored-record.ts); the objects given are not modified.
   */
  insert(measurements: Measurement[]): void {
    // Prepared on first use: a database opened read-only before migration 3 has no export_ready column.
    const stmt = (this.insertStmt ??= this.db.prepare(`
      INSERT INTO measurements (measurement_id, run_id, target, url, probe, category, started_at,
                                runtime_ms, failure, verdict, verdict_reason, record, export_ready)
      VALUES (@measurement_id, @run_id, @target, @url, @probe, @category, @started_at,
              @runtime_ms, @failure, @verdict, @verdict_reason, @record, @export_ready)`));
    this.db.transaction((batch: Measurement[]) => {
      for (const m of batch) stmt.run(measurementRow(m));
    })(measurements);
  }

  /**
   * Sets the final verdict of measurements already stored, in one
   * transaction. An export-ready row is patched in place by SQLite
   * (json_set: verdict, verdict_reason, evidence and the body samples an ok
   * verdict drops; every other byte of the record stays), which gives the
   * same text as storing the measurement again without scrubbing and
   * serialising all of it a second time. Other rows are rewritten whole.
   */
  updateVerdicts(measurements: Measurement[]): void {
    this.db.transaction((batch: Measurement[]) => {
      for (const m of batch) {
        const patch = verdictPatch(m);
        if (patch && this.patch(m.measurement_id, m.verdict, patch)) continue;
        this.rewrite(m);
      }
    })(measurements);
  }

  /**
   * updateVerdicts for a sweep that kept only each measurement's verdict
   * (src/sweep/run.ts): the same patch, and for a row the patch cannot
   * reach, the stored record read back and rewritten whole with the new
   * verdict. A row that is not there (the insert was refused) is skipped.
   */
  applyVerdicts(updates: readonly VerdictUpdate[]): void {
    this.db.transaction((batch: readonly VerdictUpdate[]) => {
      for (const u of batch) {
        const patch = verdictPatchOf(u, u.nulledBodyHops);
        if (patch && this.patch(u.measurement_id, u.verdict, patch)) continue;
        const stmt = (this.storedTextStmt ??= this.db.prepare('SELECT record FROM measurements WHERE measurement_id = ?').pluck());
        const text = stmt.get(u.measurement_id) as string | undefined;
        if (text === undefined) continue;
        const m = withVerdict(text, u);
        // A record that no longer parses (a damaged file) keeps its text; its columns take the verdict.
        if (m) this.rewrite(m);
        else this.db.prepare('UPDATE measurements SET verdict = ?, verdict_reason = ? WHERE measurement_id = ?').run(u.verdict, u.verdict_reason, u.measurement_id);
      }
    })(updates);
  }

  /** false when the row is not export-ready (or absent): the caller rewrites it whole. */
  private patch(measurementId: string, verdict: string, p: VerdictPatch): boolean {
    const paths = p.nulledBodySamples;
    let stmt = this.patchStmts.get(paths.length);
    if (!stmt) {
      const nulls = paths.map(() => `, ?, json('null')`).join('');
      stmt = this.db.prepare(`
        UPDATE measurements SET verdict = ?, verdict_reason = ?,
          record = json_set(record, '$.verdict', json(?), '$.verdict_reason', json(?), '$.evidence', json(?)${nulls})
        WHERE measurement_id = ? AND export_ready = 1`);
      this.patchStmts.set(paths.length, stmt);
    }
    return stmt.run(verdict, p.verdictReasonColumn, p.verdict, p.verdictReason, p.evidence, ...paths, measurementId).changes > 0;
  }

  private rewrite(m: Measurement): void {
    const stmt = (this.rewriteStmt ??= this.db.prepare(
      `UPDATE measurements SET verdict = ?, verdict_reason = ?, record = ?, export_ready = ? WHERE measurement_id = ?`,
    ));
    const stored = storedMeasurement(m);
    stmt.run(m.verdict, stored.verdictReason, stored.record, stored.exportReady ? 1 : 0, m.measurement_id);
  }
}

function measurementRow(m: Measurement): Record<string, unknown> {
  const stored = storedMeasurement(m);
  return {
    measurement_id: m.measurement_id,
    run_id: m.run_id,
    target: m.target,
    url: m.url,
    probe: m.probe,
    category: m.category,
    started_at: m.started_at,
    runtime_ms: m.runtime_ms,
    // A measurement without the field has no failure (the column is nullable).
    failure: stored.failure ?? null,
    verdict: m.verdict,
    verdict_reason: stored.verdictReason,
    record: stored.record,
    export_ready: stored.exportReady ? 1 : 0,
  };
}

/** Options of the streaming reads. */
export interface ReadOptions {
  /**
   * Skip rows whose stored JSON cannot be read (a damaged file) and count
   * them here. Without it such a row throws, as JSON.parse does.
   */
  unreadable?: UnreadableRows;
}

function* parsedRecords(rows: Iterable<string>, options: ReadOptions): IterableIterator<Measurement> {
  const counter = options.unreadable;
  for (const text of rows) {
    if (!counter) {
      yield JSON.parse(text) as Measurement;
      continue;
    }
    let m: Measurement;
    try {
      m = JSON.parse(text) as Measurement;
    } catch {
      counter.count++;
      continue;
    }
    yield m;
  }
}

/** Streams measurements oldest first. */
export function* iterateMeasurements(db: Database, filter: MeasurementFilter = {}, options: ReadOptions = {}): IterableIterator<Measurement> {
  const { where, params } = measurementWhere(filter);
  const rows = db.prepare(`SELECT record FROM measurements ${where} ORDER BY started_at, id`).pluck().iterate(params) as Iterable<string>;
  yield* parsedRecords(rows, options);
}

/**
 * Streams measurements grouped by web unit: ordered by run, then input URL,
 * then time, so that the dns/tcp/tls/http measurements of one URL in one
 * run arrive one after another (the OONI export joins them into one).
 */
export function* iterateMeasurementsByUnit(db: Database, filter: MeasurementFilter = {}, options: ReadOptions = {}): IterableIterator<Measurement> {
  const { where, params } = measurementWhere(filter);
  const rows = db.prepare(`SELECT record FROM measurements ${where} ORDER BY run_id, url, started_at, id`).pluck().iterate(params) as Iterable<string>;
  yield* parsedRecords(rows, options);
}

/** A stored measurement and whether it was stored scrubbed and export-ready (export_ready = 1). */
export interface FlaggedMeasurement {
  m: Measurement;
  ready: boolean;
}

/**
 * iterateMeasurementsByUnit with each row's export_ready flag: a row stored
 * export-ready was scrubbed at storage, so an export need not scrub it again.
 * A database from before that column reads as not ready.
 */
export function* iterateMeasurementsByUnitWithFlags(db: Database, filter: MeasurementFilter = {}, options: ReadOptions = {}): IterableIterator<FlaggedMeasurement> {
  const { where, params } = measurementWhere(filter);
  const flag = hasColumn(db, 'measurements', 'export_ready') ? 'export_ready' : '0';
  const rows = db.prepare(`SELECT record, ${flag} FROM measurements ${where} ORDER BY run_id, url, started_at, id`).raw().iterate(params) as Iterable<[string, number]>;
  const counter = options.unreadable;
  for (const [text, ready] of rows) {
    let m: Measurement;
    try {
      m = JSON.parse(text) as Measurement;
    } catch (err) {
      if (!counter) throw err;
      counter.count++;
      continue;
    }
    yield { m, ready: ready === 1 };
  }
}

export function countMeasurements(db: Database, filter: MeasurementFilter = {}): number {
  const { where, params } = measurementWhere(filter);
  return (db.prepare(`SELECT count(*) AS n FROM measurements ${where}`).get(params) as { n: number }).n;
}

/**
 * Streams the stored JSON text of each measurement, in iterateMeasurements'
 * order, unparsed: an export that can rearrange the text saves a parse and
 * a stringify per row. With options.unreadable, text that is not valid JSON
 * (SQLite's json_valid) is skipped and counted.
 */
export function* iterateMeasurementTexts(db: Database, filter: MeasurementFilter = {}, options: ReadOptions = {}): IterableIterator<string> {
  const { where, params } = measurementWhere(filter);
  const counter = options.unreadable;
  if (!counter) {
    yield* db.prepare(`SELECT record FROM measurements ${where} ORDER BY started_at, id`).pluck().iterate(params) as Iterable<string>;
    return;
  }
  // NULL for an unreadable row: one column, no object per row.
  const stmt = db.prepare(`SELECT CASE WHEN json_valid(record) THEN record END FROM measurements ${where} ORDER BY started_at, id`).pluck();
  for (const text of stmt.iterate(params) as Iterable<string | null>) {
    if (text === null) counter.count++;
    else yield text;
  }
}

/**
 * Streams, in iterateMeasurements' order, each stored record's JSON text
 * with its export_ready flag: 1 when the text is the row's JSONL export
 * line as it is (stored since migration 3), 0 when the export has to
 * rearrange and scrub it. Yields [text, flag] arrays (no object per row).
 * Works on a database opened read-only before migration 3 (every row 0).
 * With options.unreadable, text that is not valid JSON is skipped and counted.
 */
export function* iterateExportTexts(
  db: Database,
  filter: MeasurementFilter = {},
  options: ReadOptions = {},
): IterableIterator<[record: string, exportReady: number]> {
  const { where, params } = measurementWhere(filter);
  const flag = hasColumn(db, 'measurements', 'export_ready') ? 'export_ready' : '0';
  const counter = options.unreadable;
  if (!counter) {
    yield* db.prepare(`SELECT record, ${flag} FROM measurements ${where} ORDER BY started_at, id`).raw().iterate(params) as Iterable<[string, number]>;
    return;
  }
  const stmt = db.prepare(`SELECT record, CASE WHEN json_valid(record) THEN ${flag} ELSE -1 END FROM measurements ${where} ORDER BY started_at, id`).raw();
  for (const row of stmt.iterate(params) as Iterable<[string, number]>) {
    if (row[1] === -1) counter.count++;
    else yield row;
  }
}
