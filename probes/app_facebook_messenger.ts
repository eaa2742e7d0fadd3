// The facebook_messenger probe (OONI's facebook_messenger, ts-019): each of
// the hosts the Messenger app talks to is resolved over UDP (A and AAAA, the
// raw client that sees every answer, including an injected one ahead of the
// real one), then connected to on TCP 443 at the addresses the first answers
// gave, as the app would. Whether those addresses are Facebook's (AS32934)
// is the judge's to say: the probe only records them.
// Input: app://facebook_messenger.
import { endpointsOf, type FacebookService } from './app_endpoints.js';
import { APP_STEP_CONCURRENCY, checkAppInput, connectEndpoint, firstFailure, mapLimited, type AppConnect } from './app_steps.js';
import { udpResolution, udpServerFor } from './dns.js';
import { unknownFailure } from './failure.js';
import { ProbeClock } from './net.js';
import type { DnsResolution, Failure, Probe, ProbeInput, ProbeResult } from './types.js';

export interface FacebookServiceResult {
  /** OONI's name of the service (b_api, edge, stun, ...). */
  key: string;
  hostname: string;
  /** The A and AAAA queries, every response recorded. */
  resolutions: DnsResolution[];
  /** Distinct addresses of the first response of each query: what the app would connect to. */
  addresses: string[];
  /** The TCP connect on the service's port; null for a service measured by DNS only (STUN). */
  connect: AppConnect | null;
}

export interface FacebookMessengerDetails {
  services: FacebookServiceResult[];
}

declare module './types.js' {
  interface DetailsByKind {
    facebook_messenger: FacebookMessengerDetails;
  }
}

async function measureService(service: FacebookService, input: ProbeInput, clock: ProbeClock, signal: AbortSignal): Promise<FacebookServiceResult> {
  const { options } = input;
  const udp = await udpServerFor(options);
  const resolutions = await Promise.all(
    (['A', 'AAAA'] as const).map((type) =>
      udp.server
        ? udpResolution({ host: service.hostname, type, server: udp.server, label: udp.label, clock, timeoutMs: options.timeoutMs, listenWindowMs: options.dnsListenWindowMs, signal })
        : Promise.resolve(noResolver(service.hostname, type, udp.label, udp.problem, clock)),
    ),
  );
  const addresses = [...new Set(resolutions.flatMap((r) => r.answers.filter((a) => a.type !== 'CNAME').map((a) => a.value)))];
  let connect: AppConnect | null = null;
  if (service.port !== null && addresses.length > 0) {
    const endpoint = `${service.hostname}:${service.port}`;
    connect = await connectEndpoint({ endpoint, addresses }, options, clock, signal);
  }
  return { key: service.key, hostname: service.hostname, resolutions, addresses, connect };
}

function noResolver(host: string, type: 'A' | 'AAAA', label: string, problem: string | null, clock: ProbeClock): DnsResolution {
  const t = clock.seconds();
  const failure: Failure = unknownFailure(problem ?? 'no resolver');
  return { engine: 'udp', resolver: label, query_type: type, t0: t, t, failure, rcode: null, answers: [], responses: [], bogons: [], injection_suspected: false };
}

/** The failure of a service that decides: its resolution's when nothing resolved, else its connect's. */
export function serviceFailure(s: FacebookServiceResult): { failure: Failure; failed_operation: 'resolve' | 'connect' | null } {
  if (s.addresses.length === 0) return { failure: s.resolutions.find((r) => r.query_type === 'A')?.failure ?? s.resolutions[0]?.failure ?? null, failed_operation: 'resolve' };
  if (s.connect && s.connect.failure !== null) return { failure: s.connect.failure, failed_operation: 'connect' };
  return { failure: null, failed_operation: null };
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<FacebookMessengerDetails>> {
  checkAppInput(input, 'facebook_messenger');
  const clock = new ProbeClock();
  const { services } = endpointsOf('facebook_messenger', input.options);
  const details: FacebookMessengerDetails = { services: await mapLimited(services, APP_STEP_CONCURRENCY, (s) => measureService(s, input, clock, signal)) };
  const decisive = firstFailure(details.services.map(serviceFailure));
  return clock.envelope<FacebookMessengerDetails>('facebook_messenger')(details, decisive.failure, decisive.operation);
}

export const facebookMessengerProbe: Probe<FacebookMessengerDetails> = { kind: 'facebook_messenger', run };
