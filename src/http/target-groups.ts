// The three groups the dashboard and /api/targets show inputs in: websites,
// messaging apps and circumvention tools. Which group an input is in comes
// from the registry (the experiments that plan it, and their circumvention
// flag) and from its scheme and tags, never from a list of kinds: a new app
// or tool experiment falls into its group by itself.
import type { ProbeKind, Target } from '../../probes/types.js';
import { EXPERIMENTS, PROBE_KINDS, experimentOf } from '../experiments/registry.js';
import type { Experiment } from '../experiments/types.js';

export type TargetGroup = 'websites' | 'apps' | 'tools';

/** The groups in the order the page shows them, with their headings. */
export const TARGET_GROUPS: readonly { group: TargetGroup; label: string }[] = [
  { group: 'websites', label: 'Websites' },
  { group: 'apps', label: 'Messaging apps' },
  { group: 'tools', label: 'Circumvention tools' },
];

/** The tag of targets.txt that marks a circumvention tool (a website or endpoint of one). */
export const CIRCUMVENTION_TAG = 'circumvention';

const ALL_PROBES: ReadonlySet<ProbeKind> = new Set(PROBE_KINDS);
/** Inputs remembered at most: one per input of the targets file, which is bounded; cleared when exceeded. */
const REMEMBERED_MAX = 10_000;
const planners = new Map<string, readonly Experiment<never>[]>();

/** The experiments that measure an input: those whose plan, given a target of this input alone, picks it. */
export function experimentsOfInput(url: string): readonly Experiment<never>[] {
  const known = planners.get(url);
  if (known) return known;
  const target: Target = { raw: url, category: 'MISC', tags: [], inputs: [url] };
  const found = EXPERIMENTS.filter((e) => {
    try {
      return e.plan(target, ALL_PROBES).some((p) => p.url === url);
    } catch {
      return false; // an address no experiment would plan (a row from an older targets file)
    }
  });
  if (planners.size >= REMEMBERED_MAX) planners.clear();
  planners.set(url, found);
  return found;
}

/**
 * An input's group: a circumvention tool when it is tagged so, or an experiment flagged
 * circumvention measures it (tor://, obfs4://, openvpn+udp://, wireguard://, ...); a messaging
 * app when it is an app:// input; a website otherwise (http://, https://, tcp://).
 */
export function groupOfInput(url: string, tags: readonly string[], measuredKinds: readonly string[] = []): TargetGroup {
  if (tags.includes(CIRCUMVENTION_TAG)) return 'tools';
  if (experimentsOfInput(url).some((e) => e.circumvention)) return 'tools';
  if (measuredKinds.some((k) => experimentOf(k)?.circumvention)) return 'tools';
  if (/^app:\/\//i.test(url)) return 'apps';
  return 'websites';
}

/**
 * The unit kinds whose verdict colours an input's timeline: the web experiment's for a web
 * address (the long-lived ones only add a worse blocking verdict), else the input's own
 * experiment's (an app's, a tool's, the tcp:// probes').
 */
export function leadKindsOfInput(url: string, webKind: string): ReadonlySet<string> {
  const own = experimentsOfInput(url).map((e) => e.kind);
  return new Set(own.includes(webKind) ? [webKind] : own);
}
