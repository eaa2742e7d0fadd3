// Facebook Messenger: do the app's hosts resolve to Facebook's own network
// (AS32934), and do they accept on TCP 443? DNS comes first: a lying
// resolver explains a failed connect. OONI flags DNS (or TCP) blocking
// when any service shows it; so does the judge. Pure: the ASN lookup comes
// in the options.
import { FACEBOOK_ASN } from '../../../probes/app_endpoints.js';
import type { FacebookMessengerDetails, FacebookServiceResult } from '../../../probes/app_facebook_messenger.js';
import { isSuspiciousAnswer } from '../../../probes/bogons.js';
import type { DnsResolution } from '../../../probes/types.js';
import type { JudgeOptions, UnitObservation } from '../../analysis/observation.js';
import type { VerdictResult } from '../../model.js';
import { appDetails, arr, verdictOfFailure } from '../apps.js';

export interface ServiceStatus {
  key: string;
  hostname: string;
  /** true: every answer is Facebook's; false: the name did not resolve, or an answer is not Facebook's; null: unknown (no ASN data). */
  dns_consistent: boolean | null;
  /** The addresses that are not Facebook's: another AS, a bogon, an injection address. */
  foreign_addresses: string[];
  /** null for a DNS-only service, or when DNS already failed. */
  reachable: boolean | null;
}

/** Whether an address is Facebook's: by its AS when known, else a bogon or injection address is not. */
function ownership(ip: string, asnOf: JudgeOptions['asnOf']): 'facebook' | 'foreign' | 'unknown' {
  const asn = asnOf?.(ip) ?? null;
  if (asn === FACEBOOK_ASN) return 'facebook';
  if (asn !== null || isSuspiciousAnswer(ip)) return 'foreign';
  return 'unknown';
}

export function serviceStatus(s: FacebookServiceResult, asnOf: JudgeOptions['asnOf']): ServiceStatus {
  const addresses = arr<string>(s.addresses);
  const owners = addresses.map((ip) => ({ ip, owner: ownership(ip, asnOf) }));
  const foreign = owners.filter((o) => o.owner === 'foreign').map((o) => o.ip);
  const dns_consistent = addresses.length === 0 || foreign.length > 0 ? false : owners.every((o) => o.owner === 'facebook') ? true : null;
  const reachable = dns_consistent === false || !s.connect ? null : s.connect.failure === null;
  return { key: s.key, hostname: s.hostname, dns_consistent, foreign_addresses: foreign, reachable };
}

/** OONI's facebook_messenger keys, with OONI's meaning (null where OONI leaves a key unset). */
export function facebookKeysOf(details: FacebookMessengerDetails | null, asnOf: JudgeOptions['asnOf']): Record<string, unknown> {
  const statuses = arr<FacebookServiceResult>(details?.services).map((s) => serviceStatus(s, asnOf));
  const keys: Record<string, unknown> = {};
  for (const st of statuses) {
    keys[`facebook_${st.key}_dns_consistent`] = st.dns_consistent;
    if (st.key !== 'stun') keys[`facebook_${st.key}_reachable`] = st.reachable;
  }
  keys.facebook_dns_blocking = statuses.some((st) => st.dns_consistent === false);
  keys.facebook_tcp_blocking = statuses.some((st) => st.reachable === false);
  return keys;
}

function firstAFailure(s: FacebookServiceResult): string {
  const rs = arr<DnsResolution>(s.resolutions);
  return (rs.find((r) => r.query_type === 'A') ?? rs[0])?.failure ?? 'dns_no_answer';
}

export function judgeFacebookMessenger(unit: UnitObservation, options: JudgeOptions): VerdictResult {
  const details = appDetails<FacebookMessengerDetails>(unit, 'facebook_messenger');
  const services = arr<FacebookServiceResult>(details?.services);
  const statuses = services.map((s) => serviceStatus(s, options.asnOf));
  const evidence: Record<string, unknown> = {
    ...facebookKeysOf(details, options.asnOf),
    services: statuses,
    injection_suspected: services.filter((s) => arr<DnsResolution>(s.resolutions).some((r) => r.injection_suspected)).map((s) => s.hostname),
    asn_known: typeof options.asnOf === 'function',
  };
  if (services.length === 0) return { verdict: 'inconclusive', verdict_reason: 'No Facebook Messenger host was measured.', evidence };

  const lying = statuses.filter((st) => st.foreign_addresses.length > 0);
  if (lying.length > 0) {
    const first = lying[0]!;
    return {
      verdict: 'dns.injected',
      verdict_reason: `${lying.length} of ${services.length} Messenger hosts resolve outside Facebook's network (AS${FACEBOOK_ASN}): ${first.hostname} to ${first.foreign_addresses.slice(0, 3).join(', ')}.`,
      evidence,
    };
  }
  const unresolved = services.filter((s) => arr<string>(s.addresses).length === 0);
  if (unresolved.length > 0) {
    const first = unresolved[0]!;
    const step = verdictOfFailure(`${first.hostname} (${unresolved.length} of ${services.length} Messenger hosts do not resolve)`, firstAFailure(first), 'resolve');
    return { verdict: step.verdict, verdict_reason: step.reason, evidence };
  }
  const unreachable = services.filter((s) => s.connect && s.connect.failure !== null);
  if (unreachable.length > 0) {
    const first = unreachable[0]!;
    const step = verdictOfFailure(`${first.hostname}:${first.connect!.port} (${unreachable.length} of ${services.filter((s) => s.connect).length} Messenger endpoints do not accept)`, first.connect!.failure!, first.connect!.failed_operation);
    return { verdict: step.verdict, verdict_reason: step.reason, evidence };
  }
  const unknown = statuses.filter((st) => st.dns_consistent === null).length;
  return {
    verdict: 'ok',
    verdict_reason:
      unknown === 0
        ? `All ${services.length} Messenger hosts resolve inside Facebook's network (AS${FACEBOOK_ASN}) and accept on TCP 443.`
        : `Every Messenger host resolves and accepts on TCP 443; the AS of ${unknown} host${unknown === 1 ? "'s answers is" : "s' answers is"} unknown to the bundled data.`,
    evidence,
  };
}
