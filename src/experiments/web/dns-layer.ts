// The DNS layer of a web unit: injected, invented or inconsistent answers,
// and local lookups that fail where the control's succeed.
import { isKnownInjectionAddress } from '../../../probes/bogons.js';
import { FAILURE } from '../../../probes/failure.js';
import { normalizeIp } from '../../analysis/fingerprints.js';
import { compareHttp } from '../../analysis/httpdiff.js';
import { endpointKey } from './control.js';
import { inconclusive, judgement, noControl, summarizeFailures, type Judgement, type LayerContext } from './judgement.js';

const DNS_TIMEOUT = new Set<string>([FAILURE.timeout, FAILURE.dnsTemporary]);

/** The DNS layer's judgement, or null when DNS shows no blocking and the next layer decides. */
export function dnsLayer(ctx: LayerContext): Judgement | null {
  const { facts, input, control } = ctx;
  const dns = facts.dns;
  if (input.hostIsIp || !dns.ran) return null;
  const addresses = dns.addresses;

  const fingerprinted = addresses.map((ip) => ctx.fingerprints.matchDnsAddress(ip)).filter((m) => m !== null);
  const known = addresses.filter((ip) => isKnownInjectionAddress(ip));
  if (fingerprinted.length > 0 || known.length > 0) {
    const first = fingerprinted[0];
    return judgement('dns.injected', `The DNS answer holds ${first ? `${first.matched}, a known injected address (fingerprint ${first.id})` : `${known[0]}, a known injected address`}.`, {
      addresses,
      fingerprint: first?.id ?? null,
      fingerprints: fingerprinted,
      injected_addresses: [...new Set([...fingerprinted.map((m) => m.matched), ...known])],
    }, true);
  }
  // A bogon the control also resolves, or that presents a trusted
  // certificate for the name, is the site's own (an intranet).
  const bogons = dns.bogons.filter((ip) => !control?.addrs.has(ip) && !facts.tls.validatedIps.has(ip));
  if (bogons.length > 0) {
    return judgement('dns.injected', `The DNS answer holds ${bogons.join(', ')}, a bogon address the control does not resolve.`, { addresses, bogons }, true);
  }
  if (dns.injectionSuspected) {
    return judgement('dns.injected', 'Two different DNS answers arrived for one query: an on-path injector raced the real resolver.', {
      addresses,
      responses: dns.resolutions.map((r) => ({ resolver: r.resolver, engine: r.engine, responses: r.responses })),
    }, true);
  }
  if (dns.localFailure) return dnsFailure(dns.localFailure, ctx);
  if (addresses.length === 0) return null;
  return consistencyJudgement(ctx);
}

/**
 * A name the control finds nowhere, answered here: invented on the way
 * (OONI's ghost DNS blocking), unless the local resolver invents answers for
 * every name that does not exist. Then the same addresses came back this
 * sweep for a random name no blocklist holds: the site is gone (down), and
 * the resolver's rewriting is the evidence. Other addresses from such a
 * resolver prove nothing either way (inconclusive). Null when the resolver
 * answered the random name honestly (NXDOMAIN) or the sweep did not ask.
 */
function nxdomainRewriting(ctx: LayerContext): Judgement | null {
  const check = ctx.nonexistentName;
  if (!check || check.addresses.length === 0) return null;
  const addresses = ctx.facts.dns.addresses;
  const invented = new Set(check.addresses.map(normalizeIp));
  const shared = addresses.filter((ip) => invented.has(normalizeIp(ip)));
  const evidence = { addresses, control_dns_failure: ctx.control?.dnsFailure ?? null, nonexistent_name: check.name, nonexistent_name_addresses: check.addresses };
  if (shared.length > 0) {
    return judgement(
      'down',
      `The control finds no ${ctx.input.host}, and the local resolver's answer (${shared.join(', ')}) is what it also answers for ${check.name}, a random name that exists nowhere: it rewrites NXDOMAIN (a search or advertising page). The site is gone, not censored.`,
      evidence,
      false,
    );
  }
  return inconclusive(
    `The control finds no ${ctx.input.host}, and the local resolver answers ${addresses.join(', ')}; it also answers ${check.addresses.join(', ')} for ${check.name}, a random name that exists nowhere, so an answer for a missing name proves nothing here.`,
    evidence,
  );
}

