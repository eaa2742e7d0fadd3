// wireguard: a valid handshake initiation to a configured peer (endpoint and
// public key), and whether the handshake response arrives, beside plain
// TCP/TLS 443 to the same host. Opt-in: see README.md in this folder.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import type { ProbeResult } from '../../../probes/types.js';
import { wireguardProbe } from '../../../probes/wireguard.js';
import { longLivedOutcome, singleInput } from '../long-lived.js';
import type { Experiment } from '../types.js';
import { judgeWireGuard } from './judge.js';
import { wireguardOoniMapping } from './ooni.js';

export const wireguardExperiment: Experiment = {
  kind: 'wireguard',
  summary: 'a WireGuard handshake initiation to a configured peer, and whether the response arrives',
  probes: [wireguardProbe],
  // Every 6 hours with the long-lived probes: fewer handshakes with a circumvention endpoint is less exposure.
  schedule: 'long',
  circumvention: true,
  retried: false,
  webControl: false,
  exclusive: false,
  plan: (target, wanted) => singleInput(target, wireguardProbe, wanted, (inputs) => inputs.find((u) => u.startsWith('wireguard://'))),
  deadlineMs: (s) => Math.max(s.measurementDeadlineMs, 3 * s.probe.timeoutMs + 5000),
  needsRetry: () => false,
  outcome(attempt) {
    const d = (attempt.wireguard as ProbeResult<EndpointDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!d?.handshake && (d.handshake.answered || d.handshake.bytes_received > 0));
  },
  judge: (unit) => judgeWireGuard(unit),
  ooni: wireguardOoniMapping,
};
