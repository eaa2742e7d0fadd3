// The steps of a web unit in OONI's template data formats: one DNS query
// (df-002-dnst), TLS handshake (df-006-tlshandshake), connect of a hop
// (df-005-tcpconnect) and HTTP transaction (df-001-httpt), each from one of
// rasad's records. ooni.ts puts them together into web_connectivity's
// test_keys, with their transactions and network events.
import type { DnsAnswer, DnsResolution, HttpHop, TlsHandshakeResult } from '../../../probes/types.js';
import { FAILURE } from '../../../probes/failure.js';
import { handshakeEvents, type NetworkEvent } from '../../export/ooni/web-transactions.js';

/** The tag of the innocuous-SNI comparison handshake: not the site's own step. */
export const INNOCUOUS_SNI_TAG = 'x_rasad_innocuous_sni';
/** The tag of a handshake on 443 made for an http:// input's DNS consistency only. */
export const DNS_CONSISTENCY_TAG = 'x_rasad_dns_consistency';

// DNS RCODEs by name (RFC 1035 4.1.1, RFC 6895): df-002 records the number.
export const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
// df-002's engine names: rasad's "system" is a getaddrinfo lookup.
export const ENGINES: Record<string, string> = { system: 'getaddrinfo', udp: 'udp', doh: 'doh' };


