// Telegram: can the app reach a data centre, and does its web client load?
// The app needs one data centre that answers; the judge names the first
// thing that fails: the data centres (all of them), then the web client
// over HTTPS, then over HTTP. Pure.
import type { TelegramDetails } from '../../../probes/app_telegram.js';
import type { AppConnect, AppFetch } from '../../../probes/app_steps.js';
import type { JudgeOptions, UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { appDetails, arr, endpointsVerdict, fetchVerdict, stepEvidence } from '../apps.js';

/** OONI's telegram keys, with OONI's meaning. */
export interface TelegramStatus {
  /** No data centre answered the HTTP exchange. */
  telegram_http_blocking: boolean;
  /** No data centre answered, and every one failed at the TCP connect. */
  telegram_tcp_blocking: boolean;
  /** 'blocked' when a fetch of the web client failed. */
  telegram_web_status: 'ok' | 'blocked';
  telegram_web_failure: string | null;
}

export function telegramStatus(details: TelegramDetails | null): TelegramStatus {
  const dcs = arr<AppConnect>(details?.datacenters);
  const web = arr<AppFetch>(details?.web);
  const answered = dcs.some((d) => d.failure === null);
  const webFailure = web.find((w) => w.failure !== null)?.failure ?? null;
  return {
    telegram_http_blocking: !answered,
    telegram_tcp_blocking: !answered && dcs.every((d) => d.failed_operation === 'connect'),
    telegram_web_status: webFailure === null ? 'ok' : 'blocked',
    telegram_web_failure: webFailure,
  };
}

// The web client over HTTPS first: it is what a browser ends up on.
const byScheme = (a: AppFetch, b: AppFetch) => Number(a.url.startsWith('http:')) - Number(b.url.startsWith('http:'));

export function judgeTelegram(unit: UnitObservation, options: JudgeOptions): VerdictResult {
  const details = appDetails<TelegramDetails>(unit, 'telegram');
  const dcs = arr<AppConnect>(details?.datacenters);
  const web = arr<AppFetch>(details?.web);
  const answering = dcs.filter((d) => d.failure === null);
  const evidence: Record<string, unknown> = {
    ...telegramStatus(details),
    datacenters_answering: answering.length,
    datacenters_measured: dcs.length,
    datacenters_failing: dcs.filter((d) => d.failure !== null).map(stepEvidence),
    web: web.map(stepEvidence),
  };
  if (dcs.length === 0 && web.length === 0) return { verdict: 'inconclusive', verdict_reason: 'No Telegram endpoint was measured.', evidence };
  if (dcs.length > 0 && answering.length === 0) {
    const step = endpointsVerdict("Telegram's data centres", dcs);
    return { verdict: step.verdict, verdict_reason: step.reason, evidence };
  }
  for (const fetch of [...web].sort(byScheme)) {
    const step = fetchVerdict(`Telegram's web client at ${fetch.url}`, fetch, options.fingerprints);
    if (step) return { verdict: step.verdict, verdict_reason: step.reason, evidence };
  }
  return {
    verdict: 'ok',
    verdict_reason: `${answering.length} of ${dcs.length} data-centre endpoints answer over HTTP, and the web client loads (${web.map((w) => w.url).join(', ') || 'none measured'}).`,
    evidence,
  };
}
