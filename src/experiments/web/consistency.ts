// Is the local DNS answer the site's own? OONI's rules (webconnectivitylte
// analysisdns): the same address as the control's, or an address in the same
// autonomous system (a CDN answers each resolver with its own nearby servers),
// or an address on which TLS for the name validates, ours or the control's.
// Anything else is inconsistent; an answer for a name the control finds
// nowhere was invented.
import { normalizeIp } from '../../analysis/fingerprints.js';
import type { ControlFacts } from './control.js';
import type { WebFacts } from './facts.js';

export type ConsistencyBasis = 'address' | 'asn' | 'tls' | 'page';

export type DnsConsistency =
  | { state: 'consistent'; by: ConsistencyBasis; detail: Record<string, unknown> }
  | { state: 'inconsistent'; detail: Record<string, unknown> }
  /** We have addresses, and the control says the name does not exist. */
  | { state: 'ghost'; detail: Record<string, unknown> }
  /** Nothing to compare with (no control, no addresses, the control could not resolve). */
  | { state: 'unknown'; detail: Record<string, unknown> };

export function dnsConsistency(facts: WebFacts, control: ControlFacts | null, asnOf: ((ip: string) => number | null) | undefined): DnsConsistency {
  const ours = facts.dns.addresses;
  if (ours.length === 0) return { state: 'unknown', detail: { reason: 'no local answer' } };

  // TLS for the name on our address settles it, with or without a control.
  const validated = ours.filter((ip) => facts.tls.validatedIps.has(ip) || control?.validatesIp(ip) === true);
  if (validated.length > 0 || facts.http.httpsValidatedOnHost) {
    return { state: 'consistent', by: 'tls', detail: { validated_addresses: validated, https_fetch_validated: facts.http.httpsValidatedOnHost } };
  }
  if (!control) return { state: 'unknown', detail: { reason: 'no control' } };
  if (control.nxdomain) return { state: 'ghost', detail: { addresses: ours, control_dns_failure: control.dnsFailure } };
  if (!control.resolved) return { state: 'unknown', detail: { reason: 'the control did not resolve the name', control_dns_failure: control.dnsFailure } };

  const controlAddrs = [...control.addrs];
  const shared = ours.filter((ip) => control.addrs.has(normalizeIp(ip)));
  if (shared.length > 0) return { state: 'consistent', by: 'address', detail: { shared_addresses: shared } };

  const asn = (ip: string) => control.asnOf(ip) ?? asnOf?.(ip) ?? null;
  const ourAsns = new Set(ours.map(asn).filter((a): a is number => a !== null));
  const controlAsns = new Set(controlAddrs.map(asn).filter((a): a is number => a !== null));
  const sharedAsns = [...ourAsns].filter((a) => controlAsns.has(a));
  const detail = { addresses: ours, control_addrs: controlAddrs, asns: [...ourAsns], control_asns: [...controlAsns] };
  if (sharedAsns.length > 0) return { state: 'consistent', by: 'asn', detail: { ...detail, shared_asns: sharedAsns } };
  return { state: 'inconsistent', detail };
}

export function consistencyWord(c: DnsConsistency | null): string | null {
  if (!c || c.state === 'unknown') return null;
  return c.state === 'consistent' ? 'consistent' : 'inconsistent';
}
