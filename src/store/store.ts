// The SQLite store: WAL, prepared statements, one transaction per batch.
// This class is the facade callers use; each concern lives in its own module:
// opening, locking and migrating (open.ts, lock.ts, migrations.ts), runs
// (runs.ts), measurements (measurements.ts), events and the change
// detector's state (events.ts), dashboard and status reads (read-models.ts),
// retention (compaction.ts) and the alert outbox (outbox.ts).
import type { Database } from 'better-sqlite3';
import type { Measurement, StoredEvent } from '../model.js';
import type { VerdictUpdate } from '../records/stored-record.js';
import { compactOlderThan } from './compaction.js';
import * as events from './events.js';
import type { InstanceLock } from './lock.js';
import * as measurements from './measurements.js';
import { openDatabase } from './open.js';
import { Outbox } from './outbox.js';
import { UploadOutbox } from './upload-outbox.js';
import * as reads from './read-models.js';
import * as runs from './runs.js';
import type {
  DetectorSnapshot,
  EventFilter,
  LatestVerdictRow,
  MeasurementFilter,
  OpenOptions,
  RunRow,
  RunStatus,
  TargetStateRow,
  VerdictRow,
} from './types.js';

export { STORE_ERROR_CODES, StoreOpenError, StoreWriteError, type StoreErrorCode } from './errors.js';
export { lockPathFor } from './lock.js';
export { retentionCutoff } from './compaction.js';
export type { ReadOptions } from './measurements.js';
export { runStatusFor, type RunSettlement, type SettledRun } from './runs.js';
export type * from './types.js';
export type { NewUpload, ReportRow, UploadRow, UploadStatus } from './upload-outbox.js';

export class Store {
  private readonly measurementWriter: measurements.MeasurementWriter;
  private readonly eventWriter: events.EventWriter;

  private constructor(
    readonly file: string,
    readonly db: Database,
    private readonly lock: InstanceLock | null,
  ) {
    this.measurementWriter = new measurements.MeasurementWriter(db);
    this.eventWriter = new events.EventWriter(db);
  }

  /**
   * Opens (creating if needed) and migrates the database, holding its lock
   * file (`<file>.lock`) until close. A file that is not a database, is
   * damaged, cannot be written, or is locked by another rasad is a
   * StoreOpenError (err.code says which): the file is left exactly as it was.
   * With { readonly: true }: no lock, no migration, nothing written.
   */
  static open(file: string, options: OpenOptions = {}): Store {
    const { db, lock } = openDatabase(file, options);
    return new Store(file, db, lock);
  }

  /** For readers (`rasad export`, `rasad status`): works on a read-only file, directory or mount, next to a running daemon. */
  static openReadOnly(file: string): Store {
    return Store.open(file, { readonly: true });
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.lock?.release();
  }

  // --- runs ---------------------------------------------------------------

  beginRun(run: { run_id: string; started_at: string; probes: string[]; inputs_total: number }): void {
    runs.beginRun(this.db, run);
  }

  /** Throws StoreWriteError when the row cannot be written even without its summary (see runs.finishRun). */
  finishRun(runId: string, status: RunStatus, summary: Record<string, unknown>, finishedAt = new Date().toISOString()): void {
    runs.finishRun(this.db, runId, status, summary, finishedAt);
  }

  /** Ends a sweep's run with the status its storage earned; never throws for a refused write (see SettledRun). */
  settleRun(runId: string, settlement: runs.RunSettlement): runs.SettledRun {
    return runs.settleRun(this.db, runId, settlement);
  }

  markInterruptedRuns(): number {
    return runs.markInterruptedRuns(this.db);
  }

  getRun(runId: string): RunRow | undefined {
    return runs.getRun(this.db, runId);
  }

  listRuns(limit = 20): RunRow[] {
    return runs.listRuns(this.db, limit);
  }

  lastRunStart(probes: string[]): string | null {
    return runs.lastRunStart(this.db, probes);
  }

  runStartTimes(): Map<string, string> {
    return runs.runStartTimes(this.db);
  }

  // --- measurements -------------------------------------------------------

  insertMeasurements(batch: Measurement[]): void {
    this.measurementWriter.insert(batch);
  }

