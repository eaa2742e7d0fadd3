// Small helpers shared by the store's modules.
import type { Database } from 'better-sqlite3';
import type { EventFilter, MeasurementFilter } from './types.js';

export function hasColumn(db: Database, table: string, column: string): boolean {
  return db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).get(table, column) !== undefined;
}

export function hasTable(db: Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

export function parseJsonOr<T>(text: string | null | undefined, fallback: T): unknown {
  if (text === null || text === undefined) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

export function measurementWhere(filter: MeasurementFilter): { where: string; params: Record<string, unknown> } {
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

export function eventWhere(filter: EventFilter, params: Record<string, unknown> = {}): { where: string; params: Record<string, unknown> } {
  const clauses: string[] = [];
  if (filter.since) (clauses.push('at >= @since'), (params.since = filter.since));
  if (filter.until) (clauses.push('at < @until'), (params.until = filter.until));
  if (filter.target) (clauses.push('(target = @target OR url = @target)'), (params.target = filter.target));
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
