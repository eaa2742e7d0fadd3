// The verdict of one web unit (the dns/tcp/tls/http probes of one URL),
// from its attempts and the control's answer. Layers are read in order (DNS,
// TCP, TLS, HTTP) and the first that shows blocking decides; any attempt
// that comes out clean clears the unit (Censored Planet: a success clears a
// failing measurement). Without a control, only positive evidence decides
// (a fingerprint, a bogon, the innocuous-SNI comparison, a certificate that
// validates); everything else is inconclusive. Pure: no I/O, no clock.
import { isIP } from 'node:net';
import { isBogon, isKnownInjectionAddress } from '../../probes/bogons.js';
import { FAILURE } from '../../probes/failure.js';
import type {
  DnsDetails,
  DnsResolution,
  HttpDetails,
  HttpHop,
  ProbeResult,
  TcpDetails,
  TlsDetails,
  TlsHandshakeResult,
} from '../../probes/types.js';
import { BLOCKING_VERDICTS, type ControlAnswer, type Verdict, type VerdictResult } from '../model.js';
import { normalizeIp, type Fingerprints } from './fingerprints.js';
import { compareHttp, siteRestrictionSign } from './httpdiff.js';
import type { AttemptResults, UnitObservation } from './verdict.js';

/** The legacy NXDOMAIN string of the test-helper protocol (and the df-007 one, for helpers that send it). */
const CONTROL_NXDOMAIN = new Set(['dns_name_error', FAILURE.dnsNxdomain]);
/**
 * The failure a helper records for an endpoint or URL it refused to measure
 * (a bogon / private address). It says nothing about the site, so the
 * analysis treats it as "not measured", never as "failed too".
 */
export const CONTROL_NOT_MEASURED = 'dns_bogon_error';

// Failures a censor produces on an established path: an RST, a silent drop,
// a FIN, or an alert in place of the ServerHello.
const INTERFERENCE = new Set<string>([FAILURE.connectionReset, FAILURE.timeout, FAILURE.eof, FAILURE.sslFailedHandshake]);
const CUT_AFTER_REQUEST = new Set<string>([FAILURE.connectionReset, FAILURE.eof, FAILURE.timeout]);
const DNS_TIMEOUT = new Set<string>([FAILURE.timeout, FAILURE.dnsTemporary]);
const CERT_FAILURES = new Set<string>([FAILURE.sslInvalidHostname, FAILURE.sslUnknownAuthority, FAILURE.sslInvalidCertificate]);

/** One attempt's outcome. `positive`: decided by evidence that needs no control (fingerprint, bogon, innocuous SNI). */
interface Judgement {
  verdict: Verdict;
  reason: string;
  evidence: Record<string, unknown>;
  positive: boolean;
}

interface WebContext {
  /** The input as given, for messages. */
  input: string;
  url: URL | null;
  host: string;
  scheme: string;
  /** The input's port (explicit, or 80/443 by scheme). */
  port: number;
  hostIsIp: boolean;
  control: ControlAnswer | null;
  controlFailed: boolean;
  fingerprints: Fingerprints;
}

/** Facts the layers pass on to the later ones. */
interface Carry {
  /** DNS answers agree with the control (true), disagree (false), or cannot be compared (null). */
  dnsConsistent: boolean | null;
  /** A handshake with the name's SNI validated: the answer and the content are the real site's. */
  tlsValidated: boolean;
}

type Layer = { decided: Judgement } | null;

