// The SQLite store: WAL, prepared statements, one transaction per batch.
// Rows are read back through iterators so that an export of any size runs in
// flat memory.
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { storedMeasurement } from '../export/stored-record.js';
import type { Measurement, StoredEvent } from '../model.js';
import { migrate } from './migrations.js';

/** A store that cannot be opened: names the file, says why, and never touches it. */
export class StoreOpenError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'StoreOpenError';
  }
}

export interface RunRow {
  run_id: string;
  started_at: string;
  finished_at: string | null;
  status: 'running' | 'complete' | 'interrupted' | 'failed';
  probes: string[];
  inputs_total: number;
  summary: Record<string, unknown> | null;
}

export interface MeasurementFilter {
  since?: string;
  until?: string;
  /** Matches the target as written or the input URL. */
  target?: string;
  probe?: string[];
  verdict?: string[];
  /** Only measurements whose verdict is not ok. */
  anomaliesOnly?: boolean;
  runId?: string;
}

export interface EventFilter {
  since?: string;
  until?: string;
  target?: string;
}

export interface OpenOptions {
  readonly?: boolean;
}

/** The change detector's saved state (src/analysis/changes.ts DetectorState, as JSON). */
export interface DetectorSnapshot {
  state: string;
  run_id: string | null;
  updated_at: string;
}

/** One row of target_states: the confirmed state of one input (URL). */
export interface TargetStateRow {
  url: string;
  target: string;
  category: string | null;
  /** The confirmed verdict summarising the input's probes, or 'pending' before any is confirmed. */
  state: string;
  since: string;
  updated_at: string;
  /** The detector's per-kind state of this input (JSON). */
  detector: unknown;
}

/** The latest measurement of one input (URL). */
export interface LatestVerdictRow {
  url: string;
  target: string;
  category: string;
  probe: string;
  verdict: string;
  started_at: string;
  tags: string[];
}

/** A stored verdict with its run, for replaying through the change detector. */
export interface VerdictRow {
  measurement_id: string;
  run_id: string;
  run_started_at: string | null;
  target: string;
  url: string;
  probe: string;
  category: string;
  verdict: string;
  started_at: string;
  tags: string[];
}

export class Store {
  readonly db: Database;
  private insertMeasurementStmt: Statement | null = null;
  private readonly insertEventStmt: Statement;

  private constructor(
    readonly file: string,
    db: Database,
  ) {
    this.db = db;
    this.insertEventStmt = db.prepare(`
      INSERT OR IGNORE INTO events (event_id, kind, target, url, verdict, at, measurement_ids, details)
      VALUES (@event_id, @kind, @target, @url, @verdict, @at, @measurement_ids, @details)`);
  }

