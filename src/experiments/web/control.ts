// The control's answer (OONI's test-helper protocol), read once into facts the
// layers can ask: did it resolve, connect, shake hands, fetch the page?
import { isIP } from 'node:net';
import { FAILURE } from '../../../probes/failure.js';
import { normalizeIp } from '../../analysis/fingerprints.js';
import type { ControlAnswer } from '../../model.js';

/** The legacy NXDOMAIN string of the test-helper protocol (and the df-007 one, for helpers that send it). */
const CONTROL_NXDOMAIN = new Set(['dns_name_error', FAILURE.dnsNxdomain]);
/**
 * The failure a helper records for an endpoint or URL it refused to measure
 * (a bogon / private address). It says nothing about the site, so the
 * analysis treats it as "not measured", never as "failed too".
 */
export const CONTROL_NOT_MEASURED = 'dns_bogon_error';

export interface ControlFacts {
  answer: ControlAnswer;
  /** The control's addresses for the name, normalised. */
  addrs: Set<string>;
  dnsFailure: string | null;
  resolved: boolean;
  /** The name does not exist from the control either. */
  nxdomain: boolean;
  /** The control fetched the page (a status code, no failure). */
  fetched: boolean;
  /** The control tried to fetch the page and failed (not "refused to measure"). */
  fetchFailed: boolean;
  fetchFailure: string | null;
  /** How long the control's fetch took, when the helper says (a rasad helper extension). */
  fetchMs: number | null;
  tcp(endpoint: string): { status: boolean; failure: string | null } | null;
  tls(endpoint: string): { status: boolean; failure: string | null } | null;
  /** The control's handshake for the name succeeded on this address. */
  validatesIp(ip: string): boolean;
  /** The ASN the control reports for an address (ip_info), when it knows one. */
  asnOf(ip: string): number | null;
}

export function isControlAnswer(value: unknown): value is ControlAnswer {
  const c = value as ControlAnswer | null;
  return (
    typeof c === 'object' && c !== null &&
    typeof c.dns === 'object' && c.dns !== null && Array.isArray(c.dns.addrs) &&
    typeof c.tcp_connect === 'object' && c.tcp_connect !== null &&
    typeof c.http_request === 'object' && c.http_request !== null
  );
}

export function controlFacts(value: unknown): ControlFacts | null {
  if (!isControlAnswer(value)) return null;
  const answer = value;
  const addrs = new Set(answer.dns.addrs.filter((a) => typeof a === 'string' && isIP(a) !== 0).map(normalizeIp));
  const dnsFailure = answer.dns.failure ?? null;
  const httpFailure = answer.http_request.failure ?? null;
  const fetchMs = (answer.http_request as { x_rasad_runtime_ms?: unknown }).x_rasad_runtime_ms;
  const ipInfo = new Map<string, { asn: number; flags: number }>();
  for (const [ip, info] of Object.entries(answer.ip_info ?? {})) if (info && typeof info === 'object') ipInfo.set(normalizeIp(ip), info);
  // Keyed by a normalised endpoint: the helper echoes our spelling of an IPv6 address, which may not be canonical.
  const tcpByEndpoint = normalisedEndpoints(answer.tcp_connect);
  const tlsByEndpoint = normalisedEndpoints(answer.tls_handshake ?? {});
  const measured = (entry: { status: boolean; failure: string | null } | undefined) =>
    entry && typeof entry === 'object' && entry.failure !== CONTROL_NOT_MEASURED ? { status: entry.status === true, failure: entry.failure ?? null } : null;
  return {
    answer,
    addrs,
    dnsFailure,
    resolved: dnsFailure === null && addrs.size > 0,
    nxdomain: dnsFailure !== null && CONTROL_NXDOMAIN.has(dnsFailure),
    fetched: httpFailure === null && answer.http_request.status_code > 0,
    fetchFailed: httpFailure !== null && httpFailure !== CONTROL_NOT_MEASURED,
    fetchFailure: httpFailure,
    fetchMs: typeof fetchMs === 'number' && Number.isFinite(fetchMs) ? fetchMs : null,
    tcp: (endpoint) => measured(tcpByEndpoint.get(normaliseEndpoint(endpoint))),
    tls: (endpoint) => measured(tlsByEndpoint.get(normaliseEndpoint(endpoint))),
    validatesIp(ip) {
      const wanted = normalizeIp(ip);
      // th.go: flag 8 (1 << 3) marks an address on which the helper's TLS handshake for the name succeeded.
      const flags = ipInfo.get(wanted)?.flags;
      if (typeof flags === 'number' && (flags & 8) !== 0) return true;
      return Object.entries(answer.tls_handshake ?? {}).some(([endpoint, r]) => r?.status === true && endpointIp(endpoint) === wanted);
    },
    asnOf(ip) {
      const asn = ipInfo.get(normalizeIp(ip))?.asn;
      return typeof asn === 'number' && asn > 0 ? asn : null;
    },
  };
}

export function endpointKey(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function normaliseEndpoint(endpoint: string): string {
  const port = /:(\d+)$/.exec(endpoint)?.[1] ?? '';
  return endpointKey(endpointIp(endpoint), Number(port));
}

function normalisedEndpoints<T>(entries: Record<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [endpoint, value] of Object.entries(entries ?? {})) out.set(normaliseEndpoint(endpoint), value);
  return out;
}

function endpointIp(endpoint: string): string {
  const m = /^\[(.+)\]:\d+$/.exec(endpoint) ?? /^([^:]+):\d+$/.exec(endpoint);
  return m ? normalizeIp(m[1]!) : '';
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