export function judgeWebUnit(unit: UnitObservation, fingerprints: Fingerprints): VerdictResult {
  const ctx = webContext(unit, fingerprints);
  const attempts = Array.isArray(unit.attempts) ? unit.attempts : [];
  const control = controlSummary(unit.control);
  const base = { control, control_failed: unit.controlFailed === true };
  if (attempts.length === 0) {
    return { verdict: 'inconclusive', verdict_reason: 'No attempt was recorded for this URL.', evidence: { ...base, attempts: [] } };
  }
  const judgements = attempts.map((attempt) => judgeAttempt(attempt ?? {}, ctx));
  const perAttempt = attempts.map((attempt, i) => ({ ...attemptFailures(attempt ?? {}), verdict: judgements[i]!.verdict }));
  const evidence = (index: number, extra: Record<string, unknown>) => ({
    ...base,
    attempts: perAttempt,
    decided_by_attempt: index,
    timings: attemptTimings(attempts[index] ?? {}),
    ...extra,
  });

  const clean = judgements.findIndex((j) => j.verdict === 'ok');
  if (clean >= 0) {
    const j = judgements[clean]!;
    const failed = judgements.length > 1 && clean > 0 ? ` (after ${clean} failing attempt${clean > 1 ? 's' : ''}: a success clears them)` : '';
    return { verdict: 'ok', verdict_reason: j.reason + failed, evidence: evidence(clean, j.evidence) };
  }

  const lastIndex = judgements.length - 1;
  const last = judgements[lastIndex]!;
  if (BLOCKING_VERDICTS.has(last.verdict) && !last.positive) {
    const disagreeing = judgements.slice(0, -1).filter((j) => BLOCKING_VERDICTS.has(j.verdict) && j.verdict !== last.verdict);
    if (disagreeing.length > 0) {
      const seen = [...new Set(judgements.map((j) => j.verdict))].join(', ');
      return {
        verdict: 'inconclusive',
        verdict_reason: `Contradictory retries: the attempts point at different blockings (${seen}).`,
        evidence: evidence(lastIndex, { ...last.evidence, contradictory_verdicts: judgements.map((j) => j.verdict) }),
      };
    }
  }
  return { verdict: last.verdict, verdict_reason: last.reason, evidence: evidence(lastIndex, last.evidence) };
}

function webContext(unit: UnitObservation, fingerprints: Fingerprints): WebContext {
  let url: URL | null = null;
  try {
    url = new URL(String(unit.url));
  } catch {
    url = null;
  }
  const host = url ? url.hostname.replace(/^\[|\]$/g, '').toLowerCase() : '';
  const scheme = url ? url.protocol.replace(/:$/, '') : '';
  return {
    input: String(unit.url).slice(0, 200),
    url,
    host,
    scheme,
    port: url?.port ? Number(url.port) : scheme === 'https' ? 443 : 80,
    hostIsIp: isIP(host) !== 0,
    control: isControlAnswer(unit.control) ? unit.control : null,
    controlFailed: unit.controlFailed === true,
    fingerprints,
  };
}

function judgeAttempt(attempt: AttemptResults, ctx: WebContext): Judgement {
  if (!ctx.url) return inconclusive(`The input "${ctx.input}" is not a URL.`, {});
  const carry: Carry = { dnsConsistent: ctx.hostIsIp ? true : null, tlsValidated: false };
  const layers = [dnsLayer, tcpLayer, tlsLayer];
  for (const layer of layers) {
    const outcome = layer(attempt, ctx, carry);
    if (outcome) return outcome.decided;
  }
  return httpLayer(attempt, ctx, carry);
}

// ---------------------------------------------------------------------------
// DNS

