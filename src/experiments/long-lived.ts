// What the three long-lived experiments share: one probe per unit, no
// retries, no web control, and an outcome that counts data received as
// proof the network worked.
import type { Probe, ProbeKind, Target } from '../../probes/types.js';
import { attemptRecords, type AttemptResults } from '../analysis/observation.js';
import type { AttemptOutcome, PlannedInput } from './types.js';

/** The input a long-lived probe measures on a target, or undefined when it has none it can use. */
export function singleInput(target: Target, probe: Probe, wanted: ReadonlySet<ProbeKind>, pick: (inputs: string[]) => string | undefined): PlannedInput[] {
  if (!wanted.has(probe.kind)) return [];
  const url = pick(target.inputs);
  return url ? [{ url, probes: [probe.kind] }] : [];
}

export function longLivedOutcome(attempt: AttemptResults, gotData: boolean): AttemptOutcome {
  const records = attemptRecords(attempt);
  const failures = records.map((r) => r.failure).filter((f): f is string => typeof f === 'string');
  return { failed: records.length > 0 && records.every((r) => r.failure !== null) && !gotData, failures };
}

export const httpsInput = (inputs: string[]) => inputs.find((u) => u.startsWith('https:'));
export const webInput = (inputs: string[]) => httpsInput(inputs) ?? inputs.find((u) => u.startsWith('http:'));
