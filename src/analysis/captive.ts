// A captive network: every name the sweep looked up, the domestic canaries
// included, resolves to one and the same private address, or every
// plain-HTTP fetch lands on one login page. A hotel or café
// Wi-Fi login, a mobile operator's "your data package is used up" page and a
// router that hijacks DNS all do this. Judged target by target, each of those
// answers is a bogon the control does not resolve (and a captive network lets
// no control through), so every target would be called dns.injected and
// alerted as blocked. A censor does not answer for the whole list, and never
// for the domestic canaries; the addresses censors are known to inject
// (10.10.34.34 ...) and fingerprinted ones stay the censor's.
// Pure: facts in, a verdict or null out.
import { isBogon, isKnownInjectionAddress } from '../../probes/bogons.js';
import type { VerdictResult } from '../model.js';
import { normalizeIp, type Fingerprints } from './fingerprints.js';

/** Share of the other names that must resolve to the captive address (all domestic canaries must). */
export const CAPTIVE_SHARE = 0.8;
/** Without domestic canaries the list's own names are the only witnesses: more of them, and a larger share. */
export const CAPTIVE_SHARE_WITHOUT_CANARIES = 0.9;
export const CAPTIVE_MIN_NAMES_WITHOUT_CANARIES = 5;
/** Host names listed in the evidence. */
const SAMPLE = 10;

/** What the rule needs of one unit: the name it looked up, what the local resolvers answered, where its plain-HTTP fetches ended. */
export interface NameAnswer {
  host: string;
  domestic: boolean;
  /** Every address the local resolvers (system, UDP) answered in any attempt; empty when none answered. */
  addresses: readonly string[];
  /** Addresses where a TLS handshake validated a certificate for the name (a portal cannot): the name is the site's own there. */
  validated?: readonly string[];
  /** Where each attempt's plain-HTTP fetch ended (`host:<redirected to>` or `body:<sha256>`); empty for https:// or no response. */
  landings?: readonly string[];
}

/** Other names fetched over plain HTTP that must witness a portal's page (with every domestic canary). */
export const CAPTIVE_MIN_HTTP_NAMES = 3;

/**
 * network.captive for the sweep, or null: the local resolvers answer every
 * name with the portal's address, or (DNS left alone) a proxy sends every
 * plain-HTTP fetch to the portal's page.
 */
export function detectCaptive(answers: readonly NameAnswer[], fingerprints: Pick<Fingerprints, 'matchDnsAddress'> | null): VerdictResult | null {
  return captiveByDns(answers, fingerprints) ?? captiveByHttp(answers);
}

/**
 * By DNS. Each host name counts once (a name's http:// and https:// units
 * are one witness). A name is captured when it got only private addresses,
 * the portal's among them, and no certificate for it validated on any.
 */
function captiveByDns(answers: readonly NameAnswer[], fingerprints: Pick<Fingerprints, 'matchDnsAddress'> | null): VerdictResult | null {
  const names = byName(answers, (a) => a.addresses.map(normalizeIp));
  if (names.size === 0) return null;
  // A certificate that validated for the name on an address: the site's own (an intranet, a test bed), not a portal's.
  const ownAddress = byName(answers, (a) => (a.validated ?? []).map(normalizeIp));
  const served = (host: string) => (ownAddress.get(host)?.values.size ?? 0) > 0;

  // A name answered only with private addresses (a portal may answer AAAA with a private IPv6 address
  // beside its IPv4 one) votes for each of them; the address with the most votes is the portal's.
  const onlyPrivate = (addresses: Set<string>) => [...addresses].every((ip) => portalCandidate(ip, fingerprints));
  const votes = new Map<string, number>();
  for (const [host, { values: addresses }] of names) {
    if (served(host) || !onlyPrivate(addresses)) continue;
    for (const ip of addresses) votes.set(ip, (votes.get(ip) ?? 0) + 1);
  }
  let portal: string | null = null;
  for (const [ip, count] of votes) if (portal === null || count > votes.get(portal)!) portal = ip;
  if (portal === null) return null;

  const captured = (host: string, entry: Named) => entry.values.has(portal!) && onlyPrivate(entry.values) && !served(host);
  const domestic = [...names.entries()].filter(([, e]) => e.domestic);
  const others = [...names.entries()].filter(([, e]) => !e.domestic);
  const capturedOthers = others.filter(([host, e]) => captured(host, e));
  const capturedDomestic = domestic.filter(([host, e]) => captured(host, e));
  const share = others.length > 0 ? capturedOthers.length / others.length : 1;
  const evidence = {
    captive_address: portal,
    names_answered: names.size,
    names_captured: capturedOthers.length + capturedDomestic.length,
    domestic_names: domestic.length,
    domestic_captured: capturedDomestic.length,
    other_names: others.length,
    other_captured: capturedOthers.length,
    other_captured_share: Math.round(share * 1000) / 1000,
    captured_sample: [...capturedDomestic, ...capturedOthers].slice(0, SAMPLE).map(([host]) => host),
    not_captured_sample: [...names.entries()]
      .filter(([host, e]) => !captured(host, e))
      .slice(0, SAMPLE)
      .map(([host, e]) => ({ host, addresses: [...e.values], validated_on: [...(ownAddress.get(host)?.values ?? [])] })),
  };

  if (domestic.length > 0) {
    // A censor never answers for the domestic canaries: all of them captured is the network's doing.
    if (capturedDomestic.length < domestic.length || others.length === 0 || share < CAPTIVE_SHARE) return null;
  } else if (names.size < CAPTIVE_MIN_NAMES_WITHOUT_CANARIES || share < CAPTIVE_SHARE_WITHOUT_CANARIES) {
    return null;
  }
  const canaries = domestic.length > 0 ? `, all ${domestic.length} domestic canar${domestic.length === 1 ? 'y' : 'ies'} included` : '';
  return {
    verdict: 'network.captive',
    verdict_reason:
      `The probe's own network answers ${evidence.names_captured} of ${names.size} names${canaries}, with the same private address ${portal}: ` +
      'a captive portal (a Wi-Fi login, a mobile operator\'s payment page) or a resolver that hijacks every name. Nothing is blamed on the targets.',
    evidence,
  };
}

