// The one list of experiments. Every probe kind, unit kind, schedule default
// and planner choice in rasad comes from here: adding an experiment is its
// folder (and its probe module in probes/) plus one line below.
import type { Probe, ProbeKind } from '../../probes/types.js';
import { facebookMessengerExperiment } from './facebook_messenger/index.js';
import { openvpnExperiment } from './openvpn/index.js';
import { protocolExperiment } from './protocol/index.js';
import { signalExperiment } from './signal/index.js';
import { telegramExperiment } from './telegram/index.js';
import { torExperiment } from './tor/index.js';
import { throughputExperiment } from './throughput/index.js';
import { tlsDurationExperiment } from './tls_duration/index.js';
import type { Experiment, ScheduleName } from './types.js';
import { webExperiment } from './web/index.js';
import { whatsappExperiment } from './whatsapp/index.js';
import { wireguardExperiment } from './wireguard/index.js';

export const EXPERIMENTS: readonly Experiment<never>[] = [
  webExperiment,
  tlsDurationExperiment,
  throughputExperiment,
  protocolExperiment,
  telegramExperiment,
  whatsappExperiment,
  signalExperiment,
  facebookMessengerExperiment,
  torExperiment,
  openvpnExperiment,
  wireguardExperiment,
] as Experiment<never>[];

/** Every probe kind, in the order the experiments list them (a web unit's probes run in this order). */
export const PROBE_KINDS: readonly ProbeKind[] = EXPERIMENTS.flatMap((e) => e.probes.map((p) => p.kind));
/** Every unit kind: one verdict per input, kind and sweep. */
export const UNIT_KINDS: readonly string[] = EXPERIMENTS.map((e) => e.kind);

/** The probe modules by kind. */
export const PROBES: ProbeRegistry = Object.fromEntries(
  EXPERIMENTS.flatMap((e) => e.probes.map((p) => [p.kind, p])),
) as ProbeRegistry;

const byKind = new Map<string, Experiment<never>>(EXPERIMENTS.map((e) => [e.kind, e]));
const byProbe = new Map<string, Experiment<never>>(EXPERIMENTS.flatMap((e) => e.probes.map((p) => [p.kind, e] as const)));

export function experimentOf(unitKind: string): Experiment<unknown> | undefined {
  return byKind.get(unitKind) as Experiment<unknown> | undefined;
}

/** The experiment (and so the unit kind) a probe's measurements belong to. */
export function experimentOfProbe(probe: string): Experiment<unknown> | undefined {
  return byProbe.get(probe) as Experiment<unknown> | undefined;
}

export function unitKindOfProbe(probe: string): string | null {
  return byProbe.get(probe)?.kind ?? null;
}

/** The probe kinds a schedule runs by default. */
export function scheduleProbes(schedule: ScheduleName): ProbeKind[] {
  return EXPERIMENTS.filter((e) => e.schedule === schedule).flatMap((e) => e.probes.map((p) => p.kind));
}

export function isProbeKind(value: string): value is ProbeKind {
  return byProbe.has(value);
}

/** Probe modules by kind, as the sweep runs them (tests pass fakes of the same shape). */
export type ProbeRegistry = { [K in ProbeKind]: Probe };
