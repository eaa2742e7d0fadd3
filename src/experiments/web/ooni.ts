// A web unit (the dns, tcp, tls and http measurements of one URL in one run)
// as ONE OONI web_connectivity measurement (ooni/spec
// nettests/ts-017-web-connectivity.md), its test_keys in the template data
// formats: `queries` (df-002-dnst), `tcp_connect` (df-005-tcpconnect),
// `tls_handshakes` (df-006-tlshandshake) and `requests` (df-001-httpt).
// Times `t0`/`t` are moved from "seconds since this probe started" to
// "seconds since the unit started" (measurement_start_time). rasad's own
// observations that OONI has no key for are kept under `x_` keys, which the
// spec permits anywhere.
import type {
  DnsAnswer,
  DnsDetails,
  DnsResolution,
  HttpDetails,
  HttpHop,
  TcpDetails,
  TlsDetails,
  TlsHandshakeResult,
} from '../../../probes/types.js';
import type { ControlAnswer, Measurement } from '../../model.js';
import { parseStoredTime } from '../../export/time.js';
import { webSummaryKeys } from '../../export/ooni/web-summary.js';
import { handshakeEvents, TransactionIds, type NetworkEvent } from '../../export/ooni/web-transactions.js';

/** The classic (pre-LTE) web_connectivity key set is what these test_keys follow. */
export const WEB_CONNECTIVITY_TEST_VERSION = '0.4.3';
export const WEB_CONNECTIVITY_EXTENSIONS = { dnst: 0, httpt: 0, netevents: 0, tcpconnect: 0, tlshandshake: 0 };
/** The tag of the innocuous-SNI comparison handshake: not the site's own step. */
export const INNOCUOUS_SNI_TAG = 'x_rasad_innocuous_sni';
/** The tag of a handshake on 443 made for an http:// input's DNS consistency only. */
export const DNS_CONSISTENCY_TAG = 'x_rasad_dns_consistency';

export { blockingOf, type Blocking } from './ooni-blocking.js';
import { blockingOf } from './ooni-blocking.js';

// DNS RCODEs by name (RFC 1035 4.1.1, RFC 6895): df-002 records the number.
const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
// df-002's engine names: rasad's "system" is a getaddrinfo lookup.
const ENGINES: Record<string, string> = { system: 'getaddrinfo', udp: 'udp', doh: 'doh' };

export interface WebUnitKeys {
  testKeys: Record<string, unknown>;
  startMs: number;
  runtimeS: number;
}