  /**
   * Opens (creating if needed) and migrates the database. A file that is not a
   * database, or that cannot be written, is a StoreOpenError: the file is
   * left exactly as it was.
   */
  static open(file: string, options: OpenOptions = {}): Store {
    const path = file === ':memory:' ? file : resolve(file);
    if (path !== ':memory:') {
      if (options.readonly) {
        if (!existsSync(path)) throw new StoreOpenError(file, 'no such database file');
      } else {
        try {
          mkdirSync(dirname(path), { recursive: true });
        } catch (err) {
          throw new StoreOpenError(file, `cannot create its directory: ${(err as Error).message}`);
        }
        if (existsSync(path)) {
          // A file marked read-only is the volunteer's decision: honoured even as root, who bypasses modes.
          let writable = (statSync(path).mode & 0o222) !== 0;
          try {
            accessSync(path, constants.R_OK | constants.W_OK);
          } catch {
            writable = false;
          }
          if (!writable) throw new StoreOpenError(file, 'the database file is not writable (read-only file or wrong owner)');
        }
      }
    }
    let db: Database | undefined;
    try {
      db = new BetterSqlite3(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
      // Reading the schema fails at once on a file that is not SQLite, before anything is written.
      db.pragma('schema_version', { simple: true });
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        migrate(db);
      }
      db.pragma('busy_timeout = 5000');
      return new Store(file, db);
    } catch (err) {
      db?.close();
      if (err instanceof StoreOpenError) throw err;
      const e = err as Error & { code?: string };
      const reason =
        e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT'
          ? 'not a rasad database, or corrupt (the file was left untouched)'
          : e.code === 'SQLITE_READONLY' || e.code === 'SQLITE_CANTOPEN'
            ? `cannot open for writing (${e.message})`
            : e.message;
      throw new StoreOpenError(file, reason);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // --- runs ---------------------------------------------------------------

  beginRun(run: { run_id: string; started_at: string; probes: string[]; inputs_total: number }): void {
    this.db
      .prepare(
        `INSERT INTO runs (run_id, started_at, status, probes, inputs_total) VALUES (?, ?, 'running', ?, ?)`,
      )
      .run(run.run_id, run.started_at, JSON.stringify(run.probes), run.inputs_total);
  }

  finishRun(runId: string, status: RunRow['status'], summary: Record<string, unknown>, finishedAt = new Date().toISOString()): void {
    this.db
      .prepare(`UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE run_id = ?`)
      .run(status, finishedAt, JSON.stringify(summary), runId);
  }

  /** Runs left 'running' by a process that died: marked 'interrupted'. Returns how many. */
  markInterruptedRuns(): number {
    return this.db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?) WHERE status = 'running'`).run(new Date().toISOString()).changes;
  }

  getRun(runId: string): RunRow | undefined {
    const row = this.db.prepare(`SELECT * FROM runs WHERE run_id = ?`).get(runId) as Record<string, unknown> | undefined;
    return row ? toRunRow(row) : undefined;
  }

  listRuns(limit = 20): RunRow[] {
    return (this.db.prepare(`SELECT * FROM runs ORDER BY started_at DESC LIMIT ?`).all(limit) as Record<string, unknown>[]).map(toRunRow);
  }

  /** The latest start time of a run containing any of these probes (for resuming a schedule). */
  lastRunStart(probes: string[]): string | null {
    let latest: string | null = null;
    for (const row of this.db.prepare(`SELECT started_at, probes FROM runs ORDER BY started_at DESC LIMIT 200`).iterate() as Iterable<{ started_at: string; probes: string }>) {
      const kinds = JSON.parse(row.probes) as string[];
      if (kinds.some((k) => probes.includes(k))) {
        latest = row.started_at;
        break;
      }
    }
    return latest;
  }

  // --- measurements -------------------------------------------------------

  /**
   * Stores a batch in one transaction: all of it or none of it. Every
   * measurement is stored scrubbed and with its keys in the export's order
   * (src/export/stored-record.ts); the objects given are not modified.
   */
  insertMeasurements(measurements: Measurement[]): void {
    // Prepared on first use: a database opened read-only before migration 3 has no export_ready column.
    const stmt = (this.insertMeasurementStmt ??= this.db.prepare(`
      INSERT INTO measurements (measurement_id, run_id, target, url, probe, category, started_at,
                                runtime_ms, failure, verdict, verdict_reason, record, export_ready)
      VALUES (@measurement_id, @run_id, @target, @url, @probe, @category, @started_at,
              @runtime_ms, @failure, @verdict, @verdict_reason, @record, @export_ready)`));
    const insertAll = this.db.transaction((batch: Measurement[]) => {
      for (const m of batch) stmt.run(measurementRow(m));
    });
    insertAll(measurements);
  }

  /** Rewrites the verdict (and the record, stored as insertMeasurements stores it) of measurements already stored, in one transaction. */
  updateVerdicts(measurements: Measurement[]): void {
    const stmt = this.db.prepare(`UPDATE measurements SET verdict = ?, verdict_reason = ?, record = ?, export_ready = ? WHERE measurement_id = ?`);
    this.db.transaction((batch: Measurement[]) => {
      for (const m of batch) {
        const stored = storedMeasurement(m);
        stmt.run(m.verdict, stored.verdictReason, stored.record, stored.exportReady ? 1 : 0, m.measurement_id);
      }
    })(measurements);
  }

  /**
   * Retention: raw records older than the cutoff lose their probe details and
   * the control's answer; the verdict, its reason and evidence, the failure
   * and the timings stay, and so do events. Works in small transactions so
   * the daemon's writes are never held up for long. Returns the rows compacted.
   */
  compactOlderThan(cutoffIso: string, batchSize = 1000): number {
    const select = this.db.prepare(
      `SELECT id, record FROM measurements WHERE started_at < ? AND json_extract(record, '$.details.compacted') IS NULL LIMIT ?`,
    );
    const update = this.db.prepare(`UPDATE measurements SET record = ? WHERE id = ?`);
    let total = 0;
    for (;;) {
      const rows = select.all(cutoffIso, batchSize) as { id: number; record: string }[];
      if (rows.length === 0) return total;
      this.db.transaction(() => {
        for (const row of rows) {
          const m = JSON.parse(row.record) as Measurement;
          update.run(JSON.stringify({ ...m, details: { compacted: true }, control: null }), row.id);
        }
      })();
      total += rows.length;
    }
  }

  /** Streams measurements oldest first. */
  *iterateMeasurements(filter: MeasurementFilter = {}): IterableIterator<Measurement> {
    const { where, params } = measurementWhere(filter);
    const stmt = this.db.prepare(`SELECT record FROM measurements ${where} ORDER BY started_at, id`);
    for (const row of stmt.iterate(params) as Iterable<{ record: string }>) {
      yield JSON.parse(row.record) as Measurement;
    }
  }

  countMeasurements(filter: MeasurementFilter = {}): number {
    const { where, params } = measurementWhere(filter);
    return (this.db.prepare(`SELECT count(*) AS n FROM measurements ${where}`).get(params) as { n: number }).n;
  }

  /**
   * Streams the stored JSON text of each measurement, in iterateMeasurements'
   * order, unparsed: an export that can rearrange the text saves a parse and
   * a stringify per row.
   */
  *iterateMeasurementTexts(filter: MeasurementFilter = {}): IterableIterator<string> {
    const { where, params } = measurementWhere(filter);
    yield* this.db.prepare(`SELECT record FROM measurements ${where} ORDER BY started_at, id`).pluck().iterate(params) as Iterable<string>;
  }

  /**
   * Streams, in iterateMeasurements' order, each stored record's JSON text
   * with its export_ready flag: 1 when the text is the row's JSONL export
   * line as it is (stored since migration 3), 0 when the export has to
   * rearrange and scrub it. Yields [text, flag] arrays (no object per row).
   * Works on a database opened read-only before migration 3 (every row 0).
   */
  *iterateExportTexts(filter: MeasurementFilter = {}): IterableIterator<[record: string, exportReady: number]> {
    const { where, params } = measurementWhere(filter);
    const flag = this.hasColumn('measurements', 'export_ready') ? 'export_ready' : '0';
    yield* this.db.prepare(`SELECT record, ${flag} FROM measurements ${where} ORDER BY started_at, id`).raw().iterate(params) as Iterable<[string, number]>;
  }

  /**
   * Streams measurements grouped by web unit: ordered by run, then input URL,
   * then time, so that the dns/tcp/tls/http measurements of one URL in one
   * run arrive one after another (the OONI export joins them into one).
   */
  *iterateMeasurementsByUnit(filter: MeasurementFilter = {}): IterableIterator<Measurement> {
    const { where, params } = measurementWhere(filter);
    const stmt = this.db.prepare(`SELECT record FROM measurements ${where} ORDER BY run_id, url, started_at, id`);
    for (const row of stmt.iterate(params) as Iterable<{ record: string }>) {
      yield JSON.parse(row.record) as Measurement;
    }
  }

  // --- events -------------------------------------------------------------

  insertEvents(events: StoredEvent[]): void {
    const insertAll = this.db.transaction((batch: StoredEvent[]) => {
      for (const e of batch) {
        this.insertEventStmt.run({
          ...e,
          measurement_ids: JSON.stringify(e.measurement_ids),
          details: JSON.stringify(e.details),
        });
      }
    });
    insertAll(events);
  }

  /** The start time of every run, by run id (an export reads it before it streams, when the connection is busy). */
  runStartTimes(): Map<string, string> {
    const rows = this.db.prepare(`SELECT run_id, started_at FROM runs`).all() as { run_id: string; started_at: string }[];
    return new Map(rows.map((r) => [r.run_id, r.started_at]));
  }

  /** How many events iterateEvents(filter) yields. */
  countEvents(filter: EventFilter = {}): number {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.since) (clauses.push('at >= @since'), (params.since = filter.since));
    if (filter.until) (clauses.push('at < @until'), (params.until = filter.until));
    if (filter.target) (clauses.push('(target = @target OR url = @target)'), (params.target = filter.target));
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    return (this.db.prepare(`SELECT count(*) AS n FROM events ${where}`).get(params) as { n: number }).n;
  }

  *iterateEvents(filter: EventFilter = {}): IterableIterator<StoredEvent> {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.since) (clauses.push('at >= @since'), (params.since = filter.since));
    if (filter.until) (clauses.push('at < @until'), (params.until = filter.until));
    if (filter.target) (clauses.push('(target = @target OR url = @target)'), (params.target = filter.target));
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    for (const row of this.db.prepare(`SELECT * FROM events ${where} ORDER BY at, id`).iterate(params) as Iterable<Record<string, string>>) {
      yield {
        event_id: row.event_id,
        kind: row.kind as StoredEvent['kind'],
        target: row.target ?? null,
        url: row.url ?? null,
        verdict: (row.verdict ?? null) as StoredEvent['verdict'],
        at: row.at,
        measurement_ids: JSON.parse(row.measurement_ids),
        details: JSON.parse(row.details),
      };
    }
  }

  // --- change detection, status and dashboard reads ------------------------

  /**
   * Saves the change detector's state (JSON) and the per-input view of it in
   * one transaction, so the two never disagree after a crash.
   */
  saveDetectorState(snapshot: DetectorSnapshot, targetStates: TargetStateRow[]): void {
    const saveSnapshot = this.db.prepare(`
      INSERT INTO detector_snapshot (id, state, run_id, updated_at) VALUES (1, @state, @run_id, @updated_at)
      ON CONFLICT(id) DO UPDATE SET state = excluded.state, run_id = excluded.run_id, updated_at = excluded.updated_at`);
    const upsertTarget = this.db.prepare(`
      INSERT INTO target_states (url, target, category, state, since, updated_at, detector)
      VALUES (@url, @target, @category, @state, @since, @updated_at, @detector)
      ON CONFLICT(url) DO UPDATE SET target = excluded.target, category = excluded.category, state = excluded.state,
        since = excluded.since, updated_at = excluded.updated_at, detector = excluded.detector`);
    this.db.transaction(() => {
      saveSnapshot.run(snapshot);
      for (const row of targetStates) upsertTarget.run({ ...row, detector: JSON.stringify(row.detector ?? null) });
    })();
  }

  /** The saved change-detector state, or undefined (never saved, or a database older than migration 2). */
  loadDetectorSnapshot(): DetectorSnapshot | undefined {
    if (!this.hasTable('detector_snapshot')) return undefined;
    return this.db.prepare(`SELECT state, run_id, updated_at FROM detector_snapshot WHERE id = 1`).get() as DetectorSnapshot | undefined;
  }

  /** The current confirmed state of every input, by URL. */
  listTargetStates(): TargetStateRow[] {
    if (!this.hasTable('target_states')) return [];
    const hasCategory = (this.db.prepare(`PRAGMA table_info(target_states)`).all() as { name: string }[]).some((c) => c.name === 'category');
    const rows = this.db
      .prepare(`SELECT url, target, ${hasCategory ? 'category' : 'NULL AS category'}, state, since, updated_at, detector FROM target_states ORDER BY url`)
      .all() as (Omit<TargetStateRow, 'detector'> & { detector: string | null })[];
    return rows.map((r) => ({ ...r, detector: parseJsonOr(r.detector, null) }));
  }

  /** The latest measurement's verdict, category and tags of each input (URL). */
  latestVerdicts(): LatestVerdictRow[] {
    const rows = this.db
      .prepare(
        `SELECT url, target, category, probe, verdict, started_at, json_extract(record, '$.tags') AS tags
         FROM measurements WHERE id IN (SELECT max(id) FROM measurements GROUP BY url) ORDER BY url`,
      )
      .all() as (Omit<LatestVerdictRow, 'tags'> & { tags: string | null })[];
    return rows.map((r) => {
      const tags = parseJsonOr(r.tags, []);
      return { ...r, tags: Array.isArray(tags) ? tags.map(String) : [] };
    });
  }

  /** The newest events first, at most `limit`. */
  recentEvents(limit: number, filter: EventFilter = {}): StoredEvent[] {
    const clauses: string[] = [];
    const params: Record<string, unknown> = { limit };
    if (filter.since) (clauses.push('at >= @since'), (params.since = filter.since));
    if (filter.until) (clauses.push('at < @until'), (params.until = filter.until));
    if (filter.target) (clauses.push('(target = @target OR url = @target)'), (params.target = filter.target));
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const rows = this.db.prepare(`SELECT * FROM events ${where} ORDER BY at DESC, id DESC LIMIT @limit`).all(params) as Record<string, string | null>[];
    return rows.map(eventFromRow);
  }

  /** The newest measurements first, at most `limit`. */
  recentMeasurements(filter: MeasurementFilter, limit: number): Measurement[] {
    const { where, params } = measurementWhere(filter);
    const rows = this.db
      .prepare(`SELECT record FROM measurements ${where} ORDER BY started_at DESC, id DESC LIMIT @recent_limit`)
      .all({ ...params, recent_limit: limit }) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as Measurement);
  }

  /**
   * Verdicts with their run, oldest run first, for replaying them through the
   * change detector. Runs still 'running' are left out (their verdicts may be
   * provisional), and so are rows with `excludeReason` as their reason.
   */
  *iterateVerdictRows(filter: { since?: string; excludeReason?: string } = {}): IterableIterator<VerdictRow> {
    const clauses = [`(r.status IS NULL OR r.status <> 'running')`];
    const params: Record<string, unknown> = {};
    if (filter.since) (clauses.push('m.started_at >= @since'), (params.since = filter.since));
    if (filter.excludeReason) (clauses.push('m.verdict_reason <> @reason'), (params.reason = filter.excludeReason));
    const stmt = this.db.prepare(`
      SELECT m.measurement_id, m.run_id, r.started_at AS run_started_at, m.target, m.url, m.probe, m.category,
             m.verdict, m.started_at, json_extract(m.record, '$.tags') AS tags
      FROM measurements m LEFT JOIN runs r ON r.run_id = m.run_id
      WHERE ${clauses.join(' AND ')}
      ORDER BY COALESCE(r.started_at, m.started_at), m.run_id, m.id`);
    for (const row of stmt.iterate(params) as Iterable<Omit<VerdictRow, 'tags'> & { tags: string | null }>) {
      const tags = parseJsonOr(row.tags, []);
      yield { ...row, tags: Array.isArray(tags) ? tags.map(String) : [] };
    }
  }

  /** Just (url, probe, verdict, started_at) since a time: the cheap rows a timeline is drawn from. */
  *iterateVerdictCells(since: string): IterableIterator<{ url: string; target: string; probe: string; verdict: string; started_at: string }> {
    yield* this.db
      .prepare(`SELECT url, target, probe, verdict, started_at FROM measurements WHERE started_at >= ?`)
      .iterate(since) as Iterable<{ url: string; target: string; probe: string; verdict: string; started_at: string }>;
  }

  private hasColumn(table: string, column: string): boolean {
    return this.db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).get(table, column) !== undefined;
  }

  private hasTable(name: string): boolean {
    return this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
  }
}

function toRunRow(row: Record<string, unknown>): RunRow {
  return {
    run_id: row.run_id as string,
    started_at: row.started_at as string,
    finished_at: (row.finished_at as string | null) ?? null,
    status: row.status as RunRow['status'],
    probes: JSON.parse(row.probes as string),
    inputs_total: row.inputs_total as number,
    summary: row.summary ? JSON.parse(row.summary as string) : null,
  };
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

function measurementWhere(filter: MeasurementFilter): { where: string; params: Record<string, unknown> } {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.since) (clauses.push('started_at >= @since'), (params.since = filter.since));
  if (filter.until) (clauses.push('started_at < @until'), (params.until = filter.until));
  if (filter.target) (clauses.push('(target = @target OR url = @target)'), (params.target = filter.target));
  if (filter.runId) (clauses.push('run_id = @runId'), (params.runId = filter.runId));
  if (filter.probe?.length) {
    clauses.push(`probe IN (${filter.probe.map((_, i) => `@probe${i}`).join(', ')})`);
    filter.probe.forEach((p, i) => (params[`probe${i}`] = p));
  }
  if (filter.verdict?.length) {
    clauses.push(`verdict IN (${filter.verdict.map((_, i) => `@verdict${i}`).join(', ')})`);
    filter.verdict.forEach((v, i) => (params[`verdict${i}`] = v));
  }
  if (filter.anomaliesOnly) clauses.push(`verdict <> 'ok'`);
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function eventFromRow(row: Record<string, string | null>): StoredEvent {
  return {
    event_id: row.event_id as string,
    kind: row.kind as StoredEvent['kind'],
    target: row.target ?? null,
    url: row.url ?? null,
    verdict: (row.verdict ?? null) as StoredEvent['verdict'],
    at: row.at as string,
    measurement_ids: parseJsonOr(row.measurement_ids, []) as string[],
    details: parseJsonOr(row.details, {}) as Record<string, unknown>,
  };
}

function parseJsonOr<T>(text: string | null | undefined, fallback: T): unknown {
  if (text === null || text === undefined) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}
