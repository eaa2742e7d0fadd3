// Reads for the dashboard, `rasad status` and the change detector's replay:
// small, bounded queries over the measurements and runs.
import type { Database } from 'better-sqlite3';
import type { Measurement } from '../model.js';
import { measurementWhere, parseJsonOr } from './sql.js';
import type { LatestVerdictRow, MeasurementFilter, VerdictRow } from './types.js';

function tagList(text: string | null): string[] {
  const tags = parseJsonOr(text, []);
  return Array.isArray(tags) ? tags.map(String) : [];
}

/** The latest measurement's verdict, category and tags of each input (URL). */
export function latestVerdicts(db: Database): LatestVerdictRow[] {
  const rows = db
    .prepare(
      `SELECT url, target, category, probe, verdict, started_at, json_extract(record, '$.tags') AS tags
       FROM measurements WHERE id IN (SELECT max(id) FROM measurements GROUP BY url) ORDER BY url`,
    )
    .all() as (Omit<LatestVerdictRow, 'tags'> & { tags: string | null })[];
  return rows.map((r) => ({ ...r, tags: tagList(r.tags) }));
}

/** The newest measurements first, at most `limit`. */
export function recentMeasurements(db: Database, filter: MeasurementFilter, limit: number): Measurement[] {
  const { where, params } = measurementWhere(filter);
  const rows = db
    .prepare(`SELECT record FROM measurements ${where} ORDER BY started_at DESC, id DESC LIMIT @recent_limit`)
    .all({ ...params, recent_limit: limit }) as { record: string }[];
  return rows.map((r) => JSON.parse(r.record) as Measurement);
}

/**
 * Verdicts with their run, oldest run first, for replaying them through the
 * change detector. Runs still 'running' are left out (their verdicts may be
 * provisional), and so are rows with `excludeReason` as their reason and the
 * runs in `excludeRunIds` (the sweep being detected on, runs already seen:
 * skipped by SQLite, not read and dropped).
 */
export function* iterateVerdictRows(db: Database, filter: VerdictRowFilter = {}): IterableIterator<VerdictRow> {
  const clauses = [`(r.status IS NULL OR r.status <> 'running')`];
  const params: Record<string, unknown> = {};
  if (filter.since) (clauses.push('m.started_at >= @since'), (params.since = filter.since));
  if (filter.excludeReason) (clauses.push('m.verdict_reason <> @reason'), (params.reason = filter.excludeReason));
  if (filter.excludeRunIds?.length) (clauses.push('m.run_id NOT IN (SELECT value FROM json_each(@excluded_runs))'), (params.excluded_runs = JSON.stringify(filter.excludeRunIds)));
  const stmt = db.prepare(`
    SELECT m.measurement_id, m.run_id, r.started_at AS run_started_at, m.target, m.url, m.probe, m.category,
           m.verdict, m.started_at, json_extract(m.record, '$.tags') AS tags
    FROM measurements m LEFT JOIN runs r ON r.run_id = m.run_id
    WHERE ${clauses.join(' AND ')}
    ORDER BY COALESCE(r.started_at, m.started_at), m.run_id, m.id`);
  for (const row of stmt.iterate(params) as Iterable<Omit<VerdictRow, 'tags'> & { tags: string | null }>) {
    yield { ...row, tags: tagList(row.tags) };
  }
}

export interface VerdictRowFilter {
  since?: string;
  excludeReason?: string;
  excludeRunIds?: readonly string[];
}

export type VerdictCell = { url: string; target: string; probe: string; verdict: string; started_at: string };

/** Just (url, probe, verdict, started_at) since a time: the cheap rows a timeline is drawn from. */
export function* iterateVerdictCells(db: Database, since: string): IterableIterator<VerdictCell> {
  yield* db.prepare(`SELECT url, target, probe, verdict, started_at FROM measurements WHERE started_at >= ?`).iterate(since) as Iterable<VerdictCell>;
}
