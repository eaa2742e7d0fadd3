// Which units a sweep measures: each experiment plans its inputs of each
// target (src/experiments/registry.ts).
import type { ProbeKind, Target } from '../../probes/types.js';
import { EXPERIMENTS } from '../experiments/registry.js';

export type UnitKind = string;

export interface PlannedUnit {
  kind: UnitKind;
  target: Target;
  url: string;
  /** The host used for the per-host concurrency cap. */
  host: string;
  /** The probes to run on the input, in order. */
  probes: ProbeKind[];
}

export function hostOf(input: string): string {
  return new URL(input).hostname.replace(/^\[|\]$/g, '');
}

/** Plans the units of one sweep: for each target, each experiment's inputs with the wanted probes. */
export function planSweep(targets: Target[], probes: readonly ProbeKind[]): PlannedUnit[] {
  const wanted = new Set(probes);
  const units: PlannedUnit[] = [];
  for (const target of targets) {
    for (const experiment of EXPERIMENTS) {
      for (const input of experiment.plan(target, wanted)) {
        units.push({ kind: experiment.kind, target, url: input.url, host: hostOf(input.url), probes: input.probes });
      }
    }
  }
  return units;
}
