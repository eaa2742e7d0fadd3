// What one input's state is called wherever it is shown (dashboard, /api,
// `rasad status`, /metrics), so that they agree. An input with a confirmed
// state is that state. One without is "pending" only while a change is being
// confirmed (or before it was measured at all): an input that is down on
// every sweep is never confirmed, since down says nothing about blocking, and
// it is shown as what it was last seen as.
import { isSilent } from '../analysis/change-types.js';
import type { Verdict } from '../model.js';

/** The state shown for an input (or one kind of it) from the change detector's view of it. */
export function shownState(input: { confirmed: string | null; changing: boolean; lastVerdict: string | null }): string {
  if (input.confirmed) return input.confirmed;
  if (!input.changing && input.lastVerdict && isSilent(input.lastVerdict as Verdict)) return input.lastVerdict;
  return 'pending';
}