/** Seconds, rounded to the microsecond (OONI's own precision). */
function seconds(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function arr<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

// A unit's hops share a few URLs, and an export parses each hop's: remembered, up to a bound.
const portsOfUrls = new Map<string, number>();

function portOf(url: string): number {
  let port = portsOfUrls.get(url);
  if (port === undefined) {
    port = parsedPort(url);
    if (portsOfUrls.size >= 1024) portsOfUrls.clear();
    portsOfUrls.set(url, port);
  }
  return port;
}

function parsedPort(url: string): number {
  try {
    const u = new URL(url);
    if (u.port) return Number(u.port);
    return u.protocol === 'https:' ? 443 : 80;
  } catch {
    return 0;
  }
}

/** "user-agent" as Go and browsers write it: "User-Agent" (OONI's records keep that case). */
function canonicalHeaderName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function answer(a: DnsAnswer): Record<string, unknown> {
  const out: Record<string, unknown> = { answer_type: a?.type ?? null };
  if (a?.type === 'A') out.ipv4 = a.value;
  else if (a?.type === 'AAAA') out.ipv6 = a.value;
  else out.hostname = a?.value ?? '';
  out.ttl = a?.ttl ?? null;
  return out;
}

function query(hostname: string, r: DnsResolution, shift: number, transactionId: number): Record<string, unknown> {
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

interface TlsStep {
  entry: Record<string, unknown>;
  events: NetworkEvent[];
}

/** Which kind of handshake `h` is, by its tag: the site's own (no tag), the comparison, or a consistency check. */
function tagsOf(h: TlsHandshakeResult, purpose: unknown): string[] {
  if (h.innocuous) return [INNOCUOUS_SNI_TAG];
  if (h.purpose === 'dns_consistency' || purpose === 'dns_consistency') return [DNS_CONSISTENCY_TAG];
  return [];
}

const CERTIFICATE_FAILURES: ReadonlySet<string> = new Set(['ssl_invalid_hostname', 'ssl_unknown_authority', 'ssl_invalid_certificate']);

function isCertificateFailure(failure: string | null | undefined): boolean {
  return typeof failure === 'string' && CERTIFICATE_FAILURES.has(failure);
}

function tlsHandshake(h: TlsHandshakeResult, shift: number, transactionId: number, tags: string[]): TlsStep {
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
function unconnected(h: TlsHandshakeResult, shift: number, transactionId: number, tags: string[]): { entry: Record<string, unknown>; event: NetworkEvent } {
  const address = endpoint(String(h.ip), num(h.port));
  const t0 = seconds(shift + num(h.t0));
  const t = seconds(shift + num(h.t));
  const [event] = handshakeEvents({ address, t0, t, connectEnd: t, connectFailure: h.failure ?? 'unknown_failure', failure: null, transactionId, tags });
  return { entry: { address, server_name: h.server_name ?? '', failure: h.failure ?? null, t0, t, tags, transaction_id: transactionId }, event: event! };
}

/** The TCP connect an HTTP hop made itself, for a request whose endpoint the TCP probe did not connect to. */
function hopConnect(hop: HttpHop, shift: number, transactionId: number): Record<string, unknown> {
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

function request(hop: HttpHop, depth: number, shift: number, transactionId: number): Record<string, unknown> {
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

/**
 * The test_keys of one web unit. `unit` holds the unit's measurements (any
 * of dns, tcp, tls, http; retries included), in time order.
 */
export function webConnectivityKeys(unit: Measurement[]): WebUnitKeys {
  const starts = unit.map((m) => parseStoredTime(m.started_at));
  const known = starts.filter((s): s is number => s !== null);
  const startMs = known.length ? Math.min(...known) : 0;
  let endMs = startMs;
  unit.forEach((m, i) => (endMs = Math.max(endMs, (starts[i] ?? startMs) + num(m.runtime_ms))));

  const queries: unknown[] = [];
  const tcpConnect: Record<string, unknown>[] = [];
  const siteHandshakes: TlsStep[] = [];
  const innocuousHandshakes: TlsStep[] = [];
  const unconnectedHandshakes: Record<string, unknown>[] = [];
  const networkEvents: NetworkEvent[] = [];
  const requests: unknown[] = [];
  const ids = new TransactionIds();
  // A retried unit repeats its probes: the n-th measurement of a kind belongs to attempt n.
  const attemptsOfKind = new Map<string, number>();
  let dnsFailure: string | null = null;
  let httpFailure: string | null = null;
  let httpFailedOperation: string | null = null;
  let finalHop: HttpHop | null = null;

  unit.forEach((m, i) => {
    const shift = ((starts[i] ?? startMs) - startMs) / 1000;
    const details = (m.details ?? {}) as unknown;
    const attempt = attemptsOfKind.get(String(m.probe)) ?? 0;
    attemptsOfKind.set(String(m.probe), attempt + 1);
    switch (m.probe) {
      case 'dns': {
        const d = details as Partial<DnsDetails>;
        for (const r of arr<DnsResolution>(d.resolutions)) if (r) queries.push(query(String(d.hostname ?? ''), r, shift, ids.fresh()));
        dnsFailure ??= m.failure ?? null;
        break;
      }
      case 'tcp':
        for (const c of arr<TcpDetails['connects'][number]>((details as Partial<TcpDetails>).connects)) {
          if (!c) continue;
          tcpConnect.push({
            ip: c.ip,
            port: num(c.port),
            status: { failure: c.failure ?? null, success: (c.failure ?? null) === null },
            t0: seconds(shift + num(c.t0)),
            t: seconds(shift + num(c.t)),
            transaction_id: ids.endpoint(attempt, endpoint(String(c.ip), num(c.port))),
          });
        }
        break;
      case 'tls': {
        const d = details as Partial<TlsDetails>;
        for (const h of arr<TlsHandshakeResult>(d.handshakes)) {
          if (!h) continue;
          const tags = tagsOf(h, d.purpose);
          // The site's own handshake joins its endpoint's transaction; the comparison is a transaction of its own.
          const id = h.innocuous ? ids.fresh() : ids.endpoint(attempt, endpoint(String(h.ip), num(h.port)));
          if (h.connect_ms === null && h.failure) {
            const u = unconnected(h, shift, id, tags);
            unconnectedHandshakes.push(u.entry);
            networkEvents.push(u.event);
            continue;
          }
          const step = tlsHandshake(h, shift, id, tags);
          (h.innocuous ? innocuousHandshakes : siteHandshakes).push(step);
        }
        break;
      }
      case 'http': {
        const hops = arr<HttpHop>((details as Partial<HttpDetails>).hops).filter(Boolean);
        // ts-017: requests are in time-reverse order, the final response first.
        for (let depth = hops.length - 1; depth >= 0; depth--) {
          const hop = hops[depth]!;
          let id: number;
          if (hop.ip) {
            const address = endpoint(hop.ip, portOf(hop.url));
            const known = ids.has(attempt, address);
            id = ids.endpoint(attempt, address);
            // Every request's transaction has its connect: the hop's own when no TCP probe connect shares its endpoint.
            if (!known) tcpConnect.push(hopConnect(hop, shift, id));
          } else {
            id = ids.fresh();
          }
          requests.push(request(hop, depth, shift, id));
        }
        finalHop = hops[hops.length - 1] ?? finalHop;
        httpFailure = m.failure ?? null;
        httpFailedOperation = m.failed_operation ?? null;
        break;
      }
    }
  });

  // The site's handshakes first: a reader that pairs steps by address alone meets them before the comparison.
  const handshakes = [...siteHandshakes, ...innocuousHandshakes];
  for (const h of handshakes) networkEvents.push(...h.events);
  networkEvents.sort((a, b) => a.t0 - b.t0 || a.t - b.t);

  // Every measurement of a unit carries the unit's verdict; the last probe's is the settled one.
  const last = unit[unit.length - 1];
  const verdict = String(last?.verdict ?? 'inconclusive');
  const control = unit.find((m) => m.control)?.control ?? null;
  const controlFailure = control ? null : controlFailureOf(unit);
  const { blocking, accessible } = blockingOf(verdict);
  const summary = webSummaryKeys(last?.evidence, finalHop, control as ControlAnswer | null);

  const testKeys: Record<string, unknown> = {
    agent: 'redirect',
    client_resolver: summary.client_resolver,
    retries: summary.retries,
    socksproxy: null,
    network_events: networkEvents,
    queries,
    tcp_connect: tcpConnect,
    tls_handshakes: handshakes.map((h) => h.entry),
    requests,
    dns_experiment_failure: dnsFailure,
    dns_consistency: summary.dns_consistency,
    http_experiment_failure: httpFailure,
    control_failure: controlFailure,
    control: control ?? {},
    body_length_match: summary.body_length_match,
    body_proportion: summary.body_proportion,
    headers_match: summary.headers_match,
    status_code_match: summary.status_code_match,
    title_match: summary.title_match,
    blocking,
    accessible,
    x_rasad_verdict: verdict,
    x_rasad_verdict_reason: last?.verdict_reason ?? '',
    x_rasad_evidence: last?.evidence ?? {},
    x_rasad_http_failed_operation: httpFailedOperation,
    x_rasad_target: last?.target ?? null,
    x_rasad_category: last?.category ?? null,
    x_rasad_tags: arr<string>(last?.tags),
    x_rasad_measurement_ids: unit.map((m) => m.measurement_id),
    x_rasad_tls_unconnected: unconnectedHandshakes,
  };
  return { testKeys, startMs, runtimeS: seconds((endMs - startMs) / 1000) };
}

/** Why there is no control: the evidence may say; otherwise OONI's catch-all. */
function controlFailureOf(unit: Measurement[]): string {
  for (const m of unit) {
    const said = (m.evidence as Record<string, unknown> | undefined)?.control_failure;
    if (typeof said === 'string' && said) return said;
  }
  return 'unknown_failure: no control answer';
}