function dnsLayer(attempt: AttemptResults, ctx: WebContext, carry: Carry): Layer {
  const dns = attempt.dns as ProbeResult<DnsDetails> | undefined;
  if (ctx.hostIsIp || !dns) return null;
  const resolutions = Array.isArray(dns.details?.resolutions) ? dns.details.resolutions : [];
  // DoH goes around the local resolver: it says nothing about local DNS tampering.
  const local = resolutions.filter((r) => r && r.engine !== 'doh');
  const considered = local.length > 0 ? local : resolutions;
  const controlAddrs = new Set((ctx.control?.dns.addrs ?? []).filter((a) => isIP(a) !== 0).map(normalizeIp));

  const seen = new Set<string>();
  for (const r of considered) {
    for (const answer of [...(r.answers ?? []), ...(r.responses ?? []).flatMap((resp) => resp?.answers ?? [])]) {
      if (answer && (answer.type === 'A' || answer.type === 'AAAA') && isIP(answer.value) !== 0) seen.add(answer.value);
    }
    for (const b of r.bogons ?? []) if (typeof b === 'string' && isIP(b) !== 0) seen.add(b);
  }
  for (const a of Array.isArray(dns.details?.addresses) ? dns.details.addresses : []) if (isIP(a) !== 0) seen.add(a);
  const addresses = [...seen];

  const fingerprinted = addresses.map((ip) => ctx.fingerprints.matchDnsAddress(ip)).filter((m) => m !== null);
  const known = addresses.filter((ip) => isKnownInjectionAddress(ip));
  if (fingerprinted.length > 0 || known.length > 0) {
    const first = fingerprinted[0];
    return decided('dns.injected', `The DNS answer holds ${first ? `${first.matched}, a known injected address (fingerprint ${first.id})` : `${known[0]}, a known injected address`}.`, {
      addresses,
      fingerprint: first?.id ?? null,
      fingerprints: fingerprinted,
      injected_addresses: [...new Set([...fingerprinted.map((m) => m.matched), ...known])],
    }, true);
  }
  // A bogon the control also resolves, or that presents a trusted
  // certificate for the name, is the site's own (an intranet, the lab).
  const bogons = addresses.filter((ip) => isBogon(ip) && !controlAddrs.has(normalizeIp(ip)) && !addressServesName(attempt, ctx, ip));
  if (bogons.length > 0) {
    return decided('dns.injected', `The DNS answer holds ${bogons.join(', ')}, a bogon address the control does not resolve.`, { addresses, bogons }, true);
  }
  if (considered.some((r) => r.injection_suspected === true)) {
    return decided('dns.injected', 'Two different DNS answers arrived for one query: an on-path injector raced the real resolver.', {
      addresses,
      responses: considered.map((r) => ({ resolver: r.resolver, engine: r.engine, responses: r.responses })),
    }, true);
  }

  const failure = localDnsFailure(dns, considered);
  if (failure) return dnsFailureLayer(failure, ctx, { addresses, resolutions: considered.map(resolutionSummary) });

  if (addresses.length === 0) return null;
  const control = ctx.control;
  if (!control || control.dns.failure !== null || controlAddrs.size === 0) return null;
  const shared = addresses.filter((ip) => controlAddrs.has(normalizeIp(ip)));
  if (shared.length > 0) {
    carry.dnsConsistent = true;
    return null;
  }
  // No shared address: a CDN answers differently from place to place, so
  // ask whether the addresses we got serve this name with a valid certificate.
  const ourSet = new Set(addresses.map(normalizeIp));
  const handshakes = nameHandshakes(attempt, ctx).filter((h) => ourSet.has(normalizeIp(h.ip)));
  const validated = addresses.filter((ip) => addressServesName(attempt, ctx, ip));
  const controlValidated = addresses.filter((ip) => controlValidatesIp(control, ip));
  const httpsFetched = httpsFinalSucceededOnHost(attempt, ctx);
  const evidence = { addresses, control_addrs: [...control.dns.addrs], dns_consistency: 'inconsistent' as string };
  if (validated.length > 0 || controlValidated.length > 0 || httpsFetched) {
    carry.dnsConsistent = true;
    carry.tlsValidated = carry.tlsValidated || validated.length > 0 || httpsFetched;
    return null;
  }
  if (handshakes.length > 0) {
    return decided('dns.injected', `The DNS answer (${addresses.join(', ')}) shares no address with the control's, and TLS for ${ctx.host} fails on it (${summarizeFailures(handshakes)}).`, {
      ...evidence,
      tls_on_answer: handshakes.map(handshakeSummary),
    }, false);
  }
  // No TLS data for the answer: fall back to OONI's rule, the page must differ too.
  const final = finalHop(attempt);
  if (final && final.failure === null && control.http_request.failure === null && control.http_request.status_code > 0) {
    const comparison = compareHttp(final, control.http_request);
    if (!comparison.http_diff) {
      carry.dnsConsistent = true;
      return null;
    }
    return decided('dns.injected', `The DNS answer (${addresses.join(', ')}) shares no address with the control's, and the page fetched from it differs from the control's.`, {
      ...evidence,
      comparison,
    }, false);
  }
  return decided('inconclusive', `The DNS answer (${addresses.join(', ')}) shares no address with the control's, and nothing here validates or refutes it.`, evidence, false);
}

/**
 * The failure of the local resolvers (system and raw UDP), or null when one
 * of them answered with an address. The probe's own failure would count a
 * DoH answer too, which goes around the local network.
 */
function localDnsFailure(dns: ProbeResult<DnsDetails>, local: DnsResolution[]): string | null {
  if (local.length === 0) return dns.failure ?? null;
  const answered = local.some((r) => (r.answers ?? []).some((a) => a && (a.type === 'A' || a.type === 'AAAA')));
  if (answered) return null;
  const failures = local.map((r) => r.failure).filter((f): f is string => typeof f === 'string');
  // NXDOMAIN from any local resolver says more than a timeout from another.
  return (
    failures.find((f) => f === FAILURE.dnsNxdomain) ??
    failures.find((f) => DNS_TIMEOUT.has(f)) ??
    failures[0] ??
    dns.failure ??
    FAILURE.dnsNoAnswer
  );
}

function resolutionSummary(r: DnsResolution) {
  return { engine: r.engine, query_type: r.query_type, failure: r.failure, rcode: r.rcode, answers: (r.answers ?? []).map((a) => a?.value) };
}

