// Runs: one row per sweep. A sweep is begun before its first measurement is
// stored and settled after its last, with the status its storage earned: a
// sweep that lost measurements to the database is never 'complete'.
import type { Database } from 'better-sqlite3';
import { StoreWriteError } from './errors.js';
import type { RunRow, RunStatus } from './types.js';

/** What a sweep reports when it ends, for settleRun. */
export interface RunSettlement {
  /** The sweep was stopped (SIGINT/SIGTERM) before it finished. */
  interrupted: boolean;
  /** Measurements the sweep produced (stored or not). */
  measured: number;
  /** The sweep's own summary (duration, counts by verdict, ...); the store adds what it stored. */
  summary: Record<string, unknown>;
  finishedAt?: string;
}

/** The outcome of settleRun. A caller exits non-zero unless status is 'complete' and recorded is true. */
export interface SettledRun {
  status: RunStatus;
  measured: number;
  /** Measurements of the run actually in the database. */
  stored: number;
  /** false when the run's row could not be updated (disk full): it stays 'running' until the next start marks it 'interrupted'. */
  recorded: boolean;
  /** Why recorded is false. */
  error?: StoreWriteError;
}

/**
 * The status a run earned: 'failed' when it measured something and stored
 * nothing, 'partial' when it stored less than it measured, else
 * 'interrupted' or 'complete'. Lost data outranks an interruption.
 */
export function runStatusFor(o: { interrupted: boolean; measured: number; stored: number }): RunStatus {
  if (o.measured > 0 && o.stored === 0) return 'failed';
  if (o.stored < o.measured) return 'partial';
  return o.interrupted ? 'interrupted' : 'complete';
}

export function beginRun(db: Database, run: { run_id: string; started_at: string; probes: string[]; inputs_total: number }): void {
  db.prepare(`INSERT INTO runs (run_id, started_at, status, probes, inputs_total) VALUES (?, ?, 'running', ?, ?)`).run(
    run.run_id,
    run.started_at,
    JSON.stringify(run.probes),
    run.inputs_total,
  );
}

/**
 * Writes a run's final status and summary. On a full disk the row is tried
 * again without its summary (a smaller write, which a WAL page already
 * allocated may still take); if that fails too, StoreWriteError is thrown and
 * the row stays 'running' until markInterruptedRuns at the next start.
 */
export function finishRun(db: Database, runId: string, status: RunStatus, summary: Record<string, unknown>, finishedAt = new Date().toISOString()): void {
  try {
    db.prepare(`UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE run_id = ?`).run(status, finishedAt, JSON.stringify(summary), runId);
    return;
  } catch (first) {
    try {
      db.prepare(`UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?`).run(status, finishedAt, runId);
      return;
    } catch {
      const e = first as Error & { code?: string };
      throw new StoreWriteError(`could not mark run ${runId} ${status}: ${e.message}; it will show as interrupted after the next start`, e.code, { cause: first });
    }
  }
}

/** Counts what the run stored, decides its status (runStatusFor) and writes it with the counts in the summary. Never throws for a refused write: see SettledRun.recorded. */
export function settleRun(db: Database, runId: string, settlement: RunSettlement): SettledRun {
  const stored = (db.prepare(`SELECT count(*) AS n FROM measurements WHERE run_id = ?`).get(runId) as { n: number }).n;
  const measured = Math.max(settlement.measured, stored);
  const status = runStatusFor({ interrupted: settlement.interrupted, measured, stored });
  const summary = { ...settlement.summary, measurements_measured: measured, measurements_stored: stored };
  try {
    finishRun(db, runId, status, summary, settlement.finishedAt);
    return { status, measured, stored, recorded: true };
  } catch (err) {
    if (!(err instanceof StoreWriteError)) throw err;
    return { status, measured, stored, recorded: false, error: err };
  }
}

/** Runs left 'running' by a process that died: marked 'interrupted'. Returns how many. */
export function markInterruptedRuns(db: Database): number {
  return db
    .prepare(`UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?) WHERE status = 'running'`)
    .run(new Date().toISOString()).changes;
}

export function getRun(db: Database, runId: string): RunRow | undefined {
  const row = db.prepare(`SELECT * FROM runs WHERE run_id = ?`).get(runId) as Record<string, unknown> | undefined;
  return row ? toRunRow(row) : undefined;
}

export function listRuns(db: Database, limit = 20): RunRow[] {
  return (db.prepare(`SELECT * FROM runs ORDER BY started_at DESC LIMIT ?`).all(limit) as Record<string, unknown>[]).map(toRunRow);
}

/** The latest start time of a run containing any of these probes (for resuming a schedule). */
export function lastRunStart(db: Database, probes: string[]): string | null {
  for (const row of db.prepare(`SELECT started_at, probes FROM runs ORDER BY started_at DESC LIMIT 200`).iterate() as Iterable<{ started_at: string; probes: string }>) {
    const kinds = JSON.parse(row.probes) as string[];
    if (kinds.some((k) => probes.includes(k))) return row.started_at;
  }
  return null;
}

/** The start time of every run, by run id (an export reads it before it streams, when the connection is busy). */
export function runStartTimes(db: Database): Map<string, string> {
  const rows = db.prepare(`SELECT run_id, started_at FROM runs`).all() as { run_id: string; started_at: string }[];
  return new Map(rows.map((r) => [r.run_id, r.started_at]));
}

function toRunRow(row: Record<string, unknown>): RunRow {
  return {
    run_id: row.run_id as string,
    started_at: row.started_at as string,
    finished_at: (row.finished_at as string | null) ?? null,
    status: row.status as RunStatus,
    probes: JSON.parse(row.probes as string),
    inputs_total: row.inputs_total as number,
    summary: row.summary ? JSON.parse(row.summary as string) : null,
  };
}
