// TLS session duration: a TLS session kept busy to a horizon, beside a plain
// one to the same host, to catch sessions cut at a fixed age (Iran, 2013).
import { tlsDurationProbe } from '../../../probes/tls_duration.js';
import type { ProbeResult, TlsDurationDetails } from '../../../probes/types.js';
import { httpsInput, longLivedOutcome, singleInput } from '../long-lived.js';
import { LONG_LIMITS } from '../../control/long/request.js';
import { rasadOoniMapping } from '../long-lived-ooni.js';
import type { Experiment } from '../types.js';
import { judgeTlsDuration, prepareCuts, type CutContext } from './judge.js';

export const tlsDurationExperiment: Experiment<CutContext> = {
  kind: 'tls_duration',
  summary: 'how long a busy TLS session lives, beside a plain one (the 60-second cut)',
  probes: [tlsDurationProbe],
  schedule: 'long',
  retried: false,
  webControl: false,
  exclusive: false,
  // A TLS session needs a TLS endpoint: the https input, or a bare endpoint.
  plan: (target, wanted) => singleInput(target, tlsDurationProbe, wanted, (inputs) => httpsInput(inputs) ?? inputs.find((u) => u.startsWith('tcp:'))),
  deadlineMs: (s) => Math.max(s.measurementDeadlineMs, s.probe.sessionHorizonMs + 2 * s.probe.timeoutMs + 10_000),
  needsRetry: () => false,
  outcome(attempt) {
    const s = (attempt.tls_duration as ProbeResult<TlsDurationDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!s?.tls && (s.tls.bytes_received > 0 || s.tls.end !== 'connect_failed'));
  },
  longControl: {
    when: 'with_probe',
    // The same session from outside, for the same horizon (the endpoint caps it at 300 s).
    request: (_target, url, s) =>
      /^https:/i.test(url)
        ? { kind: 'tls_duration', url, horizon_ms: Math.min(s.probe.sessionHorizonMs, LONG_LIMITS.maxHorizonMs), interval_ms: Math.min(Math.max(s.probe.sessionIntervalMs, LONG_LIMITS.minIntervalMs), LONG_LIMITS.maxIntervalMs) }
        : null,
  },
  prepare: prepareCuts,
  judge: (unit, context) => judgeTlsDuration(unit, context),
  ooni: rasadOoniMapping('rasad_tls_duration'),
};
