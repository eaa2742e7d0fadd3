// TLS session duration: a TLS session kept busy to a horizon, beside a plain
// one to the same host, to catch sessions cut at a fixed age (Iran, 2013).
import { tlsDurationProbe } from '../../../probes/tls_duration.js';
import type { ProbeResult, TlsDurationDetails } from '../../../probes/types.js';
import { httpsInput, longLivedOutcome, singleInput } from '../long-lived.js';
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
  plan: (target, wanted) => singleInput(target, tlsDurationProbe, wanted, (inputs) => httpsInput(inputs) ?? (inputs[0]?.startsWith('tcp:') ? inputs[0] : undefined)),
  deadlineMs: (s) => Math.max(s.measurementDeadlineMs, s.probe.sessionHorizonMs + 2 * s.probe.timeoutMs + 10_000),
  needsRetry: () => false,
  outcome(attempt) {
    const s = (attempt.tls_duration as ProbeResult<TlsDurationDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!s?.tls && (s.tls.bytes_received > 0 || s.tls.end !== 'connect_failed'));
  },
  prepare: prepareCuts,
  judge: (unit, context) => judgeTlsDuration(unit, context),
  ooni: rasadOoniMapping('rasad_tls_duration'),
};
