// The telegram probe (OONI's telegram, ts-020): a plain-HTTP POST to each
// of Telegram's data centres on port 80 and on port 443 (the app's fallback
// transport speaks HTTP on both), and Telegram's web client over HTTP and
// HTTPS. Input: app://telegram.
import { endpointsOf, splitEndpoint } from './app_endpoints.js';
import { APP_STEP_CONCURRENCY, checkAppInput, connectEndpoint, fetchUrl, firstFailure, httpPostExchange, mapLimited, type AppConnect, type AppFetch } from './app_steps.js';
import { ProbeClock, warmSharedTrust } from './net.js';
import type { Probe, ProbeInput, ProbeResult } from './types.js';

export interface TelegramDetails {
  /** One per data-centre endpoint: the connect and the POST exchange on it. */
  datacenters: AppConnect[];
  /** Telegram's web client, one fetch per URL (http, then https). */
  web: AppFetch[];
}

declare module './types.js' {
  interface DetailsByKind {
    telegram: TelegramDetails;
  }
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<TelegramDetails>> {
  checkAppInput(input, 'telegram');
  const clock = new ProbeClock();
  const { datacenters, web } = endpointsOf('telegram', input.options);
  const dcs = mapLimited(datacenters, APP_STEP_CONCURRENCY, (endpoint) => {
    const { host } = splitEndpoint(endpoint);
    return connectEndpoint({ endpoint, addresses: [host], exchange: httpPostExchange(host, input.options.userAgent) }, input.options, clock, signal);
  });
  const pages = Promise.all(web.map((url) => fetchUrl(input, url, clock, signal)));
  const details: TelegramDetails = { datacenters: await dcs, web: await pages };
  // The app works when one data centre answers; otherwise the first data centre's failure decides.
  const dcFailure = details.datacenters.some((d) => d.failure === null) ? null : firstFailure(details.datacenters);
  const decisive = dcFailure ?? firstFailure(details.web);
  return clock.envelope<TelegramDetails>('telegram')(details, decisive.failure, decisive.operation);
}

export const telegramProbe: Probe<TelegramDetails> = { kind: 'telegram', run, warm: warmSharedTrust('telegram') };
