// WhatsApp: can the app reach one of its chat endpoints, its registration
// service, and does the web client load? The app needs one endpoint that
// accepts; the judge names the first thing that fails: the endpoints (all of
// them), the registration service, the web client. Pure.
import { isSuspiciousAnswer } from '../../../probes/bogons.js';
import type { AppConnect, AppFetch, AppResolution } from '../../../probes/app_steps.js';
import type { WhatsappDetails } from '../../../probes/app_whatsapp.js';
import type { JudgeOptions, UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { appDetails, arr, endpointsVerdict, fetchVerdict, stepEvidence } from '../apps.js';

/** OONI's whatsapp keys, with OONI's meaning. */
export interface WhatsappStatus {
  /** 'ok' when at least one endpoint accepted a connection. */
  whatsapp_endpoints_status: 'ok' | 'blocked';
  /** Host names none of whose ports accepted. */
  whatsapp_endpoints_blocked: string[];
  /** Host names the system resolver answered with a bogon or a fingerprinted injection address. */
  whatsapp_endpoints_dns_inconsistent: string[];
  registration_server_status: 'ok' | 'blocked';
  registration_server_failure: string | null;
  whatsapp_web_status: 'ok' | 'blocked';
  whatsapp_web_failure: string | null;
}

function fetchOf(value: unknown): AppFetch | null {
  return value && typeof value === 'object' ? (value as AppFetch) : null;
}

export function whatsappStatus(details: WhatsappDetails | null): WhatsappStatus {
  const endpoints = arr<AppConnect>(details?.endpoints);
  const hosts = [...new Set(endpoints.map((e) => e.hostname ?? e.endpoint))];
  const registration = fetchOf(details?.registration);
  const web = fetchOf(details?.web);
  const unknown = 'unknown_failure: not measured';
  return {
    whatsapp_endpoints_status: endpoints.some((e) => e.failure === null) ? 'ok' : 'blocked',
    whatsapp_endpoints_blocked: hosts.filter((h) => endpoints.filter((e) => (e.hostname ?? e.endpoint) === h).every((e) => e.failure !== null)),
    whatsapp_endpoints_dns_inconsistent: arr<AppResolution>(details?.resolutions)
      .filter((r) => r.engine !== 'pinned' && arr<string>(r.addresses).some(isSuspiciousAnswer))
      .map((r) => r.hostname),
    registration_server_status: registration?.failure === null ? 'ok' : 'blocked',
    registration_server_failure: registration ? registration.failure : unknown,
    whatsapp_web_status: web?.failure === null ? 'ok' : 'blocked',
    whatsapp_web_failure: web ? web.failure : unknown,
  };
}

export function judgeWhatsapp(unit: UnitObservation, options: JudgeOptions): VerdictResult {
  const details = appDetails<WhatsappDetails>(unit, 'whatsapp');
  const endpoints = arr<AppConnect>(details?.endpoints);
  const registration = fetchOf(details?.registration);
  const web = fetchOf(details?.web);
  const status = whatsappStatus(details);
  const accepting = endpoints.filter((e) => e.failure === null);
  const evidence: Record<string, unknown> = {
    ...status,
    endpoints_accepting: accepting.length,
    endpoints_measured: endpoints.length,
    endpoints_failing: endpoints.filter((e) => e.failure !== null).map(stepEvidence),
    registration: registration ? stepEvidence(registration) : null,
    web: web ? stepEvidence(web) : null,
  };
  if (!details) return { verdict: 'inconclusive', verdict_reason: 'No WhatsApp measurement was recorded.', evidence };
  if (endpoints.length > 0 && accepting.length === 0) {
    const injected = status.whatsapp_endpoints_dns_inconsistent;
    if (injected.length > 0) {
      return { verdict: 'dns.injected', verdict_reason: `No WhatsApp endpoint accepts, and the resolver answers ${injected.length} of their names with bogon or injection addresses (${injected.slice(0, 3).join(', ')}).`, evidence };
    }
    const step = endpointsVerdict("WhatsApp's chat endpoints", endpoints);
    return { verdict: step.verdict, verdict_reason: step.reason, evidence };
  }
  for (const [what, fetch] of [["WhatsApp's registration service", registration], ["WhatsApp's web client", web]] as const) {
    if (!fetch) continue;
    const step = fetchVerdict(`${what} at ${fetch.url}`, fetch, options.fingerprints);
    if (step) return { verdict: step.verdict, verdict_reason: step.reason, evidence };
  }
  return {
    verdict: 'ok',
    verdict_reason: `${accepting.length} of ${endpoints.length} chat endpoints accept, the registration service answers, and the web client loads.`,
    evidence,
  };
}