function dnsFailureLayer(failure: string, ctx: WebContext, evidence: Record<string, unknown>): Layer {
  const control = ctx.control;
  const localNx = failure === FAILURE.dnsNxdomain;
  const localTimeout = DNS_TIMEOUT.has(failure);
  if (failure === FAILURE.interrupted) return decided('inconclusive', 'The DNS lookup was interrupted before it finished.', { ...evidence, dns_failure: failure }, false);
  if (!control) {
    return decided('inconclusive', `The local DNS lookup failed (${failure}) and ${noControl(ctx)} to tell a blocked name from a dead one.`, { ...evidence, dns_failure: failure }, false);
  }
  const cf = control.dns.failure;
  const controlResolved = cf === null && control.dns.addrs.length > 0;
  const ev = { ...evidence, dns_failure: failure, control_dns_failure: cf, control_addrs: [...control.dns.addrs] };
  if (controlResolved) {
    if (localNx) return decided('dns.nxdomain', `The local resolver says ${ctx.host} does not exist (NXDOMAIN), while the control resolves it to ${control.dns.addrs.join(', ')}.`, ev, false);
    if (localTimeout) return decided('dns.timeout', `The local DNS lookup of ${ctx.host} timed out (${failure}), while the control resolves it to ${control.dns.addrs.join(', ')}.`, ev, false);
    return decided('inconclusive', `The local DNS lookup failed with ${failure}, a failure rasad does not call blocking, while the control resolves the name.`, ev, false);
  }
  if (cf !== null && (CONTROL_NXDOMAIN.has(cf) || cf === 'dns_server_failure' || cf === FAILURE.dnsServfail || cf === FAILURE.timeout)) {
    return decided('down', `The name does not resolve from the control either (${cf}): the site is down or gone, not censored.`, ev, false);
  }
  if (cf === null && control.dns.addrs.length === 0) {
    return decided('down', 'The name has no address from the control either: the site is down or gone, not censored.', ev, false);
  }
  return decided('inconclusive', `The local DNS lookup failed (${failure}) and the control's lookup failed differently (${cf}).`, ev, false);
}

// ---------------------------------------------------------------------------
// TCP

function tcpLayer(attempt: AttemptResults, ctx: WebContext): Layer {
  const tcp = attempt.tcp as ProbeResult<TcpDetails> | undefined;
  const all = Array.isArray(tcp?.details?.connects) ? tcp.details.connects.filter(Boolean) : [];
  // The probe also tries the other web port: only the input's own port decides.
  const connects = all.filter((c) => c.port === ctx.port);
  if (connects.length === 0 || connects.some((c) => c.failure === null)) return null;
  const failures = connects.map((c) => ({ endpoint: endpointKey(c.ip, c.port), failure: c.failure, connect_ms: c.connect_ms }));
  const otherPort = all.filter((c) => c.port !== ctx.port).map((c) => ({ endpoint: endpointKey(c.ip, c.port), failure: c.failure }));
  const evidence = { tcp_failures: failures, other_port: otherPort };
  if (connects.every((c) => c.failure === FAILURE.interrupted)) return decided('inconclusive', 'Every TCP connect was interrupted before it finished.', evidence, false);
  const control = ctx.control;
  if (!control) {
    return decided('inconclusive', `No TCP connection could be made (${summarizeFailures(connects)}) and ${noControl(ctx)}.`, evidence, false);
  }
  const entries = connects
    .map((c) => control.tcp_connect[endpointKey(c.ip, c.port)])
    .filter((e): e is { status: boolean; failure: string | null } => e !== undefined && e !== null && e.failure !== CONTROL_NOT_MEASURED);
  const ev = { ...evidence, control_tcp: entries };
  if (entries.some((e) => e.status === true)) {
    return decided('tcp.blocked', `The control connects to ${connects.map((c) => endpointKey(c.ip, c.port)).join(', ')} and this network cannot (${summarizeFailures(connects)}).`, ev, false);
  }
  if (entries.length > 0) {
    return decided('down', `Neither this network nor the control can connect to ${connects.map((c) => endpointKey(c.ip, c.port)).join(', ')}: the site is down.`, ev, false);
  }
  if (control.http_request.failure !== null && control.http_request.failure !== CONTROL_NOT_MEASURED) {
    return decided('down', `No TCP connection could be made here, and the control could not fetch the page either (${control.http_request.failure}).`, ev, false);
  }
  return decided('inconclusive', `No TCP connection could be made (${summarizeFailures(connects)}), and the control did not test these addresses.`, ev, false);
}

// ---------------------------------------------------------------------------
// TLS (https inputs; for http inputs the handshakes only validate DNS answers)

