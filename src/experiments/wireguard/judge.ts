// The wireguard experiment's verdict: the endpoint ladder on the wireguard record
// (silence counts only with a known-peer key). Pure.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import type { ProbeResult } from '../../../probes/types.js';
import { lastAttempt, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { judgeEndpoint } from '../tor/endpoint-judge.js';

export function judgeWireGuard(unit: UnitObservation): VerdictResult {
  return judgeEndpoint(lastAttempt(unit).wireguard as ProbeResult<EndpointDetails> | undefined);
}
