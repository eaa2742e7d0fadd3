// The summary keys of ts-017 (ooni/spec nettests/ts-017-web-connectivity.md,
// "Semantics" of the test keys): the DNS consistency and the comparison of
// the final response with the control's. They are what the web judge already
// decided on: the stored evidence holds its `comparison` and `dns_consistency`.
// When the evidence has no comparison (a unit judged before it was recorded,
// or judged by an earlier layer) and both responses exist, the comparison is
// made again here with the judge's own function (src/analysis/httpdiff.ts).
import type { HttpHop } from '../../../probes/types.js';
import { compareHttp, type HttpComparison } from '../../analysis/httpdiff.js';
import type { ControlAnswer } from '../../model.js';

export interface WebSummaryKeys {
  /**
   * The address of the resolver the system uses. rasad does not look it up
   * (it would be the volunteer's network's), so it is always null.
   */
  client_resolver: string | null;
  dns_consistency: 'consistent' | 'inconsistent' | null;
  body_length_match: boolean | null;
  body_proportion: number | null;
  headers_match: boolean | null;
  status_code_match: boolean | null;
  title_match: boolean | null;
  /** Attempts of the unit after the first; null when unknown. */
  retries: number | null;
}

function record(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function boolOrNull(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

function storedComparison(evidence: Record<string, unknown> | null): Partial<HttpComparison> | null {
  return record(evidence?.comparison) as Partial<HttpComparison> | null;
}

function recomputed(final: HttpHop | null, control: ControlAnswer | null): Partial<HttpComparison> | null {
  const theirs = record(control?.http_request) as ControlAnswer['http_request'] | null;
  if (!final || !theirs || theirs.failure || final.status_code === null || final.status_code === undefined) return null;
  try {
    return compareHttp({ ...final, headers: record(final.headers) as Record<string, string> ?? {} }, theirs);
  } catch {
    return null;
  }
}

function retriesOf(evidence: Record<string, unknown> | null): number | null {
  const attempts = evidence?.attempts;
  const n = Array.isArray(attempts) ? attempts.length : typeof attempts === 'number' ? attempts : null;
  return n !== null && Number.isInteger(n) && n >= 1 ? n - 1 : null;
}

/** The ts-017 summary keys of a web unit, from its settled evidence, its final hop and the control's answer. */
export function webSummaryKeys(evidenceValue: unknown, final: HttpHop | null, control: ControlAnswer | null): WebSummaryKeys {
  const evidence = record(evidenceValue);
  const comparison = storedComparison(evidence) ?? recomputed(final, control);
  const consistency = evidence?.dns_consistency;
  const proportion = comparison?.body_proportion;
  return {
    client_resolver: null,
    dns_consistency: consistency === 'consistent' || consistency === 'inconsistent' ? consistency : null,
    body_length_match: boolOrNull(comparison?.body_length_match),
    body_proportion: typeof proportion === 'number' && Number.isFinite(proportion) ? Math.round(proportion * 1e6) / 1e6 : null,
    headers_match: boolOrNull(comparison?.headers_match),
    status_code_match: boolOrNull(comparison?.status_code_match),
    title_match: boolOrNull(comparison?.title_match),
    retries: retriesOf(evidence),
  };
}
