// The durable outbox of collector uploads (tables upload_outbox and
// upload_reports, migration 5). A measurement is queued in one transaction
// and stays pending until the collector accepted it, so a crash, a kill -9 or
// a collector outage delays it and loses nothing. Delivery is at least once:
// a submission whose answer was lost is sent again, and a collector dedupes
// on the measurement's x_rasad_measurement_ids.
import type { Database, Statement } from 'better-sqlite3';

export type UploadStatus = 'pending' | 'delivered' | 'rejected';

export interface UploadRow {
  id: number;
  destination: string;
  measurement_key: string;
  run_id: string;
  test_name: string;
  body: string;
  status: UploadStatus;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

export interface NewUpload {
  measurement_key: string;
  run_id: string;
  test_name: string;
  body: string;
}

export interface ReportRow {
  destination: string;
  run_id: string;
  test_name: string;
  report_id: string;
  opened_at: string;
  closed_at: string | null;
}

export class UploadOutbox {
  private readonly insertStmt: Statement;

  constructor(
    private readonly db: Database,
    readonly destination: string,
  ) {
    this.insertStmt = db.prepare(`
      INSERT OR IGNORE INTO upload_outbox (destination, measurement_key, run_id, test_name, body, status, attempts, created_at, next_attempt_at)
      VALUES (@destination, @measurement_key, @run_id, @test_name, @body, 'pending', 0, @now, @now)`);
  }

  /** Queues measurements; one already queued for this collector is ignored. Returns how many were new. */
  enqueue(uploads: Iterable<NewUpload>, nowIso: string): number {
    let added = 0;
    this.db.transaction(() => {
      for (const u of uploads) added += this.insertStmt.run({ ...u, destination: this.destination, now: nowIso }).changes;
    })();
    return added;
  }

  /** Pending uploads whose next attempt is due, oldest first; with `latestIso`, also those set past it by a clock since set back (outbox.ts). */
  due(nowIso: string, limit = 500, latestIso?: string): UploadRow[] {
    return this.db
      .prepare(
        `SELECT * FROM upload_outbox WHERE destination = @destination AND status = 'pending' AND (next_attempt_at <= @now OR next_attempt_at > @latest) ORDER BY id LIMIT @limit`,
      )
      .all({ destination: this.destination, now: nowIso, latest: latestIso ?? '\uffff', limit }) as UploadRow[];
  }

  markDelivered(id: number, attempts: number, nowIso: string): void {
    this.db.prepare(`UPDATE upload_outbox SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?`).run(attempts, nowIso, id);
  }

  markRetry(id: number, attempts: number, nextIso: string, error: string): void {
    this.db.prepare(`UPDATE upload_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`).run(attempts, nextIso, error, id);
  }

  markRejected(id: number, attempts: number, error: string): void {
    this.db.prepare(`UPDATE upload_outbox SET status = 'rejected', attempts = ?, last_error = ? WHERE id = ?`).run(attempts, error, id);
  }

  counts(): Record<UploadStatus, number> {
    const out: Record<UploadStatus, number> = { pending: 0, delivered: 0, rejected: 0 };
    const rows = this.db.prepare(`SELECT status, count(*) AS n FROM upload_outbox WHERE destination = ? GROUP BY status`).all(this.destination) as { status: UploadStatus; n: number }[];
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  /** Pending uploads of one report (run and test). */
  pendingFor(runId: string, testName: string): number {
    return (
      this.db
        .prepare(`SELECT count(*) AS n FROM upload_outbox WHERE destination = ? AND run_id = ? AND test_name = ? AND status = 'pending'`)
        .get(this.destination, runId, testName) as { n: number }
    ).n;
  }

  /** The open report of a run and test, if the collector gave one. */
  openReport(runId: string, testName: string): ReportRow | undefined {
    return this.db
      .prepare(`SELECT * FROM upload_reports WHERE destination = ? AND run_id = ? AND test_name = ? AND closed_at IS NULL`)
      .get(this.destination, runId, testName) as ReportRow | undefined;
  }

  saveReport(runId: string, testName: string, reportId: string, nowIso: string): void {
    // A closed report is replaced: measurements queued after a close go into a new one.
    this.db
      .prepare(
        `INSERT INTO upload_reports (destination, run_id, test_name, report_id, opened_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (destination, run_id, test_name) DO UPDATE SET report_id = excluded.report_id, opened_at = excluded.opened_at, closed_at = NULL`,
      )
      .run(this.destination, runId, testName, reportId, nowIso);
  }

  /** Open reports with nothing pending: ready to close. */
  closableReports(): ReportRow[] {
    return this.db
      .prepare(
        `SELECT r.* FROM upload_reports r WHERE r.destination = ? AND r.closed_at IS NULL AND NOT EXISTS (
           SELECT 1 FROM upload_outbox o WHERE o.destination = r.destination AND o.run_id = r.run_id AND o.test_name = r.test_name AND o.status = 'pending')`,
      )
      .all(this.destination) as ReportRow[];
  }

  markReportClosed(runId: string, testName: string, nowIso: string): void {
    this.db.prepare(`UPDATE upload_reports SET closed_at = ? WHERE destination = ? AND run_id = ? AND test_name = ?`).run(nowIso, this.destination, runId, testName);
  }

  /** Forgets delivered uploads older than the cutoff (their measurements stay in the store). */
  purgeDeliveredBefore(cutoffIso: string): number {
    return this.db.prepare(`DELETE FROM upload_outbox WHERE destination = ? AND status = 'delivered' AND created_at < ?`).run(this.destination, cutoffIso).changes;
  }
}
