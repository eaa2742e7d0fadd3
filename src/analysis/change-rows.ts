// Stored verdict rows back into sweep observations, for a replay of the
// change detector (a restarted daemon without saved state, or a rebuild).
import { unitKindOfProbe } from '../experiments/registry.js';
import { inputKey, severity, toVerdict, type SweepObservation, type SweepUnit } from './change-types.js';

/** A stored verdict (one measurement), as the store gives it back for a replay. */
export interface VerdictRowLike {
  measurement_id: string;
  run_id: string;
  run_started_at?: string | null;
  started_at: string;
  target: string;
  url: string;
  probe: string;
  category?: string;
  verdict: string;
  tags: string[];
  /** The unit's probes did not reach the target (from the stored evidence), when known. */
  unit_failed?: boolean | null;
}

interface RunBuilder {
  run_id: string;
  at: string;
  units: Map<string, SweepUnit>;
}

function addRow(run: RunBuilder, row: VerdictRowLike): void {
  const kind = unitKindOfProbe(row.probe);
  if (!kind) return;
  if (!row.run_started_at && row.started_at < run.at) run.at = row.started_at;
  const key = inputKey(row.url, kind);
  const verdict = toVerdict(row.verdict);
  const unit = run.units.get(key);
  if (!unit) {
    const unit: SweepUnit = { target: row.target, url: row.url, tags: row.tags, kind, verdict, measurement_ids: [row.measurement_id], category: row.category };
    if (typeof row.unit_failed === 'boolean') unit.failed = row.unit_failed;
    run.units.set(key, unit);
  } else {
    unit.measurement_ids.push(row.measurement_id);
    // The web probes of one input share a verdict; should they not, the worst one stands.
    if (severity(verdict) > severity(unit.verdict)) unit.verdict = verdict;
  }
}

const newRun = (row: VerdictRowLike): RunBuilder => ({ run_id: row.run_id, at: row.run_started_at ?? row.started_at, units: new Map() });
const toObservation = (run: RunBuilder): SweepObservation => ({ run_id: run.run_id, at: run.at, units: [...run.units.values()] });

/**
 * Groups stored verdict rows (one per measurement, in any order) into sweep
 * observations, one per run, ordered by the run's start.
 */
export function observationsFromRows(rows: Iterable<VerdictRowLike>): SweepObservation[] {
  const runs = new Map<string, RunBuilder>();
  for (const row of rows) {
    let run = runs.get(row.run_id);
    if (!run) runs.set(row.run_id, (run = newRun(row)));
    addRow(run, row);
  }
  return [...runs.values()].map(toObservation).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/**
 * The same from rows already ordered by run (as Store.iterateVerdictRows
 * gives them): yields each run as soon as it is complete, so a replay of
 * weeks of verdicts holds one run in memory at a time.
 */
export function* streamObservations(rows: Iterable<VerdictRowLike>): IterableIterator<SweepObservation> {
  let run: RunBuilder | null = null;
  for (const row of rows) {
    if (run && row.run_id !== run.run_id) {
      if (run.units.size) yield toObservation(run);
      run = null;
    }
    run ??= newRun(row);
    addRow(run, row);
  }
  if (run?.units.size) yield toObservation(run);
}
