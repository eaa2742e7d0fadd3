// The change detector's state in the store: the whole state as one JSON
// snapshot (what a restart resumes from) and one target_states row per input
// URL (what `rasad status` and the dashboard read). Also the rebuild: replay
// of stored verdicts when no snapshot exists, and catch-up of runs a crash
// left unprocessed.
import { replay, streamObservations, type DetectOptions, type DetectorState, type InputState, type SweepObservation, UNIT_KINDS } from '../analysis/changes.js';
import type { Store, TargetStateRow } from '../store/store.js';
import { PROVISIONAL_REASON } from '../sweep/run.js';

/** How far back a rebuild without a snapshot replays. */
export const REBUILD_WINDOW_DAYS = 14;
/** How far before the snapshot's last sweep a catch-up looks for unprocessed runs (schedules overlap). */
const CATCH_UP_LOOKBACK_MS = 24 * 3600_000;

/** The saved state, or null when there is none or it is unreadable. */
export function loadDetectorState(store: Store): DetectorState | null {
  const snapshot = store.loadDetectorSnapshot();
  if (!snapshot) return null;
  try {
    const state = JSON.parse(snapshot.state) as DetectorState;
    return state && state.version === 1 && typeof state.inputs === 'object' ? state : null;
  } catch {
    return null;
  }
}

export function saveDetectorState(store: Store, state: DetectorState, updatedAt: string): void {
  store.saveDetectorState({ state: JSON.stringify(state), run_id: state.last_run_id, updated_at: updatedAt }, targetStateRows(state, updatedAt));
}

/**
 * One row per input URL. Its state is the first confirmed blocking verdict
 * among its kinds (web first), else ok, else 'pending'; `detector` holds each
 * kind's confirmed state, last verdict and pending streak.
 */
export function targetStateRows(state: DetectorState, updatedAt: string): TargetStateRow[] {
  const byUrl = new Map<string, InputState[]>();
  for (const input of Object.values(state.inputs)) {
    const list = byUrl.get(input.url);
    if (list) list.push(input);
    else byUrl.set(input.url, [input]);
  }
  const rows: TargetStateRow[] = [];
  for (const [url, inputs] of byUrl) {
    inputs.sort((a, b) => UNIT_KINDS.indexOf(a.kind) - UNIT_KINDS.indexOf(b.kind));
    const blocked = inputs.find((i) => i.confirmed !== null && i.confirmed !== 'ok');
    const ok = inputs.find((i) => i.confirmed === 'ok');
    const lead = blocked ?? ok ?? inputs[0];
    const since = (blocked ?? ok)?.confirmed_since ?? lead.streak?.since ?? lead.last_at ?? updatedAt;
    rows.push({
      url,
      target: lead.target,
      category: inputs.find((i) => i.category)?.category ?? null,
      state: blocked?.confirmed ?? ok?.confirmed ?? 'pending',
      since,
      updated_at: updatedAt,
      detector: {
        tags: lead.tags,
        kinds: Object.fromEntries(
          inputs.map((i) => [
            i.kind,
            {
              confirmed: i.confirmed,
              since: i.confirmed_since,
              last_verdict: i.last_verdict,
              last_at: i.last_at,
              pending: i.streak ? { verdict: i.streak.value, count: i.streak.count, since: i.streak.since } : null,
            },
          ]),
        ),
      },
    });
  }
  return rows;
}

/** Sweeps stored since `sinceIso` that the detector has not seen, oldest first (runs still running are left out), one at a time. */
export function* storedObservations(store: Store, sinceIso: string, skip: { runIds: Iterable<string> }): IterableIterator<SweepObservation> {
  yield* streamObservations(store.iterateVerdictRows({ since: sinceIso, excludeReason: PROVISIONAL_REASON, excludeRunIds: [...skip.runIds] }));
}

/** A state from the stored verdicts of the last REBUILD_WINDOW_DAYS; the events it finds are returned for storing, not alerting. */
export function rebuildDetectorState(store: Store, opts: DetectOptions, now: Date, excludeRunId?: string): ReturnType<typeof replay> {
  const since = new Date(now.getTime() - REBUILD_WINDOW_DAYS * 86400_000).toISOString();
  return replay(storedObservations(store, since, { runIds: excludeRunId ? [excludeRunId] : [] }), opts);
}

/** Runs stored after the snapshot that it never saw (the daemon died between storing a sweep and detecting on it). */
export function missedObservations(store: Store, state: DetectorState, excludeRunId?: string): SweepObservation[] {
  if (!state.last_at) return [];
  const last = Date.parse(state.last_at);
  if (Number.isNaN(last)) return [];
  const since = new Date(last - CATCH_UP_LOOKBACK_MS).toISOString();
  // Read fully before any is applied: applying writes to the tables being read.
  return [...storedObservations(store, since, { runIds: [...state.processed_runs, ...(excludeRunId ? [excludeRunId] : [])] })];
}
