// Change events and the change detector's saved state. The detector's
// snapshot and its per-input view (target_states) are written in one
// transaction, so the two never disagree after a crash.
import type { Database, Statement } from 'better-sqlite3';
import type { StoredEvent } from '../model.js';
import { eventWhere, hasTable, parseJsonOr } from './sql.js';
import type { DetectorSnapshot, EventFilter, TargetStateRow, UnreadableRows } from './types.js';

export class EventWriter {
  private insertStmt: Statement | null = null;

  constructor(private readonly db: Database) {}

  insert(events: StoredEvent[]): void {
    const stmt = (this.insertStmt ??= this.db.prepare(`
      INSERT OR IGNORE INTO events (event_id, kind, target, url, verdict, at, measurement_ids, details)
      VALUES (@event_id, @kind, @target, @url, @verdict, @at, @measurement_ids, @details)`));
    this.db.transaction((batch: StoredEvent[]) => {
      for (const e of batch) stmt.run({ ...e, measurement_ids: JSON.stringify(e.measurement_ids), details: JSON.stringify(e.details) });
    })(events);
  }
}

/** How many events iterateEvents(filter) yields. */
export function countEvents(db: Database, filter: EventFilter = {}): number {
  const { where, params } = eventWhere(filter);
  return (db.prepare(`SELECT count(*) AS n FROM events ${where}`).get(params) as { n: number }).n;
}

/** Streams events oldest first. With options.unreadable, a row whose JSON cannot be read is skipped and counted (else it throws). */
export function* iterateEvents(db: Database, filter: EventFilter = {}, options: { unreadable?: UnreadableRows } = {}): IterableIterator<StoredEvent> {
  const { where, params } = eventWhere(filter);
  for (const row of db.prepare(`SELECT * FROM events ${where} ORDER BY at, id`).iterate(params) as Iterable<Record<string, string>>) {
    let measurementIds: unknown;
    let details: unknown;
    try {
      measurementIds = JSON.parse(row.measurement_ids);
      details = JSON.parse(row.details);
    } catch (err) {
      if (!options.unreadable) throw err;
      options.unreadable.count++;
      continue;
    }
    yield {
      event_id: row.event_id,
      kind: row.kind as StoredEvent['kind'],
      target: row.target ?? null,
      url: row.url ?? null,
      verdict: (row.verdict ?? null) as StoredEvent['verdict'],
      at: row.at,
      measurement_ids: measurementIds as string[],
      details: details as Record<string, unknown>,
    };
  }
}

/** The newest events first, at most `limit`; a row whose JSON is damaged reads with empty ids and details. */
export function recentEvents(db: Database, limit: number, filter: EventFilter = {}): StoredEvent[] {
  const { where, params } = eventWhere(filter, { limit });
  const rows = db.prepare(`SELECT * FROM events ${where} ORDER BY at DESC, id DESC LIMIT @limit`).all(params) as Record<string, string | null>[];
  return rows.map((row) => ({
    event_id: row.event_id as string,
    kind: row.kind as StoredEvent['kind'],
    target: row.target ?? null,
    url: row.url ?? null,
    verdict: (row.verdict ?? null) as StoredEvent['verdict'],
    at: row.at as string,
    measurement_ids: parseJsonOr(row.measurement_ids, []) as string[],
    details: parseJsonOr(row.details, {}) as Record<string, unknown>,
  }));
}

/**
 * Saves the change detector's state (JSON) and the per-input view of it in
 * one transaction, so the two never disagree after a crash.
 */
export function saveDetectorState(db: Database, snapshot: DetectorSnapshot, targetStates: TargetStateRow[]): void {
  const saveSnapshot = db.prepare(`
    INSERT INTO detector_snapshot (id, state, run_id, updated_at) VALUES (1, @state, @run_id, @updated_at)
    ON CONFLICT(id) DO UPDATE SET state = excluded.state, run_id = excluded.run_id, updated_at = excluded.updated_at`);
  const upsertTarget = db.prepare(`
    INSERT INTO target_states (url, target, category, state, since, updated_at, detector)
    VALUES (@url, @target, @category, @state, @since, @updated_at, @detector)
    ON CONFLICT(url) DO UPDATE SET target = excluded.target, category = excluded.category, state = excluded.state,
      since = excluded.since, updated_at = excluded.updated_at, detector = excluded.detector`);
  db.transaction(() => {
    saveSnapshot.run(snapshot);
    for (const row of targetStates) upsertTarget.run({ ...row, detector: JSON.stringify(row.detector ?? null) });
  })();
}

/** The saved change-detector state, or undefined (never saved, or a database older than migration 2). */
export function loadDetectorSnapshot(db: Database): DetectorSnapshot | undefined {
  if (!hasTable(db, 'detector_snapshot')) return undefined;
  return db.prepare(`SELECT state, run_id, updated_at FROM detector_snapshot WHERE id = 1`).get() as DetectorSnapshot | undefined;
}

/** The current confirmed state of every input, by URL. */
export function listTargetStates(db: Database): TargetStateRow[] {
  if (!hasTable(db, 'target_states')) return [];
  const hasCategory = (db.prepare(`PRAGMA table_info(target_states)`).all() as { name: string }[]).some((c) => c.name === 'category');
  const rows = db
    .prepare(`SELECT url, target, ${hasCategory ? 'category' : 'NULL AS category'}, state, since, updated_at, detector FROM target_states ORDER BY url`)
    .all() as (Omit<TargetStateRow, 'detector'> & { detector: string | null })[];
  return rows.map((r) => ({ ...r, detector: parseJsonOr(r.detector, null) }));
}
