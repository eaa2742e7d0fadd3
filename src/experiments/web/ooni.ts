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
import type { Measurement, Verdict } from '../../model.js';
import { parseStoredTime } from '../../export/time.js';

/** The classic (pre-LTE) web_connectivity key set is what these test_keys follow. */
export const WEB_CONNECTIVITY_TEST_VERSION = '0.4.3';
export const WEB_CONNECTIVITY_EXTENSIONS = { dnst: 0, httpt: 0, tcpconnect: 0, tlshandshake: 0 };

export type Blocking = false | 'dns' | 'tcp_ip' | 'http-failure' | 'http-diff' | null;

/**
 * OONI's `blocking` and `accessible` (ts-017 "Notable blocking and accessible
 * combinations") for a rasad verdict. Verdicts web_connectivity has no word
 * for (a session cut, throttling, an offline probe, inconclusive) are null/null;
 * x_rasad_verdict says what they are.
 */
export function blockingOf(verdict: string): { blocking: Blocking; accessible: boolean | null } {
  switch (verdict as Verdict) {
    case 'ok':
      return { blocking: false, accessible: true };
    case 'down':
    case 'site.geoblocked':
      // The site refuses this country itself: not the state's blocking, but not accessible either.
      return { blocking: false, accessible: false };
    case 'dns.nxdomain':
    case 'dns.injected':
    case 'dns.timeout':
      return { blocking: 'dns', accessible: false };
    case 'tcp.blocked':
      return { blocking: 'tcp_ip', accessible: false };
    case 'tls.reset':
    case 'http.reset':
      // ts-017: "http-failure" covers TLS interference too, for historical reasons.
      return { blocking: 'http-failure', accessible: false };
    case 'http.blockpage':
    case 'http.diff':
      return { blocking: 'http-diff', accessible: false };
    default:
      return { blocking: null, accessible: null };
  }
}

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

function portOf(url: string): number {
  try {
    const u = new URL(url);
    if (u.port) return Number(u.port);
    return u.protocol === 'https:' ? 443 : 80;
  } catch {
    return 0;
  }
}

function answer(a: DnsAnswer): Record<string, unknown> {
  const out: Record<string, unknown> = { answer_type: a?.type ?? null };
  if (a?.type === 'A') out.ipv4 = a.value;
  else if (a?.type === 'AAAA') out.ipv6 = a.value;
  else out.hostname = a?.value ?? '';
  out.ttl = a?.ttl ?? null;
  return out;
}

function query(hostname: string, r: DnsResolution, shift: number): Record<string, unknown> {
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

function tlsHandshake(h: TlsHandshakeResult, shift: number): Record<string, unknown> {
  return {
    network: 'tcp',
    address: endpoint(String(h.ip), num(h.port)),
    cipher_suite: '',
    failure: h.failure ?? null,
    negotiated_protocol: h.alpn ?? '',
    no_tls_verify: false,
    // rasad keeps the leaf's names, not its DER bytes.
    peer_certificates: [],
    server_name: h.server_name ?? '',
    t0: seconds(shift + num(h.t0)),
    t: seconds(shift + num(h.t)),
    tags: h.innocuous ? ['x_rasad_innocuous_sni'] : [],
    tls_version: h.tls_version ?? '',
    x_cert_validation: h.cert_validation ?? null,
    x_peer_certificate: h.peer_certificate ?? null,
  };
}

function request(hop: HttpHop, depth: number, shift: number): Record<string, unknown> {
  const headers = hop.headers && typeof hop.headers === 'object' ? hop.headers : {};
  const gotResponse = hop.status_code !== null && hop.status_code !== undefined;
  const sampleBytes = typeof hop.body_sample === 'string' ? Buffer.byteLength(hop.body_sample) : 0;
  const r: Record<string, unknown> = {
    network: 'tcp',
  };
  if (hop.ip) r.address = endpoint(hop.ip, portOf(hop.url));
  Object.assign(r, {
    failure: hop.failure ?? null,
    request: {
      // rasad records the response, not the request it sent (a browser-like GET).
      body: '',
      body_is_truncated: false,
      headers: {},
      headers_list: [],
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
  const tcpConnect: unknown[] = [];
  const tlsHandshakes: unknown[] = [];
  const requests: unknown[] = [];
  let dnsFailure: string | null = null;
  let httpFailure: string | null = null;
  let httpFailedOperation: string | null = null;

  unit.forEach((m, i) => {
    const shift = ((starts[i] ?? startMs) - startMs) / 1000;
    const details = (m.details ?? {}) as unknown;
    switch (m.probe) {
      case 'dns': {
        const d = details as Partial<DnsDetails>;
        for (const r of arr<DnsResolution>(d.resolutions)) if (r) queries.push(query(String(d.hostname ?? ''), r, shift));
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
          });
        }
        break;
      case 'tls':
        for (const h of arr<TlsHandshakeResult>((details as Partial<TlsDetails>).handshakes)) if (h) tlsHandshakes.push(tlsHandshake(h, shift));
        break;
      case 'http': {
        const hops = arr<HttpHop>((details as Partial<HttpDetails>).hops).filter(Boolean);
        // ts-017: requests are in time-reverse order, the final response first.
        for (let depth = hops.length - 1; depth >= 0; depth--) requests.push(request(hops[depth]!, depth, shift));
        httpFailure = m.failure ?? null;
        httpFailedOperation = m.failed_operation ?? null;
        break;
      }
    }
  });

  // Every measurement of a unit carries the unit's verdict; the last probe's is the settled one.
  const last = unit[unit.length - 1];
  const verdict = String(last?.verdict ?? 'inconclusive');
  const control = unit.find((m) => m.control)?.control ?? null;
  const controlFailure = control ? null : controlFailureOf(unit);
  const { blocking, accessible } = blockingOf(verdict);

  const testKeys: Record<string, unknown> = {
    agent: 'redirect',
    socksproxy: null,
    queries,
    tcp_connect: tcpConnect,
    tls_handshakes: tlsHandshakes,
    requests,
    dns_experiment_failure: dnsFailure,
    http_experiment_failure: httpFailure,
    control_failure: controlFailure,
    control: control ?? {},
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