function tlsLayer(attempt: AttemptResults, ctx: WebContext, carry: Carry): Layer {
  const all = tlsHandshakes(attempt);
  const named = nameHandshakes(attempt, ctx);
  if (named.some(isValidHandshake)) {
    carry.tlsValidated = true;
    return null;
  }
  if (ctx.scheme !== 'https' || named.length === 0) return null;

  const control = ctx.control;
  const summaries = named.map(handshakeSummary);
  const innocuous = all.filter((h) => h.innocuous).map(handshakeSummary);
  if (named.every((h) => h.failure === FAILURE.interrupted)) return decided('inconclusive', 'Every TLS handshake was interrupted before it finished.', { tls: summaries }, false);

  const interfered = named.filter((h) => h.failure !== null && INTERFERENCE.has(h.failure));
  if (interfered.length === named.length) {
    const innocuousOk = interfered.find((h) => all.some((x) => x.innocuous && x.ip === h.ip && x.port === h.port && handshakeCompleted(x)));
    const evidence = { tls: summaries, innocuous_tls: innocuous };
    if (innocuousOk) {
      const other = all.find((x) => x.innocuous && x.ip === innocuousOk.ip && handshakeCompleted(x));
      return decided('tls.reset', `The TLS handshake with SNI ${ctx.host} fails (${innocuousOk.failure}) on ${endpointKey(innocuousOk.ip, innocuousOk.port)}, while the same address completes one with the innocuous SNI ${other?.server_name ?? ''}.`, evidence, true);
    }
    if (control) {
      const controlTls = named.map((h) => control.tls_handshake?.[endpointKey(h.ip, h.port)]).filter((e) => e && e.failure !== CONTROL_NOT_MEASURED);
      const ev = { ...evidence, control_tls: controlTls };
      if (controlTls.some((e) => e!.status === true) || (controlTls.length === 0 && controlFetched(control))) {
        return decided('tls.reset', `The TLS handshake with SNI ${ctx.host} fails here (${summarizeFailures(named)}), while the control's succeeds.`, ev, false);
      }
      if (controlTls.length > 0 || controlFetchFailed(control)) {
        return decided('down', `The TLS handshake fails from the control too (${controlTls.map((e) => e!.failure).join(', ') || control.http_request.failure}): the site is down.`, ev, false);
      }
    }
    return decided('inconclusive', `The TLS handshake with SNI ${ctx.host} fails (${summarizeFailures(named)}), and neither the innocuous SNI nor ${control ? 'the control' : 'a control'} shows the address working.`, evidence, false);
  }

  const certProblems = named.filter(hasCertProblem);
  const evidence = { tls: summaries, innocuous_tls: innocuous };
  if (control) {
    if (controlFetchFailed(control)) {
      return decided('down', `The TLS handshake fails here (${summarizeFailures(named)}) and the control cannot fetch the page either (${control.http_request.failure}).`, evidence, false);
    }
    if (certProblems.length > 0) {
      return decided('inconclusive', `The certificate for ${ctx.host} does not validate here (${summarizeFailures(certProblems)}) while the control fetches the page: possible interception, which no verdict of rasad names.`, evidence, false);
    }
  }
  return decided('inconclusive', `The TLS handshake with SNI ${ctx.host} fails (${summarizeFailures(named)}) in a way that does not tell censorship from a broken site.`, evidence, false);
}

// ---------------------------------------------------------------------------
// HTTP

