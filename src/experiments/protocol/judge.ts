// The protocol filter (Iran, 2020): on ports 53, 80 and 443 a flow whose
// first packets are neither DNS, HTTP nor TLS has its later packets dropped.
// A junk-first flow that goes silent beside a valid-first flow that passes is
// the filter; a server that closes on junk is only strict. Pure.
import type { ProbeResult, ProtocolDetails, ProtocolFlowResult } from '../../../probes/types.js';
import { lastAttempt, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';

export function judgeProtocol(unit: UnitObservation): VerdictResult {
  const result = lastAttempt(unit).protocol as ProbeResult<ProtocolDetails> | undefined;
  const flows = Array.isArray(result?.details?.flows) ? result.details.flows.filter(Boolean) : [];
  const evidence: Record<string, unknown> = { flows: flows.map(flowEvidence), failure: result?.failure ?? null };
  if (flows.length === 0) return { verdict: 'inconclusive', verdict_reason: 'No protocol flow was recorded for this input.', evidence };
  const ports = [...new Set(flows.map((f) => f.port))];
  const filtered: number[] = [];
  const compared: number[] = [];
  const strict: number[] = [];
  for (const port of ports) {
    const valid = flows.filter((f) => f.port === port && f.kind === 'valid_first');
    const junk = flows.filter((f) => f.port === port && f.kind === 'junk_first');
    if (!valid.some((f) => f.later_data_flows) || junk.length === 0) continue;
    // A server that rejects junk closes the connection itself (EOF or reset): that is a strict
    // server, and it hides whether a filter is there. A filter leaves the flow silent instead.
    if (junk.some(closedByPeer)) {
      strict.push(port);
      continue;
    }
    compared.push(port);
    if (junk.every((f) => !f.later_data_flows && !connectFailed(f))) filtered.push(port);
  }
  evidence.ports_compared = compared;
  if (strict.length > 0) evidence.strict_server_ports = strict;
  if (filtered.length > 0) {
    evidence.filtered_ports = filtered;
    return {
      verdict: 'protocol.filtered',
      verdict_reason: `On port${filtered.length > 1 ? 's' : ''} ${filtered.join(', ')}, data after a junk first packet is dropped while the same flow after a valid first packet passes.`,
      evidence,
    };
  }
  if (compared.length > 0) {
    return { verdict: 'ok', verdict_reason: `Junk-first and valid-first flows both pass on port${compared.length > 1 ? 's' : ''} ${compared.join(', ')}.`, evidence };
  }
  const allFailed = flows.every(connectFailed);
  return {
    verdict: 'inconclusive',
    verdict_reason: allFailed
      ? `No flow could connect (${result?.failure ?? flows[0]!.failure}); reachability is the web probes' to judge.`
      : strict.length > 0
        ? `The server closed the junk-first flow itself on port${strict.length > 1 ? 's' : ''} ${strict.join(', ')}, which hides whether a filter drops it; an echo endpoint can tell.`
        : 'The valid-first flow did not pass either, so there is nothing to compare the junk-first flow with.',
    evidence,
  };
}

function closedByPeer(f: ProtocolFlowResult): boolean {
  return !f.later_data_flows && (f.failure === 'eof_error' || f.failure === 'connection_reset') && f.bytes_sent > 0;
}

function connectFailed(f: ProtocolFlowResult): boolean {
  return f.failure !== null && f.bytes_sent === 0 && f.bytes_received === 0;
}

function flowEvidence(f: ProtocolFlowResult) {
  return { kind: f.kind, port: f.port, failure: f.failure, later_data_flows: f.later_data_flows, bytes_sent: f.bytes_sent, bytes_received: f.bytes_received };
}
