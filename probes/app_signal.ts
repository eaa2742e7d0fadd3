// The signal probe (OONI's signal, ts-029): an HTTPS GET to each of Signal's
// service hosts, validated against Signal's own CA (probes/app_signal_ca.ts)
// beside the usual roots, as the app does. Any HTTP answer counts; a
// certificate that chains to neither is on the record as the TLS failure.
// Input: app://signal.
import { endpointsOf } from './app_endpoints.js';
import { APP_STEP_CONCURRENCY, checkAppInput, fetchUrl, firstFailure, mapLimited, withAppTrust, type AppFetch } from './app_steps.js';
import { ProbeClock, sharedSecureContext } from './net.js';
import type { Probe, ProbeInput, ProbeOptions, ProbeResult } from './types.js';

export interface SignalDetails {
  /** One fetch per service host, in order. */
  backends: AppFetch[];
}

declare module './types.js' {
  interface DetailsByKind {
    signal: SignalDetails;
  }
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<SignalDetails>> {
  checkAppInput(input, 'signal');
  const clock = new ProbeClock();
  const { backends, caPem } = endpointsOf('signal', input.options);
  const details: SignalDetails = { backends: await mapLimited(backends, APP_STEP_CONCURRENCY, (url) => fetchUrl(input, url, clock, signal, caPem)) };
  const decisive = firstFailure(details.backends);
  return clock.envelope<SignalDetails>('signal')(details, decisive.failure, decisive.operation);
}

/** Signal's trust (the roots plus its own CA) is a secure context of its own: built before the sweep. */
function warm(options: ProbeOptions): void {
  sharedSecureContext(withAppTrust(options.extraCaPem, endpointsOf('signal', options).caPem), 'signal');
}

export const signalProbe: Probe<SignalDetails> = { kind: 'signal', run, warm };