function dnsFailure(failure: string, ctx: LayerContext): Judgement {
  const control = ctx.control;
  const evidence = {
    addresses: ctx.facts.dns.addresses,
    resolutions: ctx.facts.dns.resolutions.map((r) => ({ engine: r.engine, query_type: r.query_type, failure: r.failure, rcode: r.rcode, answers: (r.answers ?? []).map((a) => a?.value) })),
    dns_failure: failure,
  };
  if (failure === FAILURE.interrupted) return inconclusive('The DNS lookup was interrupted before it finished.', evidence);
  if (!control) return inconclusive(`The local DNS lookup failed (${failure}) and ${noControl(ctx)} to tell a blocked name from a dead one.`, evidence);
  const cf = control.dnsFailure;
  const addrs = [...control.addrs];
  const ev = { ...evidence, control_dns_failure: cf, control_addrs: [...control.answer.dns.addrs] };
  if (control.resolved) {
    if (failure === FAILURE.dnsNxdomain) return judgement('dns.nxdomain', `The local resolver says ${ctx.input.host} does not exist (NXDOMAIN), while the control resolves it to ${addrs.join(', ')}.`, ev, false);
    if (DNS_TIMEOUT.has(failure)) return judgement('dns.timeout', `The local DNS lookup of ${ctx.input.host} timed out (${failure}), while the control resolves it to ${addrs.join(', ')}.`, ev, false);
    return inconclusive(`The local DNS lookup failed with ${failure}, a failure rasad does not call blocking, while the control resolves the name.`, ev);
  }
  if (control.nxdomain || cf === 'dns_server_failure' || cf === FAILURE.dnsServfail || cf === FAILURE.timeout) {
    return judgement('down', `The name does not resolve from the control either (${cf}): the site is down or gone, not censored.`, ev, false);
  }
  if (cf === null) return judgement('down', 'The name has no address from the control either: the site is down or gone, not censored.', ev, false);
  return inconclusive(`The local DNS lookup failed (${failure}) and the control's lookup failed differently (${cf}).`, ev);
}

/** Our answer is judged against the control's: OONI's consistency rules, then what the later probes show. */
function consistencyJudgement(ctx: LayerContext): Judgement | null {
  const { facts, input, consistency } = ctx;
  const addresses = facts.dns.addresses;
  if (consistency.state === 'consistent' || consistency.state === 'unknown') return null;
  if (consistency.state === 'ghost') {
    const rewriting = nxdomainRewriting(ctx);
    if (rewriting) return rewriting;
    return judgement('dns.injected', `The local resolver answers ${addresses.join(', ')} for ${input.host}, a name the control finds nowhere (${ctx.control?.dnsFailure}): the answer was invented on the way.`, {
      ...consistency.detail,
      dns_consistency: 'inconsistent',
    }, false);
  }
  const evidence = { ...consistency.detail, dns_consistency: 'inconsistent' };
  // TLS for the name fails on our answer (the site's certificate is not there).
  const handshakes = facts.tls.namedAnyPort.filter((h) => addresses.includes(String(h.ip)));
  if (handshakes.length > 0) {
    return judgement('dns.injected', `The DNS answer (${addresses.join(', ')}) shares no address or network with the control's, and TLS for ${input.host} fails on it (${summarizeFailures(handshakes)}).`, {
      ...evidence,
      tls_on_answer: handshakes.map((h) => ({ endpoint: endpointKey(h.ip, h.port), failure: h.failure, cert_validation: h.cert_validation })),
    }, false);
  }
  // Our answer's addresses refuse or drop connections while the control reaches the site.
  const connects = facts.tcp.connects.filter((c) => addresses.includes(c.ip));
  if (connects.length > 0 && connects.every((c) => c.failure !== null && c.failure !== FAILURE.interrupted) && ctx.control?.fetched) {
    return judgement('dns.injected', `The DNS answer (${addresses.join(', ')}) shares no address or network with the control's, no connection to it can be made (${summarizeFailures(connects)}), and the control fetches the site.`, {
      ...evidence,
      tcp_on_answer: connects.map((c) => ({ endpoint: endpointKey(c.ip, c.port), failure: c.failure })),
    }, false);
  }
  // No TLS data: OONI's fallback, the page must differ too.
  const final = facts.http.final;
  const control = ctx.control;
  if (final && final.failure === null && control?.fetched) {
    const comparison = compareHttp(final, control.answer.http_request);
    if (!comparison.http_diff) {
      // The page is the control's: whatever the addresses, this answer serves the site.
      ctx.consistency = { state: 'consistent', by: 'page', detail: { ...consistency.detail, comparison } };
      return null;
    }
    return judgement('dns.injected', `The DNS answer (${addresses.join(', ')}) shares no address or network with the control's, and the page fetched from it differs from the control's.`, { ...evidence, comparison }, false);
  }
  return inconclusive(`The DNS answer (${addresses.join(', ')}) shares no address or network with the control's, and nothing here validates or refutes it.`, evidence);
}
