// Which units a sweep measures: the web probes of each input URL, and the
// long-lived probes of the inputs they make sense for.
import { LONG_PROBES, WEB_PROBES, type ProbeKind, type Target } from '../../probes/types.js';

export type UnitKind = 'web' | 'tls_duration' | 'throughput' | 'protocol';

export interface PlannedUnit {
  kind: UnitKind;
  target: Target;
  url: string;
  /** The host used for the per-host concurrency cap. */
  host: string;
  /** For web units: the web probes to run, in order. */
  probes: ProbeKind[];
}

export function hostOf(input: string): string {
  return new URL(input).hostname.replace(/^\[|\]$/g, '');
}

/**
 * Plans the units of one sweep. Web units: one per input, with the requested
 * web probes (TLS only where there is TLS to test). Long-lived units: a
 * session and a protocol test per host, a download per target.
 */
export function planSweep(targets: Target[], probes: readonly ProbeKind[]): PlannedUnit[] {
  const wanted = new Set(probes);
  const units: PlannedUnit[] = [];
  for (const target of targets) {
    for (const url of target.inputs) {
      const scheme = new URL(url).protocol;
      const webProbes = WEB_PROBES.filter((p) => wanted.has(p)).filter((p) => {
        if (p === 'tls') return scheme === 'https:' || (scheme === 'tcp:' && new URL(url).port === '443');
        if (p === 'http') return scheme === 'http:' || scheme === 'https:';
        return true;
      });
      if (webProbes.length > 0) units.push({ kind: 'web', target, url, host: hostOf(url), probes: webProbes });
    }
    const https = target.inputs.find((u) => u.startsWith('https:'));
    const web = https ?? target.inputs.find((u) => u.startsWith('http:'));
    const first = target.inputs[0];
    for (const kind of LONG_PROBES) {
      if (!wanted.has(kind)) continue;
      // A TLS session needs a TLS endpoint; a download needs HTTP; the protocol filter test needs only a host.
      const url = kind === 'tls_duration' ? (https ?? (first?.startsWith('tcp:') ? first : undefined)) : kind === 'throughput' ? web : first;
      if (url) units.push({ kind: kind as UnitKind, target, url, host: hostOf(url), probes: [kind] });
    }
  }
  return units;
}
