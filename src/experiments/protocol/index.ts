// Protocol filter: a valid-first and a junk-first flow on ports 80 and 443.
import { protocolProbe } from '../../../probes/protocol.js';
import type { ProbeResult, ProtocolDetails } from '../../../probes/types.js';
import { longLivedOutcome, singleInput } from '../long-lived.js';
import { rasadOoniMapping } from '../long-lived-ooni.js';
import type { Experiment } from '../types.js';
import { judgeProtocol } from './judge.js';

export const protocolExperiment: Experiment = {
  kind: 'protocol',
  summary: 'whether a junk-first flow is dropped where a valid one passes (the protocol filter)',
  probes: [protocolProbe],
  schedule: 'long',
  retried: false,
  webControl: false,
  exclusive: false,
  // The filter test needs only a host.
  plan: (target, wanted) => singleInput(target, protocolProbe, wanted, (inputs) => inputs[0]),
  deadlineMs: (s) => s.measurementDeadlineMs,
  needsRetry: () => false,
  outcome(attempt) {
    const p = (attempt.protocol as ProbeResult<ProtocolDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!p && Array.isArray(p.flows) && p.flows.some((f) => f && f.bytes_received > 0));
  },
  judge: (unit) => judgeProtocol(unit),
  ooni: rasadOoniMapping('rasad_protocol_filter'),
};
