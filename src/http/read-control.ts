// Whether the control (the helpers abroad that measure the same URLs) answers,
// for the dashboard, /api/targets and `rasad status`. Two sources in the
// store: the change detector's control machine (down at once when no helper
// answered a sweep, up again after K sweeps that got answers; saved with its
// state) and each run's summary (how many units asked, how many got an
// answer, the last word on each helper). Without a control nothing is asked,
// and the state is "unknown", not "up".
import type { DetectorState } from '../analysis/change-types.js';
import type { RunRow } from '../store/store.js';

export interface HelperView {
  url: string;
  up: boolean;
  failure: string | null;
}

export interface ControlView {
  /** up: a helper answers; down: none answered (verdicts that need the control are inconclusive); unknown: no sweep asked one yet (none configured). */
  state: 'up' | 'down' | 'unknown';
  /** When it went down (state down), or came back after an outage (state up); null when it never changed. */
  since: string | null;
  /** Down, but a later sweep got answers: up again once enough sweeps agree. */
  recovering: boolean;
  /** The last sweep that asked the control: how many units asked, how many got an answer. */
  last_checked: { run_id: string; at: string; asked: number; answered: number } | null;
  /** The last word on each helper asked (from that sweep, or from the detector's evidence). */
  helpers: HelperView[];
}

interface Health {
  asked: number;
  answered: number;
  helpers: HelperView[];
}

function healthOf(value: unknown): Health | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.asked !== 'number' || !(v.asked > 0) || typeof v.answered !== 'number') return null;
  const helpers = Array.isArray(v.helpers)
    ? v.helpers
        .filter((h): h is Record<string, unknown> => !!h && typeof h === 'object' && typeof (h as { url?: unknown }).url === 'string')
        .map((h) => ({ url: String(h.url), up: h.up === true, failure: typeof h.failure === 'string' ? h.failure : null }))
    : [];
  return { asked: v.asked, answered: v.answered, helpers };
}

/** The control's state from the detector state and the newest runs (newest first). */
export function readControl(state: DetectorState | null, runs: readonly RunRow[]): ControlView {
  const machine = state?.control;
  const checkedRun = runs.find((r) => healthOf(r.summary?.control));
  const checked = checkedRun ? healthOf(checkedRun.summary?.control) : null;
  const evidence = healthOf(machine?.evidence);
  const helpers = checked?.helpers ?? evidence?.helpers ?? [];
  const last_checked = checkedRun && checked ? { run_id: checkedRun.run_id, at: checkedRun.started_at, asked: checked.asked, answered: checked.answered } : null;
  if (machine?.confirmed === 'down') {
    return { state: 'down', since: machine.since, recovering: machine.streak?.value === 'up', last_checked, helpers };
  }
  // No detector state to say so (change detection never ran here): the last sweep that asked speaks for itself.
  if (!machine && checkedRun && checked && checked.answered === 0) {
    return { state: 'down', since: checkedRun.started_at, recovering: false, last_checked, helpers };
  }
  // The machine starts 'up' before anything was asked: only a sweep that asked, or a past change, says it is.
  const known = last_checked !== null || machine?.since != null || machine?.streak != null || evidence !== null;
  if (!known) return { state: 'unknown', since: null, recovering: false, last_checked: null, helpers: [] };
  return { state: 'up', since: machine?.since ?? null, recovering: false, last_checked, helpers };
}
