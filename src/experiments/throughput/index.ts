// Throughput: a bulk download, foreign against domestic, to catch throttling.
import { throughputProbe } from '../../../probes/throughput.js';
import type { ProbeResult, ThroughputDetails } from '../../../probes/types.js';
import { longLivedOutcome, singleInput, webInput } from '../long-lived.js';
import { rasadOoniMapping } from '../long-lived-ooni.js';
import type { Experiment } from '../types.js';
import { judgeThroughput, prepareBaseline, unusableDownload, type ThroughputContext } from './judge.js';
import { LONG_LIMITS } from '../../control/long/request.js';

export const throughputExperiment: Experiment<ThroughputContext> = {
  kind: 'throughput',
  summary: 'a bulk download, foreign against the domestic baseline (throttling)',
  probes: [throughputProbe],
  schedule: 'long',
  retried: false,
  webControl: false,
  // Two downloads sharing the access link measure each other, not the path.
  exclusive: true,
  plan: (target, wanted) => singleInput(target, throughputProbe, wanted, webInput),
  deadlineMs: (s) => Math.max(s.measurementDeadlineMs, s.probe.throughputMaxMs + 2 * s.probe.timeoutMs),
  needsRetry: () => false,
  outcome(attempt) {
    const t = (attempt.throughput as ProbeResult<ThroughputDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!t && typeof t.bytes === 'number' && t.bytes > 0);
  },
  longControl: {
    when: 'after_probe',
    // The resource this download chose, from outside; a domestic baseline or a download too small to judge needs none.
    request(target, _url, s, attempt) {
      const d = (attempt?.throughput as ProbeResult<ThroughputDetails> | undefined)?.details;
      if (!d || target.tags.includes('domestic') || unusableDownload(d) !== null || !/^https?:/i.test(d.url)) return null;
      return { kind: 'throughput', url: d.url, max_bytes: Math.min(s.probe.throughputBytes, LONG_LIMITS.maxThroughputBytes), max_ms: Math.min(s.probe.throughputMaxMs, LONG_LIMITS.maxThroughputMs) };
    },
  },
  prepare: prepareBaseline,
  judge: (unit, context) => judgeThroughput(unit, context),
  ooni: rasadOoniMapping('rasad_throughput'),
};
