// openvpn: P_CONTROL_HARD_RESET_CLIENT_V2 over UDP or TCP to a configured
// server, and whether P_CONTROL_HARD_RESET_SERVER_V2 comes back, beside plain
// TCP/TLS 443 to the same host. Opt-in: see README.md in this folder.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import { openvpnProbe } from '../../../probes/openvpn.js';
import type { ProbeResult } from '../../../probes/types.js';
import { longLivedOutcome, singleInput } from '../long-lived.js';
import type { Experiment } from '../types.js';
import { judgeOpenVpn } from './judge.js';
import { openvpnOoniMapping } from './ooni.js';

export const openvpnExperiment: Experiment = {
  kind: 'openvpn',
  summary: "OpenVPN's hard reset over UDP and TCP, and whether the server's comes back",
  probes: [openvpnProbe],
  // Every 6 hours with the long-lived probes: fewer handshakes with a circumvention endpoint is less exposure.
  schedule: 'long',
  circumvention: true,
  retried: false,
  webControl: false,
  exclusive: false,
  plan: (target, wanted) => singleInput(target, openvpnProbe, wanted, (inputs) => inputs.find((u) => /^openvpn\+(udp|tcp):\/\//.test(u))),
  deadlineMs: (s) => Math.max(s.measurementDeadlineMs, 4 * s.probe.timeoutMs + 5000),
  needsRetry: () => false,
  outcome(attempt) {
    const d = (attempt.openvpn as ProbeResult<EndpointDetails> | undefined)?.details;
    return longLivedOutcome(attempt, !!d?.handshake && (d.handshake.answered || d.handshake.bytes_received > 0));
  },
  judge: (unit) => judgeOpenVpn(unit),
  ooni: openvpnOoniMapping,
};