/**
 * By HTTP, for a portal that leaves DNS alone and intercepts port 80: every
 * domestic canary (at least one) and 80 % of at least three other names,
 * fetched over plain HTTP, end on the same page (redirected to one host, or
 * one identical body). A censor's blockpage is the same for every blocked
 * name too, but a censor never serves it for the domestic canaries and the
 * names it does not block; without a canary this rule says nothing. A name
 * with an attempt that ended elsewhere (its own page) is not captured.
 */
function captiveByHttp(answers: readonly NameAnswer[]): VerdictResult | null {
  const names = byName(answers, (a) => a.landings ?? []);
  const domestic = [...names.entries()].filter(([, e]) => e.domestic);
  const others = [...names.entries()].filter(([, e]) => !e.domestic);
  if (domestic.length === 0 || others.length < CAPTIVE_MIN_HTTP_NAMES) return null;
  // The portal's page: the one every domestic canary ended on alone.
  const first = domestic[0]![1].values;
  if (first.size !== 1) return null;
  const [page] = first;
  const captured = (e: Named) => e.values.size === 1 && e.values.has(page!);
  if (!domestic.every(([, e]) => captured(e))) return null;
  const capturedOthers = others.filter(([, e]) => captured(e));
  const share = capturedOthers.length / others.length;
  if (share < CAPTIVE_SHARE) return null;
  const where = page!.startsWith('host:') ? `are redirected to ${page!.slice(5)}` : 'get the same page, byte for byte';
  return {
    verdict: 'network.captive',
    verdict_reason:
      `Fetched over plain HTTP, all ${domestic.length} domestic canar${domestic.length === 1 ? 'y' : 'ies'} and ${capturedOthers.length} of ${others.length} other names ${where}: ` +
      'a captive portal (a Wi-Fi login, a mobile operator\'s payment page) answers for every site. Nothing is blamed on the targets.',
    evidence: {
      captive_landing: page,
      http_names: names.size,
      domestic_names: domestic.length,
      domestic_captured: domestic.length,
      other_names: others.length,
      other_captured: capturedOthers.length,
      other_captured_share: Math.round(share * 1000) / 1000,
      captured_sample: [...domestic, ...capturedOthers].slice(0, SAMPLE).map(([host]) => host),
      not_captured_sample: others.filter(([, e]) => !captured(e)).slice(0, SAMPLE).map(([host, e]) => ({ host, landings: [...e.values] })),
    },
  };
}

interface Named {
  domestic: boolean;
  values: Set<string>;
}

/** One entry per host name (a name's http:// and https:// units are one witness), with the values `pick` gives of its units; names with none are left out. */
function byName(answers: readonly NameAnswer[], pick: (a: NameAnswer) => readonly string[]): Map<string, Named> {
  const names = new Map<string, Named>();
  for (const a of answers) {
    const values = pick(a);
    if (values.length === 0) continue;
    const host = a.host.toLowerCase();
    const entry = names.get(host) ?? { domestic: false, values: new Set<string>() };
    entry.domestic ||= a.domestic;
    for (const v of values) entry.values.add(v);
    names.set(host, entry);
  }
  return names;
}

/** A private address no censor is known to inject: what a portal or a hijacking resolver answers. */
function portalCandidate(ip: string, fingerprints: Pick<Fingerprints, 'matchDnsAddress'> | null): boolean {
  if (!isBogon(ip) || isKnownInjectionAddress(ip)) return false;
  return !fingerprints || fingerprints.matchDnsAddress(ip) === null;
}
