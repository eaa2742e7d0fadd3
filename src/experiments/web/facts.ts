// Facts first: one attempt's raw records (dns, tcp, tls, http) become typed,
// validated facts before any layer judges them. A layer reads facts, never
// another layer's raw record, and a malformed record yields empty facts
// rather than a crash. (ooni/probe-cli webconnectivitylte does the same:
// collect, then analyse.)
import { isIP } from 'node:net';
import { isBogon } from '../../../probes/bogons.js';
import { FAILURE } from '../../../probes/failure.js';
import type {
  DnsDetails,
  DnsResolution,
  HttpDetails,
  HttpHop,
  ProbeResult,
  TcpConnectResult,
  TcpDetails,
  TlsDetails,
  TlsHandshakeResult,
} from '../../../probes/types.js';
import { normalizeIp } from '../../analysis/fingerprints.js';
import type { AttemptResults, UnitObservation } from '../../analysis/observation.js';
import { controlFacts } from './control.js';

export interface WebInput {
  /** The input as given, for messages. */
  input: string;
  url: URL | null;
  host: string;
  scheme: string;
  /** The input's port (explicit, or 80/443 by scheme). */
  port: number;
  hostIsIp: boolean;
}

export interface DnsFacts {
  ran: boolean;
  /** Every A/AAAA address any local resolution saw (first answers, later responses, bogons), normalised. */
  addresses: string[];
  /** Bogon addresses among them. */
  bogons: string[];
  /** Two different answers arrived for one query. */
  injectionSuspected: boolean;
  /** The local resolvers' failure, or null when one of them answered with an address. */
  localFailure: string | null;
  resolutions: DnsResolution[];
}

export interface Connect {
  ip: string;
  port: number;
  failure: string | null;
  connectMs: number | null;
}

export interface TcpFacts {
  ran: boolean;
  /** Connects to the input's own port; IPv6 addresses this machine cannot route to are left out. */
  connects: Connect[];
  /** Connects to the other web port (the probe tries both). */
  otherPort: Connect[];
  /** IPv6 connects dropped because this machine has no IPv6 route. */
  ipv6Unroutable: string[];
}

export interface TlsFacts {
  /** Handshakes with the input's name as SNI, on the input's port, routable addresses only. */
  named: TlsHandshakeResult[];
  /** Handshakes with the name as SNI on any port (an http:// input's 443 check included). */
  namedAnyPort: TlsHandshakeResult[];
  innocuous: TlsHandshakeResult[];
  /** Addresses that present a trusted certificate for the name: the site's own. */
  validatedIps: Set<string>;
}

export interface HttpFacts {
  ran: boolean;
  hops: HttpHop[];
  final: HttpHop | null;
  /** The probe stopped following redirects at its limit. */
  redirectLimit: boolean;
  /** The first hop fetched the input's own https URL: undici validated its certificate. */
  httpsValidatedOnHost: boolean;
  failedOperation: string | null;
}

export interface WebFacts {
  dns: DnsFacts;
  tcp: TcpFacts;
  tls: TlsFacts;
  http: HttpFacts;
}

const CERT_FAILURES = new Set<string>([FAILURE.sslInvalidHostname, FAILURE.sslUnknownAuthority, FAILURE.sslInvalidCertificate]);
const UNROUTABLE = new Set<string>([FAILURE.networkUnreachable, FAILURE.hostUnreachable]);

export function webInput(rawUrl: unknown): WebInput {
  let url: URL | null = null;
  try {
    url = new URL(String(rawUrl));
  } catch {
    url = null;
  }
  const host = url ? url.hostname.replace(/^\[|\]$/g, '').toLowerCase() : '';
  const scheme = url ? url.protocol.replace(/:$/, '') : '';
  return {
    input: String(rawUrl).slice(0, 200),
    url,
    host,
    scheme,
    port: url?.port ? Number(url.port) : scheme === 'https' ? 443 : 80,
    hostIsIp: isIP(host) !== 0,
  };
}

export function webFacts(attempt: AttemptResults, input: WebInput): WebFacts {
  const records = attempt && typeof attempt === 'object' ? attempt : {};
  const tcp = tcpFacts(records.tcp as ProbeResult<TcpDetails> | undefined, input);
  return {
    dns: dnsFacts(records.dns as ProbeResult<DnsDetails> | undefined),
    tcp,
    tls: tlsFacts(records.tls as ProbeResult<TlsDetails> | undefined, input, new Set(tcp.ipv6Unroutable)),
    http: httpFacts(records.http as ProbeResult<HttpDetails> | undefined, input),
  };
}

function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value.filter((v) => v && typeof v === 'object') as T[]) : [];
}

/**
 * Every address the local resolvers (the system's and the UDP client's, never
 * DoH) answered in one attempt, the racing answers included: what a captive
 * network rewrites (the sweep-wide rule, src/analysis/captive.ts).
 */
