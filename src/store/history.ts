// A target's own past, for judges that compare with it: the throughput
// ratios of an input's last sweeps (median over them smooths one sweep's
// noise; issue 15 saw 0.11 under 3 % loss with one sweep).
import type { Database } from 'better-sqlite3';

/** The stored throughput ratios of `url`, newest first (only measurements whose verdict recorded one). */
export function throughputRatios(db: Database, url: string, limit: number): number[] {
  const rows = db
    .prepare(
      `SELECT json_extract(record, '$.evidence.ratio') AS ratio FROM measurements
       WHERE url = ? AND probe = 'throughput' AND json_extract(record, '$.evidence.ratio') IS NOT NULL
       ORDER BY started_at DESC LIMIT ?`,
    )
    .pluck()
    .all(url, limit) as unknown[];
  return rows.filter((r): r is number => typeof r === 'number' && Number.isFinite(r));
}
