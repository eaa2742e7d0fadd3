// The whatsapp probe (OONI's whatsapp, ts-018): a TCP connect to each of
// WhatsApp's chat endpoints (e1..e16.whatsapp.net, ports 443 and 5222), the
// registration service over HTTPS, and WhatsApp's web client. Any HTTP
// answer counts: the question is whether the service can be reached at all.
// Input: app://whatsapp.
import { endpointsOf, splitEndpoint } from './app_endpoints.js';
import {
  APP_STEP_CONCURRENCY,
  checkAppInput,
  connectEndpoint,
  fetchUrl,
  firstFailure,
  mapLimited,
  resolveHost,
  type AppConnect,
  type AppFetch,
  type AppResolution,
} from './app_steps.js';
import { ProbeClock, warmSharedTrust } from './net.js';
import type { Probe, ProbeInput, ProbeResult } from './types.js';

export interface WhatsappDetails {
  /** One per endpoint host name, in order. */
  resolutions: AppResolution[];
  /** One per endpoint (host:port). */
  endpoints: AppConnect[];
  registration: AppFetch;
  web: AppFetch;
}

declare module './types.js' {
  interface DetailsByKind {
    whatsapp: WhatsappDetails;
  }
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<WhatsappDetails>> {
  checkAppInput(input, 'whatsapp');
  const clock = new ProbeClock();
  const { endpoints, registration, web } = endpointsOf('whatsapp', input.options);
  const fetches = Promise.all([fetchUrl(input, registration, clock, signal), fetchUrl(input, web, clock, signal)]);
  const hosts = [...new Set(endpoints.map((e) => splitEndpoint(e).host))];
  const resolutions = await mapLimited(hosts, APP_STEP_CONCURRENCY, (host) => resolveHost(host, input.options, clock, signal));
  const addressesOf = new Map(resolutions.map((r) => [r.hostname, r.addresses]));
  const connects = await mapLimited(endpoints, APP_STEP_CONCURRENCY, async (endpoint) => {
    const { host } = splitEndpoint(endpoint);
    const record = await connectEndpoint({ endpoint, addresses: addressesOf.get(host) ?? [] }, input.options, clock, signal);
    // A host that did not resolve fails with its resolver's own failure.
    const resolution = resolutions.find((r) => r.hostname === host);
    if (record.failed_operation === 'resolve' && resolution?.failure) record.failure = resolution.failure;
    return record;
  });
  const [reg, page] = await fetches;
  const details: WhatsappDetails = { resolutions, endpoints: connects, registration: reg, web: page };
  const endpointFailure = connects.some((c) => c.failure === null) ? null : firstFailure(connects);
  const decisive = endpointFailure ?? firstFailure([reg, page]);
  return clock.envelope<WhatsappDetails>('whatsapp')(details, decisive.failure, decisive.operation);
}

export const whatsappProbe: Probe<WhatsappDetails> = { kind: 'whatsapp', run, warm: warmSharedTrust('whatsapp') };