function httpLayer(attempt: AttemptResults, ctx: WebContext, carry: Carry): Judgement {
  const http = attempt.http as ProbeResult<HttpDetails> | undefined;
  const hops = Array.isArray(http?.details?.hops) ? http.details.hops.filter(Boolean) : [];
  for (const hop of hops) {
    const match = ctx.fingerprints.matchHttp(hop);
    if (match) {
      return judgement('http.blockpage', `The response from ${hop.url} matches the blockpage fingerprint ${match.id} (${match.country}).`, {
        fingerprint: match.id,
        fingerprint_match: match,
        status_code: hop.status_code,
        hop: hop.url,
      }, true);
    }
  }
  const control = ctx.control;
  const final = hops[hops.length - 1];
  if (!http || !final) return noHttpOutcome(ctx, carry);

  if (final.failure !== null) return httpFailure(final, http, ctx, hops.length);

  // Over validated TLS the page is what the site sent, unless the chain
  // left the site (a censor's redirect to some other https host).
  const authentic = safeScheme(final.url) === 'https' && sameSite(hostOf(final.url), ctx.host);
  const evidence: Record<string, unknown> = { status_code: final.status_code, body_length: final.body_length, title: final.title, hops: hops.length };
  if (control && control.http_request.failure === null && control.http_request.status_code > 0) {
    const comparison = compareHttp(final, control.http_request);
    const ev = { ...evidence, comparison, dns_consistency: consistencyWord(carry) };
    if (!comparison.http_diff) return judgement('ok', 'Reachable: the page matches the control\'s (status code and body, headers or title).', ev, false);
    if (authentic) {
      return judgement('inconclusive', `The page differs from the control's, but it came over a validated TLS connection: the site itself serves this network something else (e.g. a geo-restriction), not a censor.`, ev, false);
    }
    const restriction = siteRestrictionSign(final);
    if (restriction) {
      return judgement('inconclusive', `The page differs from the control's, but ${restriction} and no blockpage fingerprint matches: it may be the site's own restriction.`, { ...ev, site_restriction: restriction }, false);
    }
    return judgement('http.diff', `The page differs from the control's (${describeDiff(comparison)}) and matches no blockpage fingerprint.`, ev, false);
  }
  if (authentic) {
    const why = control ? 'the control could not fetch it' : noControl(ctx);
    return judgement('ok', `Reachable: the page came over a TLS connection that validates for its name (${why}).`, evidence, true);
  }
  if (control) {
    return judgement('inconclusive', `A page was fetched, but the control could not fetch it to compare (${control.http_request.failure}), and no blockpage fingerprint matches.`, evidence, false);
  }
  const how = safeScheme(final.url) === 'https' ? `from another site (${hostOf(final.url)})` : 'over plain HTTP';
  return judgement('inconclusive', `A page was fetched ${how}, but ${noControl(ctx)} to compare it with, and no blockpage fingerprint matches.`, evidence, false);
}

function httpFailure(final: HttpHop, http: ProbeResult<HttpDetails>, ctx: WebContext, hopCount: number): Judgement {
  const failure = final.failure!;
  const op = final.failed_operation ?? http.failed_operation;
  const control = ctx.control;
  const evidence = { http_failure: failure, failed_operation: op, hop: final.url, hops: hopCount };
  if (failure === FAILURE.interrupted) return judgement('inconclusive', 'The HTTP request was interrupted before it finished.', evidence, false);
  if (!control) return judgement('inconclusive', `The HTTP request failed (${failure} in ${op ?? 'an unknown operation'}) and ${noControl(ctx)}.`, evidence, false);
  if (controlFetchFailed(control)) {
    return judgement('down', `The HTTP request fails here (${failure}) and the control cannot fetch the page either (${control.http_request.failure}): the site is down.`, { ...evidence, control_http_failure: control.http_request.failure }, false);
  }
  if (!controlFetched(control)) return judgement('inconclusive', `The HTTP request failed (${failure}) and the control did not fetch the page.`, evidence, false);
  const scheme = safeScheme(final.url);
  if ((op === 'http_round_trip' || op === 'read' || op === 'write') && CUT_AFTER_REQUEST.has(failure)) {
    if (scheme === 'http') {
      return judgement('http.reset', `The plain-HTTP exchange with ${final.url} was cut after the request was sent (${failure} in ${op}), while the control fetched the page.`, evidence, false);
    }
    return judgement('inconclusive', `The connection was cut inside an established TLS session (${failure} in ${op}), which a censor cannot target by content.`, evidence, false);
  }
  if (op === 'tls_handshake' && INTERFERENCE.has(failure)) {
    return judgement('tls.reset', `The TLS handshake of the HTTPS request fails (${failure}), while the control fetched the page.`, evidence, false);
  }
  if (op === 'connect' && hopCount === 1) {
    return judgement('tcp.blocked', `The HTTP request cannot connect (${failure}), while the control fetched the page.`, evidence, false);
  }
  return judgement('inconclusive', `The HTTP request failed (${failure} in ${op ?? 'an unknown operation'}) while the control fetched the page; no verdict of rasad names this failure.`, evidence, false);
}

/** Every layer that ran passed and no HTTP request was made. */
function noHttpOutcome(ctx: WebContext, carry: Carry): Judgement {
  const evidence = { dns_consistency: consistencyWord(carry), tls_validated: carry.tlsValidated };
  if (ctx.scheme === 'tcp') {
    return judgement('ok', 'Reachable: the endpoint accepts connections.', evidence, true);
  }
  if (carry.tlsValidated) return judgement('ok', 'Reachable: a TLS handshake for the name validates.', evidence, true);
  if (ctx.control && carry.dnsConsistent !== false) {
    return judgement('ok', 'Reachable: the probes that ran agree with the control.', evidence, false);
  }
  return judgement('inconclusive', `The probes that ran show no blocking, but ${noControl(ctx)} and nothing validates the answers.`, evidence, false);
}

