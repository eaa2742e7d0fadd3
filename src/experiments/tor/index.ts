// tor: Tor's OR ports (relays, directory authorities, vanilla bridges), its
// directory ports, and obfs4 bridges, each in its own protocol, beside plain
// TCP/TLS to the same host. Opt-in: see README.md in this folder.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import { torProbe } from '../../../probes/tor.js';
import type { ProbeResult } from '../../../probes/types.js';
import { longLivedOutcome, singleInput } from '../long-lived.js';
import type { Experiment } from '../types.js';
import { judgeTor } from './judge.js';
import { torOoniMapping } from './ooni.js';

const TOR_INPUT = /^(tor|tor\+dir|obfs4):\/\//;

export const torExperiment: Experiment = {
  kind: 'tor',
  summary: "Tor's OR ports (VERSIONS cell), directory ports and obfs4 bridges, beside plain TCP/TLS to the host",
  probes: [torProbe],
  // Every 6 hours with the long-lived probes: fewer handshakes with a circumvention endpoint is less exposure.
  schedule: 'long',
  circumvention: true,
  // A second handshake could meet a block the first one set off (residual censorship): one attempt.
  retried: false,
  webControl: false,
  exclusive: false,
  plan: (target, wanted) => singleInput(target, torProbe, wanted, (inputs) => inputs.find((u) => TOR_INPUT.test(u))),
  // The comparison (TCP, TLS), then TCP, TLS and the handshake: each bounded by the per-phase timeout.
  deadlineMs: (s) => Math.max(s.measurementDeadlineMs, 5 * s.probe.timeoutMs + 5000),
  needsRetry: () => false,
  outcome(attempt) {
    const d = (attempt.tor as ProbeResult<EndpointDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!d?.handshake && (d.handshake.answered || d.handshake.bytes_received > 0));
  },
  judge: (unit) => judgeTor(unit),
  ooni: torOoniMapping,
};