export function localDnsAddresses(attempt: AttemptResults): string[] {
  const dns = attempt && typeof attempt === 'object' ? (attempt.dns as ProbeResult<DnsDetails> | undefined) : undefined;
  if (!dns || typeof dns !== 'object') return [];
  const seen = new Set<string>();
  for (const r of list<DnsResolution>(dns.details?.resolutions)) {
    if (r.engine === 'doh') continue;
    for (const answer of [...list<{ type: string; value: string }>(r.answers), ...list<{ answers: unknown }>(r.responses).flatMap((resp) => list<{ type: string; value: string }>(resp.answers))]) {
      if ((answer.type === 'A' || answer.type === 'AAAA') && typeof answer.value === 'string' && isIP(answer.value) !== 0) seen.add(normalizeIp(answer.value));
    }
  }
  return [...seen];
}

/**
 * A web unit whose name the control finds nowhere (NXDOMAIN) while a local
 * resolver answered it with addresses: OONI's ghost DNS blocking, unless the
 * local resolver invents answers for every missing name. Its judge wants the
 * sweep's NXDOMAIN check (JudgeOptions.nonexistentName).
 */
export function answeredMissingName(unit: UnitObservation): boolean {
  if (!unit || unit.kind !== 'web' || !controlFacts(unit.control)?.nxdomain) return false;
  const attempts = Array.isArray(unit.attempts) ? unit.attempts : [];
  return attempts.some((attempt) => localDnsAddresses(attempt).length > 0);
}

/**
 * Where a plain-HTTP fetch of `url` ended, as a key two inputs share when
 * one server answered both: the host it was redirected to
 * (`host:portal.example`), else the exact body it got (`body:<sha256>`);
 * null for https:// (a portal cannot serve a name's valid certificate) and
 * for a fetch that got no response. A captive network's proxy sends every
 * name to the same login page (src/analysis/captive.ts).
 */
export function httpLanding(url: string, attempt: AttemptResults): string | null {
  const input = webInput(url);
  if (input.scheme !== 'http' || !attempt || typeof attempt !== 'object') return null;
  const final = finalHttpHop(attempt);
  if (!final || final.failure !== null || typeof final.status_code !== 'number') return null;
  const host = webInput(final.url).host;
  if (host && host !== input.host) return `host:${host}`;
  // An empty body is every server's: it says nothing about which one answered.
  if (!(typeof final.body_length === 'number' && final.body_length > 0)) return null;
  return typeof final.body_sha256 === 'string' && final.body_sha256 ? `body:${final.body_sha256}` : null;
}

function dnsFacts(dns: ProbeResult<DnsDetails> | undefined): DnsFacts {
  if (!dns || typeof dns !== 'object') return { ran: false, addresses: [], bogons: [], injectionSuspected: false, localFailure: null, resolutions: [] };
  const all = list<DnsResolution>(dns.details?.resolutions);
  // DoH goes around the local resolver: it says nothing about local DNS tampering.
  const local = all.filter((r) => r.engine !== 'doh');
  const resolutions = local.length > 0 ? local : all;
  const seen = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string' && isIP(value) !== 0) seen.add(normalizeIp(value));
  };
  for (const r of resolutions) {
    for (const answer of [...list<{ type: string; value: string }>(r.answers), ...list<{ answers: unknown }>(r.responses).flatMap((resp) => list<{ type: string; value: string }>(resp.answers))]) {
      if (answer.type === 'A' || answer.type === 'AAAA') add(answer.value);
    }
    for (const b of Array.isArray(r.bogons) ? r.bogons : []) add(b);
  }
  for (const a of Array.isArray(dns.details?.addresses) ? dns.details.addresses : []) add(a);
  const addresses = [...seen];
  return {
    ran: true,
    addresses,
    bogons: addresses.filter(isBogon),
    injectionSuspected: resolutions.some((r) => r.injection_suspected === true),
    localFailure: localDnsFailure(dns, resolutions),
    resolutions,
  };
}

const DNS_TIMEOUT = new Set<string>([FAILURE.timeout, FAILURE.dnsTemporary]);

/**
 * The failure of the local resolvers (system and raw UDP), or null when one
 * of them answered with an address. The probe's own failure would count a
 * DoH answer too, which goes around the local network.
 */
function localDnsFailure(dns: ProbeResult<DnsDetails>, local: DnsResolution[]): string | null {
  if (local.length === 0) return dns.failure ?? null;
  const answered = local.some((r) => list<{ type: string }>(r.answers).some((a) => a.type === 'A' || a.type === 'AAAA'));
  if (answered) return null;
  const failures = local.map((r) => r.failure).filter((f): f is string => typeof f === 'string');
  // NXDOMAIN from any local resolver says more than a timeout from another.
  return failures.find((f) => f === FAILURE.dnsNxdomain) ?? failures.find((f) => DNS_TIMEOUT.has(f)) ?? failures[0] ?? dns.failure ?? FAILURE.dnsNoAnswer;
}