  updateVerdicts(batch: Measurement[]): void {
    this.measurementWriter.updateVerdicts(batch);
  }

  /** The final verdicts of a sweep that kept only them (see measurements.ts). */
  applyVerdicts(updates: readonly VerdictUpdate[]): void {
    this.measurementWriter.applyVerdicts(updates);
  }

  /** The start of the newest stored measurement (ISO-8601), or null for an empty store. */
  newestMeasurementStart(): string | null {
    return (this.db.prepare(`SELECT max(started_at) FROM measurements`).pluck().get() as string | null) ?? null;
  }

  compactOlderThan(cutoffIso: string, batchSize = 1000): number {
    return compactOlderThan(this.db, cutoffIso, batchSize);
  }

  iterateMeasurements(filter: MeasurementFilter = {}, options: measurements.ReadOptions = {}): IterableIterator<Measurement> {
    return measurements.iterateMeasurements(this.db, filter, options);
  }

  countMeasurements(filter: MeasurementFilter = {}): number {
    return measurements.countMeasurements(this.db, filter);
  }

  iterateMeasurementTexts(filter: MeasurementFilter = {}, options: measurements.ReadOptions = {}): IterableIterator<string> {
    return measurements.iterateMeasurementTexts(this.db, filter, options);
  }

  iterateExportTexts(filter: MeasurementFilter = {}, options: measurements.ReadOptions = {}): IterableIterator<[record: string, exportReady: number]> {
    return measurements.iterateExportTexts(this.db, filter, options);
  }

  iterateMeasurementsByUnit(filter: MeasurementFilter = {}, options: measurements.ReadOptions = {}): IterableIterator<Measurement> {
    return measurements.iterateMeasurementsByUnit(this.db, filter, options);
  }

  /** iterateMeasurementsByUnit with each row's export_ready flag (see measurements.ts). */
  iterateMeasurementsByUnitWithFlags(filter: MeasurementFilter = {}, options: measurements.ReadOptions = {}): IterableIterator<measurements.FlaggedMeasurement> {
    return measurements.iterateMeasurementsByUnitWithFlags(this.db, filter, options);
  }

  // --- events and the change detector -------------------------------------

  insertEvents(batch: StoredEvent[]): void {
    this.eventWriter.insert(batch);
  }

  countEvents(filter: EventFilter = {}): number {
    return events.countEvents(this.db, filter);
  }

  iterateEvents(filter: EventFilter = {}, options: measurements.ReadOptions = {}): IterableIterator<StoredEvent> {
    return events.iterateEvents(this.db, filter, options);
  }

  recentEvents(limit: number, filter: EventFilter = {}): StoredEvent[] {
    return events.recentEvents(this.db, limit, filter);
  }

  saveDetectorState(snapshot: DetectorSnapshot, targetStates: TargetStateRow[]): void {
    events.saveDetectorState(this.db, snapshot, targetStates);
  }

  loadDetectorSnapshot(): DetectorSnapshot | undefined {
    return events.loadDetectorSnapshot(this.db);
  }

  listTargetStates(): TargetStateRow[] {
    return events.listTargetStates(this.db);
  }

  /** The webhook alert outbox on this database. */
  outbox(): Outbox {
    return new Outbox(this.db);
  }

  /** The collector upload outbox for one collector (`destination`: a hash of its URL). */
  uploadOutbox(destination: string): UploadOutbox {
    return new UploadOutbox(this.db, destination);
  }

  // --- dashboard and status reads -----------------------------------------

  latestVerdicts(): LatestVerdictRow[] {
    return reads.latestVerdicts(this.db);
  }

  recentMeasurements(filter: MeasurementFilter, limit: number): Measurement[] {
    return reads.recentMeasurements(this.db, filter, limit);
  }

  iterateVerdictRows(filter: reads.VerdictRowFilter = {}): IterableIterator<VerdictRow> {
    return reads.iterateVerdictRows(this.db, filter);
  }

  iterateVerdictCells(since: string): IterableIterator<reads.VerdictCell> {
    return reads.iterateVerdictCells(this.db, since);
  }
}