// ---------------------------------------------------------------------------
// Helpers

function decided(verdict: Verdict, reason: string, evidence: Record<string, unknown>, positive: boolean): Layer {
  return { decided: judgement(verdict, reason, evidence, positive) };
}

function judgement(verdict: Verdict, reason: string, evidence: Record<string, unknown>, positive: boolean): Judgement {
  return { verdict, reason, evidence, positive };
}

function inconclusive(reason: string, evidence: Record<string, unknown>): Judgement {
  return judgement('inconclusive', reason, evidence, false);
}

function noControl(ctx: WebContext): string {
  return ctx.controlFailed ? 'no control helper answered' : 'there is no control';
}

function consistencyWord(carry: Carry): string | null {
  return carry.dnsConsistent === null ? null : carry.dnsConsistent ? 'consistent' : 'inconsistent';
}

function tlsHandshakes(attempt: AttemptResults): TlsHandshakeResult[] {
  const tls = attempt.tls as ProbeResult<TlsDetails> | undefined;
  return Array.isArray(tls?.details?.handshakes) ? tls.details.handshakes.filter(Boolean) : [];
}

/** The handshakes made with the input's own name as SNI. */
function nameHandshakes(attempt: AttemptResults, ctx: WebContext): TlsHandshakeResult[] {
  const host = ctx.host.toLowerCase();
  return tlsHandshakes(attempt).filter((h) => !h.innocuous && String(h.server_name ?? '').toLowerCase() === host);
}

function isValidHandshake(h: TlsHandshakeResult): boolean {
  return h.failure === null && h.cert_validation === 'valid';
}

/**
 * The server answered the handshake: it may still fail validation (the
 * innocuous SNI never matches the certificate), but the path let it through.
 */
function handshakeCompleted(h: TlsHandshakeResult): boolean {
  return h.failure === null || h.cert_validation !== null || CERT_FAILURES.has(h.failure);
}

/**
 * The address presents a certificate for the input's name that chains to a
 * trusted root: with the name as SNI (a valid handshake), or with the
 * innocuous SNI ("wrong_host" means Node verified the chain and only the
 * name check failed) and the name among the certificate's SANs. A censor's
 * server cannot do that, so the address is the site's.
 */
function addressServesName(attempt: AttemptResults, ctx: WebContext, ip: string): boolean {
  const wanted = normalizeIp(ip);
  return tlsHandshakes(attempt).some((h) => {
    if (normalizeIp(String(h.ip)) !== wanted || h.failure === undefined) return false;
    if (!h.innocuous) return String(h.server_name ?? '').toLowerCase() === ctx.host && isValidHandshake(h);
    return h.cert_validation === 'wrong_host' && sanCovers(h.peer_certificate?.san ?? [], ctx.host);
  });
}

/** "DNS:name" entries (Node's subjectaltname format) that cover `host`, wildcards one label deep. */
function sanCovers(san: string[], host: string): boolean {
  return (Array.isArray(san) ? san : []).some((entry) => {
    const m = /^DNS:(.+)$/i.exec(String(entry).trim());
    if (!m) return false;
    const name = m[1]!.toLowerCase();
    if (name === host) return true;
    return name.startsWith('*.') && host.endsWith(name.slice(1)) && !host.slice(0, -name.length + 1).includes('.');
  });
}

function hasCertProblem(h: TlsHandshakeResult): boolean {
  return (h.failure !== null && CERT_FAILURES.has(h.failure)) || (h.cert_validation !== null && h.cert_validation !== 'valid');
}

function handshakeSummary(h: TlsHandshakeResult) {
  return { endpoint: endpointKey(h.ip, h.port), server_name: h.server_name, failure: h.failure, cert_validation: h.cert_validation, handshake_ms: h.handshake_ms };
}

