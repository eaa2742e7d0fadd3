// Retention: raw records older than the cutoff lose their probe details and
// the control's answer; the verdict, its reason and evidence, the failure and
// the timings stay, and so do events.
import type { Database } from 'better-sqlite3';
import type { Measurement } from '../model.js';

/**
 * The retention cutoff: `retentionDays` before now, or before the newest
 * stored measurement when that is earlier. A clock far ahead (a bad
 * real-time clock on a Pi, a typo in `date -s`) would otherwise strip the
 * evidence of every measurement at the next start, and compaction cannot be
 * undone; measured against the newest row, only what is truly old goes.
 */
export function retentionCutoff(nowMs: number, newestStartedAt: string | null, retentionDays: number): string {
  const newestMs = newestStartedAt === null ? Number.NaN : Date.parse(newestStartedAt);
  const reference = Number.isFinite(newestMs) ? Math.min(nowMs, newestMs) : nowMs;
  return new Date(reference - retentionDays * 86_400_000).toISOString();
}

/**
 * Compacts in small transactions so the daemon's writes are never held up
 * for long. The record keeps its keys in place (details and control are
 * replaced where they are), so an export-ready row stays one. Returns the
 * rows compacted.
 */
export function compactOlderThan(db: Database, cutoffIso: string, batchSize = 1000): number {
  const select = db.prepare(
    `SELECT id, record FROM measurements WHERE started_at < ? AND json_extract(record, '$.details.compacted') IS NULL LIMIT ?`,
  );
  const update = db.prepare(`UPDATE measurements SET record = ? WHERE id = ?`);
  let total = 0;
  for (;;) {
    const rows = select.all(cutoffIso, batchSize) as { id: number; record: string }[];
    if (rows.length === 0) return total;
    db.transaction(() => {
      for (const row of rows) {
        const m = JSON.parse(row.record) as Measurement;
        update.run(JSON.stringify({ ...m, details: { compacted: true }, control: null }), row.id);
      }
    })();
    total += rows.length;
  }
}
