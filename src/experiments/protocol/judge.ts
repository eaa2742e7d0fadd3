// The protocol filter (Iran, 2020): on ports 53, 80 and 443 a flow whose
// first packets are neither DNS, HTTP nor TLS has its later packets dropped.
// A junk-first flow that goes silent beside a valid-first flow that passes is
// what the filter looks like; but one server that stays silent on junk looks
// the same. So the verdict needs corroboration: the long-lived control's
// junk-first flow to the same endpoint flows from outside, or at least two
// endpoints of the sweep agree. A server that closes on junk is only strict.
// Pure: no I/O, no clock.
import type { ProbeResult, ProtocolDetails, ProtocolFlowResult } from '../../../probes/types.js';
import { lastAttempt, type JudgeOptions, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { positiveOr } from '../stats.js';

/** Endpoints that must agree when no long-lived control answers. */
export const DEFAULT_MIN_FILTER_ENDPOINTS = 2;

interface PortReading {
  filtered: number[];
  compared: number[];
  strict: number[];
}

export interface FilterContext {
  /** Hosts (addresses) with a port whose junk-first flow went silent while the valid-first one passed, over the sweep. Two ports of one server are one server. */
  silentEndpoints: Set<string>;
  minEndpoints: number;
}

function flowsOf(result: ProbeResult<ProtocolDetails> | null | undefined): ProtocolFlowResult[] {
  return Array.isArray(result?.details?.flows) ? result.details.flows.filter(Boolean) : [];
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

function readPorts(flows: ProtocolFlowResult[]): PortReading {
  const out: PortReading = { filtered: [], compared: [], strict: [] };
  for (const port of [...new Set(flows.map((f) => f.port))]) {
    const valid = flows.filter((f) => f.port === port && f.kind === 'valid_first');
    const junk = flows.filter((f) => f.port === port && f.kind === 'junk_first');
    if (!valid.some((f) => f.later_data_flows) || junk.length === 0) continue;
    // A server that rejects junk closes the connection itself (EOF or reset): that is a strict
    // server, and it hides whether a filter is there. A filter leaves the flow silent instead.
    if (junk.some(closedByPeer)) {
      out.strict.push(port);
      continue;
    }
    out.compared.push(port);
    if (junk.every((f) => !f.later_data_flows && !connectFailed(f))) out.filtered.push(port);
  }
  return out;
}

export function prepareFilter(units: readonly UnitObservation[], options: JudgeOptions & { minFilterEndpoints?: number }): FilterContext {
  const silentEndpoints = new Set<string>();
  for (const unit of units) {
    if (!unit || unit.kind !== 'protocol') continue;
    const result = lastAttempt(unit).protocol as ProbeResult<ProtocolDetails> | undefined;
    if (readPorts(flowsOf(result)).filtered.length > 0) silentEndpoints.add(result?.details?.ip ?? unit.url);
  }
  return { silentEndpoints, minEndpoints: Math.max(1, Math.floor(positiveOr(options.minFilterEndpoints, DEFAULT_MIN_FILTER_ENDPOINTS))) };
}

export function judgeProtocol(unit: UnitObservation, context: FilterContext): VerdictResult {
  const result = lastAttempt(unit).protocol as ProbeResult<ProtocolDetails> | undefined;
  const flows = flowsOf(result);
  const evidence: Record<string, unknown> = { flows: flows.map(flowEvidence), failure: result?.failure ?? null };
  if (flows.length === 0) return { verdict: 'inconclusive', verdict_reason: 'No protocol flow was recorded for this input.', evidence };
  const { filtered, compared, strict } = readPorts(flows);
  evidence.ports_compared = compared;
  if (strict.length > 0) evidence.strict_server_ports = strict;
  if (filtered.length > 0) {
    evidence.filtered_ports = filtered;
    const ports = `port${filtered.length > 1 ? 's' : ''} ${filtered.join(', ')}`;
    // The control's junk-first flow to the same endpoint, from outside.
    const controlFlows = flowsOf(unit.longControl?.result as ProbeResult<ProtocolDetails> | null | undefined);
    const controlJunk = controlFlows.filter((f) => f.kind === 'junk_first' && filtered.includes(f.port));
    evidence.long_control = unit.longControl?.result ? { helper: unit.longControl.helper, junk_flows: controlJunk.map(flowEvidence) } : 'no long-lived control';
    if (controlJunk.length > 0) {
      if (controlJunk.every((f) => f.later_data_flows)) {
        return {
          verdict: 'protocol.filtered',
          verdict_reason: `On ${ports}, data after a junk first packet is dropped here while the same flow after a valid first packet passes, and the control's junk-first flow to the same endpoint flows from outside.`,
          evidence,
        };
      }
      return {
        verdict: 'inconclusive',
        verdict_reason: `The junk-first flow on ${ports} goes silent here, but from outside too: the server is silent on junk, no filter is shown.`,
        evidence,
      };
    }
    const agreeing = [...context.silentEndpoints];
    evidence.endpoints_agreeing = agreeing.length;
    if (agreeing.length >= context.minEndpoints) {
      return {
        verdict: 'protocol.filtered',
        verdict_reason: `On ${ports}, data after a junk first packet is dropped while the same flow after a valid first packet passes, and ${agreeing.length} servers of this sweep agree (no long-lived control).`,
        evidence,
      };
    }
    return {
      verdict: 'inconclusive',
      verdict_reason: `The junk-first flow on ${ports} goes silent while the valid one passes, but only this endpoint shows it and no long-lived control answered: one server silent on junk is not a filter.`,
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