function toConnect(c: TcpConnectResult): Connect {
  return { ip: normalizeIp(String(c.ip)), port: Number(c.port), failure: c.failure ?? null, connectMs: c.connect_ms ?? null };
}

function tcpFacts(tcp: ProbeResult<TcpDetails> | undefined, input: WebInput): TcpFacts {
  const all = list<TcpConnectResult>(tcp?.details?.connects).map(toConnect);
  // An IPv4-only machine cannot route IPv6: those connects say nothing about the
  // target as long as an IPv4 address was tried too.
  const anyV4 = all.some((c) => isIP(c.ip) === 4);
  const unroutable = all.filter((c) => anyV4 && isIP(c.ip) === 6 && c.failure !== null && UNROUTABLE.has(c.failure));
  const dropped = new Set(unroutable.map((c) => c.ip));
  const usable = all.filter((c) => !dropped.has(c.ip));
  return {
    ran: !!tcp && typeof tcp === 'object',
    connects: usable.filter((c) => c.port === input.port),
    otherPort: usable.filter((c) => c.port !== input.port),
    ipv6Unroutable: [...dropped],
  };
}

function tlsFacts(tls: ProbeResult<TlsDetails> | undefined, input: WebInput, unroutable: Set<string>): TlsFacts {
  const all = list<TlsHandshakeResult>(tls?.details?.handshakes).filter((h) => !unroutable.has(normalizeIp(String(h.ip))));
  const namedAnyPort = all.filter((h) => !h.innocuous && String(h.server_name ?? '').toLowerCase() === input.host);
  const validatedIps = new Set<string>();
  for (const h of all) {
    const ip = normalizeIp(String(h.ip));
    if (!h.innocuous && String(h.server_name ?? '').toLowerCase() === input.host && isValidHandshake(h)) validatedIps.add(ip);
    // "wrong_host" with the innocuous SNI: Node verified the chain and only the name failed;
    // a certificate whose SANs cover the input's name is the site's own.
    if (h.innocuous && h.cert_validation === 'wrong_host' && sanCovers(h.peer_certificate?.san ?? [], input.host)) validatedIps.add(ip);
  }
  return {
    named: namedAnyPort.filter((h) => Number(h.port) === input.port),
    namedAnyPort,
    innocuous: all.filter((h) => h.innocuous),
    validatedIps,
  };
}

/** The last HTTP hop of an attempt (what webFacts calls http.final), or null when the http probe did not run or recorded none. */
export function finalHttpHop(attempt: AttemptResults): HttpHop | null {
  const http = attempt.http as ProbeResult<HttpDetails> | undefined;
  if (!http || typeof http !== 'object') return null;
  const hops = list<HttpHop>(http.details?.hops);
  return hops[hops.length - 1] ?? null;
}

function httpFacts(http: ProbeResult<HttpDetails> | undefined, input: WebInput): HttpFacts {
  const hops = list<HttpHop>(http?.details?.hops);
  const final = hops[hops.length - 1] ?? null;
  const first = hops[0];
  const redirectLimit =
    (http?.details as { redirect_limit_reached?: unknown } | undefined)?.redirect_limit_reached === true ||
    /stopped after \d+ redirects/.test(String(final?.failure ?? ''));
  return {
    ran: !!http && typeof http === 'object',
    hops,
    final,
    redirectLimit,
    httpsValidatedOnHost: !!first && first.failure === null && first.status_code !== null && hostAndScheme(first.url) === `https ${input.host}`,
    failedOperation: (final?.failed_operation ?? http?.failed_operation ?? null) as string | null,
  };
}

function hostAndScheme(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol.replace(/:$/, '')} ${u.hostname.replace(/^\[|\]$/g, '').toLowerCase()}`;
  } catch {
    return '';
  }
}

export function isValidHandshake(h: TlsHandshakeResult): boolean {
  return h.failure === null && h.cert_validation === 'valid';
}

/** The server answered the handshake: it may still fail validation, but the path let it through. */
export function handshakeCompleted(h: TlsHandshakeResult): boolean {
  return h.failure === null || h.cert_validation !== null || (h.failure !== null && CERT_FAILURES.has(h.failure));
}

export function hasCertProblem(h: TlsHandshakeResult): boolean {
  return (h.failure !== null && CERT_FAILURES.has(h.failure)) || (h.cert_validation !== null && h.cert_validation !== 'valid');
}

/** "DNS:name" entries (Node's subjectaltname format) that cover `host`, wildcards one label deep. */
export function sanCovers(san: string[], host: string): boolean {
  return (Array.isArray(san) ? san : []).some((entry) => {
    const m = /^DNS:(.+)$/i.exec(String(entry).trim());
    if (!m) return false;
    const name = m[1]!.toLowerCase();
    if (name === host) return true;
    return name.startsWith('*.') && host.endsWith(name.slice(1)) && !host.slice(0, -name.length + 1).includes('.');
  });
}