function summarizeFailures(items: { failure: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const item of items) {
    const f = item.failure ?? 'no failure';
    counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  return [...counts].map(([f, n]) => (n > 1 ? `${f} ×${n}` : f)).join(', ');
}

function finalHop(attempt: AttemptResults): HttpHop | undefined {
  const http = attempt.http as ProbeResult<HttpDetails> | undefined;
  const hops = Array.isArray(http?.details?.hops) ? http.details.hops.filter(Boolean) : [];
  return hops[hops.length - 1];
}

/** The HTTP probe fetched the input's own https URL: undici validated the certificate for the name. */
function httpsFinalSucceededOnHost(attempt: AttemptResults, ctx: WebContext): boolean {
  const first = (attempt.http as ProbeResult<HttpDetails> | undefined)?.details?.hops?.[0];
  if (!first || first.failure !== null || first.status_code === null) return false;
  try {
    const u = new URL(first.url);
    return u.protocol === 'https:' && u.hostname.replace(/^\[|\]$/g, '').toLowerCase() === ctx.host.toLowerCase();
  } catch {
    return false;
  }
}

function controlValidatesIp(control: ControlAnswer, ip: string): boolean {
  const flags = control.ip_info?.[ip]?.flags;
  // th.go: flag 8 (1 << 3) marks an address on which the helper's TLS handshake for the name succeeded.
  if (typeof flags === 'number' && (flags & 8) !== 0) return true;
  return Object.entries(control.tls_handshake ?? {}).some(([endpoint, r]) => r?.status === true && endpointIp(endpoint) === normalizeIp(ip));
}

function controlFetched(control: ControlAnswer): boolean {
  return control.http_request.failure === null && control.http_request.status_code > 0;
}

function controlFetchFailed(control: ControlAnswer): boolean {
  return control.http_request.failure !== null && control.http_request.failure !== CONTROL_NOT_MEASURED;
}

function describeDiff(c: ReturnType<typeof compareHttp>): string {
  const parts: string[] = [];
  if (c.status_code_match === false) parts.push('status code');
  if (c.body_length_match === false) parts.push(`body length (proportion ${c.body_proportion?.toFixed(2)})`);
  if (c.headers_match === false) parts.push('headers');
  if (c.title_match === false) parts.push('title');
  return parts.length > 0 ? `${parts.join(', ')} differ` : 'nothing matches';
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return '';
  }
}

/** The same host, give or take "www." or a subdomain (site.example and m.site.example). */
function sameSite(a: string, b: string): boolean {
  const x = a.replace(/^www\./, '');
  const y = b.replace(/^www\./, '');
  return x !== '' && (x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`));
}

function safeScheme(url: string): string {
  try {
    return new URL(url).protocol.replace(/:$/, '');
  } catch {
    return '';
  }
}

export function endpointKey(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function endpointIp(endpoint: string): string {
  const m = /^\[(.+)\]:\d+$/.exec(endpoint) ?? /^([^:]+):\d+$/.exec(endpoint);
  return m ? normalizeIp(m[1]!) : '';
}

/** Failures of each probe in one attempt, as the evidence records them. */
export function attemptFailures(attempt: AttemptResults): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [kind, result] of Object.entries(attempt)) {
    if (result && typeof result === 'object') out[kind] = (result as ProbeResult).failure ?? null;
  }
  return out;
}

function attemptTimings(attempt: AttemptResults): Record<string, unknown> {
  const tcp = attempt.tcp as ProbeResult<TcpDetails> | undefined;
  const http = attempt.http as ProbeResult<HttpDetails> | undefined;
  const final = finalHop(attempt);
  return {
    runtime_ms: Object.fromEntries(Object.entries(attempt).filter(([, r]) => r && typeof r === 'object').map(([k, r]) => [k, (r as ProbeResult).runtime_ms])),
    tcp_connect_ms: Array.isArray(tcp?.details?.connects) ? tcp.details.connects.map((c) => c?.connect_ms ?? null) : [],
    tls_handshake_ms: tlsHandshakes(attempt).map((h) => h.handshake_ms),
    http: http && final ? final.timings : null,
  };
}

/** What the evidence keeps of the control's answer. */
export function controlSummary(control: ControlAnswer | null): Record<string, unknown> | null {
  if (!isControlAnswer(control)) return null;
  return {
    dns: { failure: control.dns.failure, addrs: control.dns.addrs },
    tcp_connect: control.tcp_connect,
    tls_handshake: control.tls_handshake ?? null,
    http: {
      status_code: control.http_request.status_code,
      body_length: control.http_request.body_length,
      title: control.http_request.title,
      failure: control.http_request.failure,
    },
  };
}

function isControlAnswer(value: unknown): value is ControlAnswer {
  const c = value as ControlAnswer | null;
  return (
    typeof c === 'object' && c !== null &&
    typeof c.dns === 'object' && c.dns !== null && Array.isArray(c.dns.addrs) &&
    typeof c.tcp_connect === 'object' && c.tcp_connect !== null &&
    typeof c.http_request === 'object' && c.http_request !== null
  );
}
