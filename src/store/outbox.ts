// The persistent outbox of webhook alerts (table alert_outbox, migration 2).
// An alert is written in the same transaction as its event, so it survives a
// crash or restart and is retried after it: delivery is at least once, and
// receivers dedupe on X-Rasad-Event-Id. src/alerts/outbox.ts re-exports it.
import type { Database, Statement } from 'better-sqlite3';

export type OutboxStatus = 'pending' | 'delivered' | 'coalesced' | 'rejected';

export interface OutboxRow {
  id: number;
  alert_id: string;
  destination: string;
  kind: string;
  body: string;
  status: OutboxStatus;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
  coalesced_into: string | null;
}

export interface NewAlert {
  alert_id: string;
  destination: string;
  kind: string;
  body: string;
}

export class Outbox {
  private readonly insertStmt: Statement;

  constructor(private readonly db: Database) {
    this.insertStmt = db.prepare(`
      INSERT OR IGNORE INTO alert_outbox (alert_id, destination, kind, body, status, attempts, created_at, next_attempt_at)
      VALUES (@alert_id, @destination, @kind, @body, 'pending', 0, @now, @now)`);
  }

  /** Queues alerts (an alert already queued for a destination is ignored). Returns how many were new. */
  enqueue(alerts: NewAlert[], nowIso: string): number {
    let added = 0;
    this.db.transaction(() => {
      for (const a of alerts) added += this.insertStmt.run({ ...a, now: nowIso }).changes;
    })();
    return added;
  }

  /**
   * Pending alerts of one destination whose next attempt is due, oldest
   * first. With `latestIso` (now plus the longest delay a retry is given),
   * an attempt set later than that is due too: it was set by a clock that
   * has since gone back (NTP correcting a Pi that booted ahead), and would
   * otherwise wait as long as the clock was wrong.
   */
  due(destination: string, nowIso: string, limit = 1000, latestIso?: string): OutboxRow[] {
    return this.db
      .prepare(
        `SELECT * FROM alert_outbox WHERE destination = @destination AND status = 'pending' AND (next_attempt_at <= @now OR next_attempt_at > @latest) ORDER BY id LIMIT @limit`,
      )
      .all({ destination, now: nowIso, latest: latestIso ?? '\uffff', limit }) as OutboxRow[];
  }

  markDelivered(id: number, attempts: number, nowIso: string): void {
    this.db.prepare(`UPDATE alert_outbox SET status = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?`).run(attempts, nowIso, id);
  }

  markRetry(id: number, attempts: number, nextIso: string, error: string): void {
    this.db.prepare(`UPDATE alert_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`).run(attempts, nextIso, error, id);
  }

  markRejected(id: number, attempts: number, error: string): void {
    this.db.prepare(`UPDATE alert_outbox SET status = 'rejected', attempts = ?, last_error = ? WHERE id = ?`).run(attempts, error, id);
  }

  /** Replaces `rows` by one summary alert, atomically: each row is either still pending or carried by the summary. */
  coalesce(rows: OutboxRow[], summary: NewAlert, nowIso: string): OutboxRow {
    const mark = this.db.prepare(`UPDATE alert_outbox SET status = 'coalesced', coalesced_into = ? WHERE id = ? AND status = 'pending'`);
    return this.db.transaction(() => {
      this.insertStmt.run({ ...summary, now: nowIso });
      for (const row of rows) mark.run(summary.alert_id, row.id);
      return this.db.prepare(`SELECT * FROM alert_outbox WHERE alert_id = ? AND destination = ?`).get(summary.alert_id, summary.destination) as OutboxRow;
    })();
  }

  pendingCount(destination: string): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM alert_outbox WHERE destination = ? AND status = 'pending'`).get(destination) as { n: number }).n;
  }

  /** Forgets delivered and coalesced alerts older than the cutoff. */
  purgeDoneBefore(cutoffIso: string): number {
    return this.db.prepare(`DELETE FROM alert_outbox WHERE status IN ('delivered', 'coalesced') AND created_at < ?`).run(cutoffIso).changes;
  }
}
