// The openvpn experiment's verdict: the endpoint ladder on the openvpn record. Pure.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import type { ProbeResult } from '../../../probes/types.js';
import { lastAttempt, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { judgeEndpoint } from '../tor/endpoint-judge.js';

export function judgeOpenVpn(unit: UnitObservation): VerdictResult {
  return judgeEndpoint(lastAttempt(unit).openvpn as ProbeResult<EndpointDetails> | undefined);
}
