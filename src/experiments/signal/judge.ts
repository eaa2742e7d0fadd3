// Signal: do its service hosts answer over HTTPS with a certificate that
// chains to Signal's own CA (or a public one)? OONI calls the backend
// blocked when any host fails; the judge names the first that does. Pure.
import type { AppFetch } from '../../../probes/app_steps.js';
import type { SignalDetails } from '../../../probes/app_signal.js';
import type { JudgeOptions, UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { appDetails, arr, fetchVerdict, stepEvidence } from '../apps.js';

/** OONI's signal keys, with OONI's meaning. */
export interface SignalStatus {
  signal_backend_status: 'ok' | 'blocked';
  signal_backend_failure: string | null;
}

export function signalStatus(details: SignalDetails | null): SignalStatus {
  const backends = arr<AppFetch>(details?.backends);
  const failure = backends.length === 0 ? 'unknown_failure: not measured' : (backends.find((b) => b.failure !== null)?.failure ?? null);
  return { signal_backend_status: failure === null ? 'ok' : 'blocked', signal_backend_failure: failure };
}

export function judgeSignal(unit: UnitObservation, options: JudgeOptions): VerdictResult {
  const details = appDetails<SignalDetails>(unit, 'signal');
  const backends = arr<AppFetch>(details?.backends);
  const answering = backends.filter((b) => b.failure === null);
  const evidence: Record<string, unknown> = { ...signalStatus(details), backends: backends.map(stepEvidence) };
  if (backends.length === 0) return { verdict: 'inconclusive', verdict_reason: 'No Signal service host was measured.', evidence };
  for (const fetch of backends) {
    const step = fetchVerdict(`Signal's service host ${hostOf(fetch.url)}`, fetch, options.fingerprints);
    if (!step) continue;
    const others = answering.length > 0 ? ` (${answering.length} of ${backends.length} hosts answer)` : ` (none of ${backends.length} hosts answers)`;
    return { verdict: step.verdict, verdict_reason: step.reason.replace(/\.$/, `${others}.`), evidence };
  }
  return { verdict: 'ok', verdict_reason: `All ${backends.length} Signal service hosts answer over HTTPS with a valid certificate.`, evidence };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
