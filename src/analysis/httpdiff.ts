// Compares the probe's final HTTP response with the control's, with OONI's
// Web Connectivity heuristics (ooni/spec ts-017 "http-diff heuristics";
// ooni/spec ts-017): body lengths within 30%, titles compared on words of 5+
// letters, header names compared ignoring the common ones, and a diff unless
// the status codes match and one of body/headers/title matches. Pure.
import type { HttpHop } from '../../probes/types.js';
import type { ControlAnswer } from '../model.js';

export interface HttpComparison {
  status_code_match: boolean | null;
  /** min(a/b, b/a); null when a length is unknown. */
  body_proportion: number | null;
  body_length_match: boolean | null;
  headers_match: boolean | null;
  title_match: boolean | null;
  /** OONI's "http-diff": the response is not the page the control got. */
  http_diff: boolean;
}

/** OONI: the body lengths match when min(a/b, b/a) > 0.7. */
export const BODY_PROPORTION_THRESHOLD = 0.7;

// Header names most servers send, whatever the page: they say nothing about
// whether two responses come from the same server. (OONI ignores a list of
// this kind; this one is ours.)
const COMMON_HEADERS = new Set([
  'accept-ranges', 'age', 'alt-svc', 'cache-control', 'connection', 'content-encoding', 'content-language',
  'content-length', 'content-security-policy', 'content-type', 'date', 'etag', 'expires', 'keep-alive',
  'last-modified', 'link', 'location', 'p3p', 'pragma', 'referrer-policy', 'server', 'set-cookie',
  'strict-transport-security', 'transfer-encoding', 'vary', 'via', 'x-content-type-options',
  'x-frame-options', 'x-powered-by', 'x-xss-protection',
]);

export function compareHttp(ours: HttpHop, control: ControlAnswer['http_request']): HttpComparison {
  const status_code_match =
    ours.status_code === null || control.status_code <= 0 ? null : ours.status_code === control.status_code;
  const body_proportion = bodyProportion(ours, control.body_length);
  const body_length_match = body_proportion === null ? null : body_proportion > BODY_PROPORTION_THRESHOLD;
  const headers_match = headersMatch(ours.headers ?? {}, control.headers ?? {});
  const title_match = titleMatch(ours.title ?? '', control.title ?? '');
  const http_diff = !(status_code_match === true && (body_length_match === true || headers_match === true || title_match === true));
  return { status_code_match, body_proportion, body_length_match, headers_match, title_match, http_diff };
}

function bodyProportion(ours: HttpHop, controlLength: number): number | null {
  const a = ours.body_length;
  const b = controlLength;
  if (a === null || !Number.isFinite(a) || a < 0 || !Number.isFinite(b) || b < 0) return null;
  if (a === 0 && b === 0) return 1;
  if (a === 0 || b === 0) return 0;
  // A truncated read is a lower bound on our length: as long as the
  // control's page is at least as long, the two cannot be told apart.
  if (ours.body_truncated && b >= a) return 1;
  return Math.min(a / b, b / a);
}

/** The header names that say something about the server: lower-cased, common ones dropped. */
export function uncommonHeaderNames(headers: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (!COMMON_HEADERS.has(lower)) names.add(lower);
  }
  return names;
}

/** Framing headers say how the bytes travelled, not who sent them: left out of the name comparison. */
const FRAMING_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/**
 * OONI's rule (probe-cli HTTPHeadersMatch): the same set of header names
 * (framing headers aside), or at least one uncommon header name in common.
 * Two pages with only common headers but different sets do not match: a
 * middlebox's page is usually that.
 */
export function headersMatch(ours: Record<string, unknown>, control: Record<string, unknown>): boolean {
  const names = (h: Record<string, unknown>) => new Set(Object.keys(h).map((n) => n.toLowerCase()).filter((n) => !FRAMING_HEADERS.has(n)));
  const all = names(ours);
  const allControl = names(control);
  if (all.size === allControl.size && [...all].every((n) => allControl.has(n))) return true;
  const a = uncommonHeaderNames(ours);
  const b = uncommonHeaderNames(control);
  for (const name of a) if (b.has(name)) return true;
  return false;
}

/** Words of 5 or more letters (any script), lower-cased. */
export function titleWords(title: string): Set<string> {
  const words = new Set<string>();
  for (const word of title.normalize('NFC').toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if ([...word].length >= 5) words.add(word);
  }
  return words;
}

/**
 * null when the control's title has no word of 5+ letters (nothing to
 * compare); otherwise true when every such word of the control's title is in
 * ours.
 */
export function titleMatch(ours: string, control: string): boolean | null {
  const wanted = titleWords(control);
  if (wanted.size === 0) return null;
  const have = titleWords(ours);
  for (const word of wanted) if (!have.has(word)) return false;
  return true;
}

// Pages a site serves by itself to some visitors: CAPTCHAs, bot challenges,
// and "not available in your country" pages. They differ from the control's
// page without any censor being involved (ooni/probe #2311, #2333, #2299).
const RESTRICTION_MARKERS: { what: string; pattern: RegExp }[] = [
  { what: 'a CAPTCHA', pattern: /captcha/i },
  { what: 'a bot challenge', pattern: /challenge-platform|cf-chl|cf_chl|cf-mitigated|attention required|just a moment\.\.\.|verify(ing)? you are (a )?human|are you a robot|unusual traffic/i },
  {
    what: 'a country restriction',
    pattern: /not available in your (country|region|location)|unavailable in your (country|region)|not available in this (country|region)|in your (country|region) is (restricted|not permitted|blocked)|due to (legal|regulatory) (reasons|requirements)|export (control|restriction)|sanction/i,
  },
  { what: 'a site firewall block', pattern: /you have been blocked|error 1020/i },
];

const RESTRICTION_STATUS = new Set([401, 403, 429, 451, 503]);

/**
 * Why this response looks like a page the site itself serves to restrict a
 * visitor (a CAPTCHA, a bot check, a country restriction), or null. Such a
 * page is never called a blockpage without a fingerprint.
 */
export function siteRestrictionSign(hop: HttpHop): string | null {
  const title = hop.title ?? '';
  const body = hop.body_sample ?? '';
  const headerText = Object.entries(hop.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
  for (const { what, pattern } of RESTRICTION_MARKERS) {
    if (pattern.test(title) || pattern.test(body) || pattern.test(headerText)) return `the page looks like ${what}`;
  }
  if (isRestrictionStatus(hop.status_code)) return `the status is ${hop.status_code}, which sites use for their own access restrictions`;
  return null;
}

/** True for the status codes sites use for their own restrictions (auth, forbidden, rate limit, legal, overload). */
export function isRestrictionStatus(status: number | null): boolean {
  return status !== null && RESTRICTION_STATUS.has(status);
}
