// The tor experiment's verdict: the endpoint ladder of endpoint-judge.ts on the tor record. Pure.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import type { ProbeResult } from '../../../probes/types.js';
import { lastAttempt, type UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { judgeEndpoint } from './endpoint-judge.js';

export function judgeTor(unit: UnitObservation): VerdictResult {
  return judgeEndpoint(lastAttempt(unit).tor as ProbeResult<EndpointDetails> | undefined);
}