/** Seconds, rounded to the microsecond (OONI's own precision). */
export function seconds(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function arr<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

export function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

// A unit's hops share a few URLs, and an export parses each hop's: remembered, up to a bound.
const portsOfUrls = new Map<string, number>();

export function portOf(url: string): number {
  let port = portsOfUrls.get(url);
  if (port === undefined) {
    port = parsedPort(url);
    if (portsOfUrls.size >= 1024) portsOfUrls.clear();
    portsOfUrls.set(url, port);
  }
  return port;
}

export function parsedPort(url: string): number {
  try {
    const u = new URL(url);
    if (u.port) return Number(u.port);
    return u.protocol === 'https:' ? 443 : 80;
  } catch {
    return 0;
  }
}

/** "user-agent" as Go and browsers write it: "User-Agent" (OONI's records keep that case). */
export function canonicalHeaderName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

export function answer(a: DnsAnswer): Record<string, unknown> {
  const out: Record<string, unknown> = { answer_type: a?.type ?? null };
  if (a?.type === 'A') out.ipv4 = a.value;
  else if (a?.type === 'AAAA') out.ipv6 = a.value;
  else out.hostname = a?.value ?? '';
  out.ttl = a?.ttl ?? null;
  return out;
}

export function query(hostname: string, r: DnsResolution, shift: number, transactionId: number): Record<string, unknown> {
  const q: Record<string, unknown> = {
    answers: arr<DnsAnswer>(r.answers).map(answer),
    engine: ENGINES[r.engine] ?? 'unknown',
    failure: r.failure ?? null,
    hostname,
    query_type: r.query_type ?? 'ANY',
    resolver_hostname: null,
    resolver_port: null,
    resolver_address: r.engine === 'system' ? '' : (r.resolver ?? ''),
    t0: seconds(shift + num(r.t0)),
    t: seconds(shift + num(r.t)),
    transaction_id: transactionId,
  };
  if (r.rcode !== null && r.rcode !== undefined && r.rcode in RCODES) q.rcode = RCODES[r.rcode];
  // Every message that arrived for the query: two with different answers is on-path injection.
  q.x_responses = arr<{ t: number; rcode: string; answers: DnsAnswer[] }>(r.responses).map((resp) => ({
    t: seconds(shift + num(resp?.t)),
    rcode: resp?.rcode ?? null,
    answers: arr<DnsAnswer>(resp?.answers).map(answer),
  }));
  q.x_bogons = arr<string>(r.bogons);
  q.x_injection_suspected = r.injection_suspected === true;
  return q;
}

export interface TlsStep {
  entry: Record<string, unknown>;
  events: NetworkEvent[];
}

/** Which kind of handshake `h` is, by its tag: the site's own (no tag), the comparison, or a consistency check. */
export function tagsOf(h: TlsHandshakeResult, purpose: unknown): string[] {
  if (h.innocuous) return [INNOCUOUS_SNI_TAG];
  if (h.purpose === 'dns_consistency' || purpose === 'dns_consistency') return [DNS_CONSISTENCY_TAG];
  return [];
}

export const CERTIFICATE_FAILURES: ReadonlySet<string> = new Set([FAILURE.sslInvalidHostname, FAILURE.sslUnknownAuthority, FAILURE.sslInvalidCertificate]);

export function isCertificateFailure(failure: string | null | undefined): boolean {
  return typeof failure === 'string' && CERTIFICATE_FAILURES.has(failure);
}

export function tlsHandshake(h: TlsHandshakeResult, shift: number, transactionId: number, tags: string[]): TlsStep {
  const address = endpoint(String(h.ip), num(h.port));
  const t0 = seconds(shift + num(h.t0));
  const t = seconds(shift + num(h.t));
  const certs = arr<unknown>(h.peer_certificates).filter((c): c is string => typeof c === 'string');
  // The innocuous name is not the server's: its certificate is expected not
  // to match, so it is a handshake without verification (df-006
  // no_tls_verify), and a certificate verdict is no failure of it. OONI's
  // pipeline joins steps by address too, and would otherwise read that
  // mismatch as the site's own TLS failure.
  const failure = h.innocuous && isCertificateFailure(h.failure) ? null : (h.failure ?? null);
  const entry: Record<string, unknown> = {
    network: 'tcp',
    address,
    cipher_suite: typeof h.cipher_suite === 'string' ? h.cipher_suite : '',
    failure,
    negotiated_protocol: h.alpn ?? '',
    no_tls_verify: h.innocuous === true,
    // df-006 MaybeBinaryData: the DER bytes, base64.
    peer_certificates: certs.map((data) => ({ format: 'base64', data })),
    server_name: h.server_name ?? '',
    t0,
    t,
    tags,
    tls_version: h.tls_version ?? '',
    transaction_id: transactionId,
    x_cert_validation: h.cert_validation ?? null,
    x_peer_certificate: h.peer_certificate ?? null,
  };
  if (failure !== (h.failure ?? null)) entry.x_certificate_failure = h.failure;
  if (h.purpose) entry.x_purpose = h.purpose;
  // The connect's end: recorded since connect_ms was; before, the handshake's start when known.
  const connectEnd =
    typeof h.connect_ms === 'number' ? Math.min(t, seconds(t0 + h.connect_ms / 1000)) : typeof h.handshake_ms === 'number' ? Math.max(t0, seconds(t - h.handshake_ms / 1000)) : t0;
  const events = handshakeEvents({ address, t0, t, connectEnd, connectFailure: null, failure, transactionId, tags });
  return { entry, events };
}

/** A handshake whose TCP connect failed never reached TLS: it is kept under an x_ key, not as a TLS failure. */
export function unconnected(h: TlsHandshakeResult, shift: number, transactionId: number, tags: string[]): { entry: Record<string, unknown>; event: NetworkEvent } {
  const address = endpoint(String(h.ip), num(h.port));
  const t0 = seconds(shift + num(h.t0));
  const t = seconds(shift + num(h.t));
  const [event] = handshakeEvents({ address, t0, t, connectEnd: t, connectFailure: h.failure ?? 'unknown_failure', failure: null, transactionId, tags });
  return { entry: { address, server_name: h.server_name ?? '', failure: h.failure ?? null, t0, t, tags, transaction_id: transactionId }, event: event! };
}

/** The TCP connect an HTTP hop made itself, for a request whose endpoint the TCP probe did not connect to. */
export function hopConnect(hop: HttpHop, shift: number, transactionId: number): Record<string, unknown> {
  const t0 = seconds(shift + num(hop.t0));
  const failed = hop.failed_operation === 'connect';
  const connectMs = hop.timings && typeof hop.timings.connect_ms === 'number' ? hop.timings.connect_ms : null;
  return {
    ip: hop.ip,
    port: portOf(hop.url),
    status: { failure: failed ? (hop.failure ?? null) : null, success: !failed },
    t0,
    t: failed || connectMs === null ? seconds(shift + num(hop.t)) : seconds(t0 + connectMs / 1000),
    transaction_id: transactionId,
    x_rasad_by: 'http',
  };
}

export function request(hop: HttpHop, depth: number, shift: number, transactionId: number): Record<string, unknown> {
  const headers = hop.headers && typeof hop.headers === 'object' ? hop.headers : {};
  const sent = arr<unknown>(hop.request_headers).filter(
    (h): h is [string, string] => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string',
  );
  const sentList = sent.map(([name, value]) => [canonicalHeaderName(name), value] as [string, string]);
  const gotResponse = hop.status_code !== null && hop.status_code !== undefined;
  const sampleBytes = typeof hop.body_sample === 'string' ? Buffer.byteLength(hop.body_sample) : 0;
  const r: Record<string, unknown> = {
    network: 'tcp',
  };
  if (hop.ip) r.address = endpoint(hop.ip, portOf(hop.url));
  if (hop.negotiated_protocol) r.alpn = hop.negotiated_protocol;
  Object.assign(r, {
    failure: hop.failure ?? null,
    request: {
      body: '',
      body_is_truncated: false,
      // The headers rasad gave its HTTP client (recorded since request_headers was; before, none).
      headers: Object.fromEntries(sentList),
      headers_list: sentList,
      method: 'GET',
      tor: { exit_ip: null, exit_name: null, is_tor: false },
      url: hop.url ?? '',
      x_transport: 'tcp',
    },
    response: {
      body: gotResponse ? (hop.body_sample ?? '') : null,
      body_is_truncated: hop.body_truncated === true || num(hop.body_length) > sampleBytes,
      code: gotResponse ? hop.status_code : 0,
      headers,
      headers_list: Object.entries(headers),
      x_body_length: hop.body_length ?? null,
      x_body_sha256: hop.body_sha256 ?? null,
      x_title: hop.title ?? null,
    },
    t0: seconds(shift + num(hop.t0)),
    t: seconds(shift + num(hop.t)),
    tags: [`depth=${depth}`],
    transaction_id: transactionId,
    x_failed_operation: hop.failed_operation ?? null,
  });
  return r;
}
