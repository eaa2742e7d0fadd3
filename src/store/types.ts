// Row shapes and filters of the store's tables, shared by its modules and by
// the callers of Store.

/**
 * A run's status. 'partial': the sweep finished but some of its measurements
 * could not be stored; 'failed': none could be (or the sweep stopped on a
 * store error). Both mean data was lost, and a `once` must exit non-zero.
 */
export type RunStatus = 'running' | 'complete' | 'partial' | 'interrupted' | 'failed';

export interface RunRow {
  run_id: string;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
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
  /** Read only: no lock, no migration, no pragma that writes; the file must exist. */
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

/** Rows an export or a reader skipped because their stored JSON could not be read. */
export interface UnreadableRows {
  count: number;
}
