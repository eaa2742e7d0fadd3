// The HTTP layer of a web unit: every hop of the redirect chain is judged
// like the first (a blockpage anywhere, a failure at any hop), the final page
// is compared with the control's, and a page that came over validated TLS
// from the site itself is the site's: never a blockpage, and a "not in your
// country" page there is the site refusing, not the state.
import { FAILURE } from '../../../probes/failure.js';
import type { HttpHop } from '../../../probes/types.js';
import { compareHttp, siteRestrictionSign, type HttpComparison } from '../../analysis/httpdiff.js';
import { consistencyWord } from './consistency.js';
import { isValidHandshake } from './facts.js';
import { inconclusive, judgement, noControl, type Judgement, type LayerContext } from './judgement.js';
import { INTERFERENCE } from './transport-layers.js';

const CUT = new Set<string>([FAILURE.connectionReset, FAILURE.eof]);
const DNS_TIMEOUT = new Set<string>([FAILURE.timeout, FAILURE.dnsTemporary]);

export function httpLayer(ctx: LayerContext): Judgement {
  const { hops, final } = ctx.facts.http;
  for (const hop of hops) {
    // A response over validated TLS from the site itself is what the site sent: a news page quoting a blockpage is no blockpage.
    if (authentic(hop, ctx)) continue;
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
  if (!ctx.facts.http.ran || !final) return noHttpOutcome(ctx);
  if (ctx.facts.http.redirectLimit) return redirectLimit(ctx, final, hops.length);
  if (final.failure !== null) return httpFailure(final, ctx, hops.length);
  return finalPage(final, ctx, hops.length);
}

function finalPage(final: HttpHop, ctx: LayerContext, hopCount: number): Judgement {
  const control = ctx.control;
  const isAuthentic = authentic(final, ctx);
  const evidence: Record<string, unknown> = { status_code: final.status_code, body_length: final.body_length, title: final.title, hops: hopCount };
  const geoblock = ctx.fingerprints.matchGeoblock?.(final) ?? null;
  const consistency = consistencyWord(ctx.consistency);
  // The site refuses this country itself. Only a page that came over TLS validating for the site
  // proves it is the site's: over plain HTTP anyone on the path could have written it.
  if (geoblock && isAuthentic) {
    return judgement('site.geoblocked', `${final.url} is the site's own refusal of this country (fingerprint ${geoblock.id}), served over a TLS connection that validates for the site: not the state's censor.`, {
      ...evidence,
      fingerprint: geoblock.id,
      dns_consistency: consistency,
    }, true);
  }
  if (control?.fetched) {
    const comparison = compareHttp(final, control.answer.http_request);
    const ev = { ...evidence, comparison, dns_consistency: consistency };
    if (!comparison.http_diff) return judgement('ok', 'Reachable: the page matches the control\'s (status code and body, headers or title).', ev, false);
    if (isAuthentic) {
      return inconclusive('The page differs from the control\'s, but it came over a validated TLS connection: the site itself serves this network something else (e.g. a geo-restriction), not a censor.', ev);
    }
    const restriction = siteRestrictionSign(final);
    if (restriction) {
      return inconclusive(`The page differs from the control's, but ${restriction} and no blockpage fingerprint matches: it may be the site's own restriction.`, { ...ev, site_restriction: restriction });
    }
    return judgement('http.diff', `The page differs from the control's (${describeDiff(comparison)}) and matches no blockpage fingerprint.`, ev, false);
  }
  if (isAuthentic) {
    const why = control ? 'the control could not fetch it' : noControl(ctx);
    return judgement('ok', `Reachable: the page came over a TLS connection that validates for its name (${why}).`, evidence, true);
  }
  if (control) {
    return inconclusive(`A page was fetched, but the control could not fetch it to compare (${control.fetchFailure}), and no blockpage fingerprint matches.`, evidence);
  }
  const how = safeScheme(final.url) === 'https' ? `from another site (${hostOf(final.url)})` : 'over plain HTTP';
  return inconclusive(`A page was fetched ${how}, but ${noControl(ctx)} to compare it with, and no blockpage fingerprint matches.`, evidence);
}

/** The probe stopped at its redirect limit: never "ok", whatever the last hop said. */
function redirectLimit(ctx: LayerContext, final: HttpHop, hopCount: number): Judgement {
  const evidence = { hops: hopCount, last_hop: final.url, http_failure: final.failure, redirect_limit_reached: true };
  if (ctx.control?.fetchFailed) {
    return judgement('down', `The redirect chain did not end within ${hopCount} hops here, and the control cannot fetch the page either (${ctx.control.fetchFailure}): the site is broken, not censored.`, { ...evidence, control_http_failure: ctx.control.fetchFailure }, false);
  }
  const control = ctx.control?.fetched ? 'while the control fetched the page' : ctx.control ? 'and the control did not fetch the page' : noControl(ctx);
  return inconclusive(`The redirect chain did not end within ${hopCount} hops (${control}): a redirect loop tells nothing about censorship on its own.`, evidence);
}

function httpFailure(final: HttpHop, ctx: LayerContext, hopCount: number): Judgement {
  const failure = final.failure!;
  const op = ctx.facts.http.failedOperation;
  const control = ctx.control;
  const later = hopCount > 1 ? ` at hop ${hopCount} (${hostOf(final.url)})` : '';
  const evidence: Record<string, unknown> = { http_failure: failure, failed_operation: op, hop: final.url, hops: hopCount, hop_timings: final.timings };
  if (failure === FAILURE.interrupted) return inconclusive('The HTTP request was interrupted before it finished.', evidence);
  if (!control) return inconclusive(`The HTTP request failed${later} (${failure} in ${op ?? 'an unknown operation'}) and ${noControl(ctx)}.`, evidence);
  if (control.fetchFailed) {
    return judgement('down', `The HTTP request fails here${later} (${failure}) and the control cannot fetch the page either (${control.fetchFailure}): the site is down.`, { ...evidence, control_http_failure: control.fetchFailure }, false);
  }
  if (!control.fetched) return inconclusive(`The HTTP request failed${later} (${failure}) and the control did not fetch the page.`, evidence);
  // From here on the control fetched the whole chain from outside.
  const scheme = safeScheme(final.url);
  if (op === 'resolve') {
    if (failure === FAILURE.dnsNxdomain) return judgement('dns.nxdomain', `The local resolver says ${hostOf(final.url)} does not exist (NXDOMAIN)${later}, while the control follows the chain to the page.`, evidence, false);
    if (DNS_TIMEOUT.has(failure)) return judgement('dns.timeout', `The local DNS lookup of ${hostOf(final.url)} timed out${later}, while the control follows the chain to the page.`, evidence, false);
    return inconclusive(`The DNS lookup${later} failed (${failure}), a failure rasad does not call blocking, while the control fetched the page.`, evidence);
  }
  if (op === 'connect' && failure !== FAILURE.sslFailedHandshake) {
    return judgement('tcp.blocked', `The HTTP request cannot connect${later} (${failure}), while the control fetched the page.`, evidence, false);
  }
  if (op === 'tls_handshake' && INTERFERENCE.has(failure)) {
    return judgement('tls.reset', `The TLS handshake of the HTTPS request fails${later} (${failure}), while the control fetched the page.`, evidence, false);
  }
  if (op === 'http_round_trip' || op === 'read' || op === 'write') {
    if (scheme !== 'http') {
      if (CUT.has(failure) || failure === FAILURE.timeout) {
        return inconclusive(`The connection was cut inside an established TLS session${later} (${failure} in ${op}), which a censor cannot target by content.`, evidence);
      }
    } else if (CUT.has(failure)) {
      return judgement('http.reset', `The plain-HTTP exchange with ${final.url} was cut after the request was sent (${failure} in ${op}), while the control fetched the page.`, evidence, false);
    } else if (failure === FAILURE.timeout) {
      return slowOrDropped(final, ctx, evidence, op);
    }
  }
  return inconclusive(`The HTTP request failed${later} (${failure} in ${op ?? 'an unknown operation'}) while the control fetched the page; no verdict of rasad names this failure.`, evidence);
}

/**
 * A plain-HTTP request that timed out. A censor that drops the request leaves
 * no byte of answer; a slow server answers late, or the control too took
 * long. Only the first is a cut.
 */
function slowOrDropped(final: HttpHop, ctx: LayerContext, evidence: Record<string, unknown>, op: string): Judgement {
  const firstByte = final.timings?.first_byte_ms ?? null;
  if (firstByte !== null) {
    return inconclusive(`The server started answering (first byte after ${Math.round(firstByte)} ms) and then was too slow (${final.failure} in ${op}): slow is not cut.`, evidence);
  }
  const controlMs = ctx.control?.fetchMs ?? null;
  if (controlMs !== null && ctx.timeoutMs !== null && controlMs >= ctx.timeoutMs / 2) {
    return inconclusive(`The request timed out here, and the control too needed ${Math.round(controlMs)} ms: a slow server, not a cut.`, { ...evidence, control_fetch_ms: controlMs });
  }
  return judgement('http.reset', `The plain-HTTP exchange with ${final.url} got no answer after the request was sent (${final.failure} in ${op}), while the control fetched the page${controlMs !== null ? ` in ${Math.round(controlMs)} ms` : ''}.`, { ...evidence, control_fetch_ms: controlMs }, false);
}

/** Every layer that ran passed and no HTTP request was made. */
function noHttpOutcome(ctx: LayerContext): Judgement {
  const tlsValidated = ctx.facts.tls.namedAnyPort.some(isValidHandshake) || (ctx.consistency.state === 'consistent' && ctx.consistency.by === 'tls');
  const evidence = { dns_consistency: consistencyWord(ctx.consistency), tls_validated: tlsValidated };
  if (ctx.input.scheme === 'tcp') return judgement('ok', 'Reachable: the endpoint accepts connections.', evidence, true);
  if (tlsValidated) return judgement('ok', 'Reachable: a TLS handshake for the name validates.', evidence, true);
  if (ctx.control && ctx.consistency.state !== 'inconsistent' && ctx.consistency.state !== 'ghost') {
    return judgement('ok', 'Reachable: the probes that ran agree with the control.', evidence, false);
  }
  return inconclusive(`The probes that ran show no blocking, but ${noControl(ctx)} and nothing validates the answers.`, evidence);
}

/** A response over https from the input's own site: undici validated its certificate for that name. */
function authentic(hop: HttpHop, ctx: LayerContext): boolean {
  return hop.status_code !== null && safeScheme(hop.url) === 'https' && sameSite(hostOf(hop.url), ctx.input.host);
}

function describeDiff(c: HttpComparison): string {
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
