// Protocol filter: a valid-first and a junk-first flow on ports 80 and 443.
import { protocolProbe } from '../../../probes/protocol.js';
import type { ProbeResult, ProtocolDetails } from '../../../probes/types.js';
import { longLivedOutcome, singleInput } from '../long-lived.js';
import { rasadOoniMapping } from '../long-lived-ooni.js';
import type { Experiment } from '../types.js';
import { judgeProtocol, prepareFilter, type FilterContext } from './judge.js';

export const protocolExperiment: Experiment<FilterContext> = {
  kind: 'protocol',
  summary: 'whether a junk-first flow is dropped where a valid one passes (the protocol filter)',
  probes: [protocolProbe],
  schedule: 'long',
  retried: false,
  webControl: false,
  exclusive: false,
  // The filter test needs only a host.
  plan: (target, wanted) => singleInput(target, protocolProbe, wanted, (inputs) => inputs.find((u) => /^(https?|tcp):/i.test(u))),
  deadlineMs: (s) => s.measurementDeadlineMs,
  needsRetry: () => false,
  outcome(attempt) {
    const p = (attempt.protocol as ProbeResult<ProtocolDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!p && Array.isArray(p.flows) && p.flows.some((f) => f && f.bytes_received > 0));
  },
  longControl: {
    when: 'after_probe',
    // Only an endpoint whose junk-first flow went silent here is worth asking about from outside.
    request(_target, _url, _s, attempt) {
      const d = (attempt?.protocol as ProbeResult<ProtocolDetails> | undefined)?.details;
      const silent = d?.ip ? d.flows.find((f) => f.kind === 'junk_first' && !f.later_data_flows && f.bytes_sent > 0 && f.failure !== 'eof_error' && f.failure !== 'connection_reset') : undefined;
      if (!d?.ip || !silent) return null;
      return { kind: 'protocol', endpoint: d.ip.includes(':') ? `[${d.ip}]:${silent.port}` : `${d.ip}:${silent.port}` };
    },
  },
  prepare: prepareFilter,
  judge: (unit, context) => judgeProtocol(unit, context),
  ooni: rasadOoniMapping('rasad_protocol_filter'),
};
