// The details record of each probe kind, as stored and exported: what a
// ProbeResult<D> (types.ts) carries as D. Part of the probes' contract;
// types.ts re-exports all of it, so importers name types.ts.
import type { Failure, Operation } from './failure.js';

// ---------------------------------------------------------------------------
// Probe-specific details. Times named `t0`/`t` are seconds since the probe's
// started_at, as in OONI's data formats.

export interface DnsAnswer {
  type: 'A' | 'AAAA' | 'CNAME';
  /** The address (A/AAAA) or name (CNAME). */
  value: string;
  ttl: number | null;
}

/** One DNS message that arrived for a query (the UDP client records all of them). */
export interface DnsResponse {
  t: number;
  rcode: string; // "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", ...
  answers: DnsAnswer[];
  /** The TC (truncated) flag was set. */
  truncated?: boolean;
}

export interface DnsResolution {
  engine: 'system' | 'udp' | 'doh';
  /** "getaddrinfo", "ip:port" or the DoH URL. */
  resolver: string;
  query_type: 'A' | 'AAAA' | 'ANY';
  t0: number;
  t: number;
  failure: Failure;
  rcode: string | null;
  /** The answers of the first response (what a normal client would use). */
  answers: DnsAnswer[];
  /** Every response that arrived, in order (udp only; others hold one). */
  responses: DnsResponse[];
  /** Addresses among the answers that are bogons or fingerprinted injection addresses. */
  bogons: string[];
  /** Two responses with different answers arrived for one query: on-path injection. */
  injection_suspected: boolean;
  /** udp: packets that arrived but were not recorded (wrong ID, not a response to this question, undecodable, or past the cap on recorded responses). */
  ignored_responses?: number;
}

export interface DnsDetails {
  hostname: string;
  resolutions: DnsResolution[];
  /** Distinct A/AAAA addresses over all resolutions, in the order found. */
  addresses: string[];
}

export interface TcpConnectResult {
  ip: string;
  port: number;
  t0: number;
  t: number;
  failure: Failure;
  connect_ms: number | null;
}

export interface TcpDetails {
  connects: TcpConnectResult[];
  /**
   * false when every IPv6 connect failed with network_unreachable: this
   * probe has no IPv6 route, and those failures say nothing about the site.
   * true when an IPv6 connect got further; absent when none was tried.
   */
  ipv6_available?: boolean;
}

export type CertValidation = 'valid' | 'wrong_host' | 'unknown_authority' | 'expired' | 'invalid' | null;

export interface TlsHandshakeResult {
  ip: string;
  port: number;
  server_name: string;
  /** true for the innocuous-SNI comparison handshake. */
  innocuous: boolean;
  t0: number;
  t: number;
  failure: Failure;
  /** Validation of the peer certificate for `server_name` (null when the handshake failed before it). */
  cert_validation: CertValidation;
  tls_version: string | null;
  alpn: string | null;
  handshake_ms: number | null;
  /** Subject CN and SANs of the leaf, for the record. */
  peer_certificate: { subject_cn: string | null; san: string[]; issuer_cn: string | null; not_after: string | null } | null;
  /**
   * 'dns_consistency': a handshake on 443 for an http:// input, made only
   * to learn whether TLS for the name validates on the resolved address
   * (OONI's Web Connectivity does the same); its failure is no TLS blocking.
   */
  purpose?: 'dns_consistency';
  /** How long the TCP connect before the handshake took; null when it failed (then `failure` is the connect's). */
  connect_ms?: number | null;
  /** The negotiated cipher suite, IANA name (e.g. TLS_AES_128_GCM_SHA256); absent in records made before it was recorded. */
  cipher_suite?: string | null;
  /**
   * The peer's certificate chain, leaf first, each certificate base64 DER
   * (OONI's peer_certificates). Kept for real-SNI handshakes only, capped
   * (probes/tls.ts PEER_CHAIN_MAX_CERTS / PEER_CERT_MAX_BYTES); a chain
   * another address of the same probe run already showed is [] here.
   */
  peer_certificates?: string[];
}

export interface TlsDetails {
  handshakes: TlsHandshakeResult[];
  /** As TcpDetails.ipv6_available, from the handshakes' connects. */
  ipv6_available?: boolean;
  /** Set for an http:// input: every handshake is a DNS-consistency check. */
  purpose?: 'dns_consistency';
}

export interface HttpHop {
  url: string;
  /** The IP this hop connected to. */
  ip: string | null;
  t0: number;
  t: number;
  failure: Failure;
  failed_operation: Operation | null;
  status_code: number | null;
  headers: Record<string, string>;
  title: string | null;
  /** Bytes of body read (up to the read limit). */
  body_length: number | null;
  /** true when the body was longer than the read limit and reading stopped. */
  body_truncated: boolean;
  /** The first bodyCapBytes of the body, UTF-8 (invalid bytes replaced). */
  body_sample: string | null;
  /** SHA-256 (hex) of the capped body. */
  body_sha256: string | null;
  timings: { connect_ms: number | null; tls_ms: number | null; first_byte_ms: number | null; total_ms: number | null };
  /** The HTTP version spoken on this hop: 'h2' or 'http/1.1' (ALPN over TLS); null when no connection was made. */
  negotiated_protocol?: 'h2' | 'http/1.1' | null;
  /** The request headers rasad gave the HTTP client for this hop, in order, as [name, value] (the client may add framing headers). */
  request_headers?: [string, string][];
}

export interface HttpDetails {
  /** Each hop of the redirect chain, in order; the last is the final response or failure. */
  hops: HttpHop[];
  /** The chain went on past the redirect limit; the last hop's failure says so. */
  redirect_limit_reached?: boolean;
}

/**
 * How a long-lived session (or one connection of it) ended.
 * - `horizon`: it lived until the probe stopped it.
 * - `reset`: RST (connection_reset). Abrupt.
 * - `timeout`: silence, no answer within the interval plus the timeout. Abrupt.
 * - `eof`: a bare FIN; on TLS, a FIN without close_notify (abrupt); on plain HTTP, graceful.
 * - `close_notify`: TLS close_notify, then FIN: the server closed cleanly. Graceful.
 * - `http_close`: the server announced `Connection: close` and closed. Graceful.
 * - `keepalive_limit`: the server closed an idle connection at its announced
 *   `Keep-Alive: timeout=N`, or after its `max=M` requests. Graceful.
 * - `error`: anything else (a malformed response, a TLS error, an abort).
 * - `connect_failed`: the connection or handshake never came up.
 */
export type SessionEnd =
  | 'horizon'
  | 'reset'
  | 'eof'
  | 'timeout'
  | 'error'
  | 'connect_failed'
  | 'close_notify'
  | 'http_close'
  | 'keepalive_limit';

/** One connection of a long-lived session: a graceful close is followed by a fresh connection. */
export interface SessionSegment {
  /** Seconds from the first connection's start to this one's. */
  started_after_s: number;
  /** This connection's age when it ended; null when it reached the horizon or never came up. */
  died_after_s: number | null;
  end: SessionEnd;
  /** Only abrupt ends (RST, silence, a FIN without close_notify on TLS) can count toward a cut. */
  abrupt: boolean;
  failure: Failure;
  requests_completed: number;
  bytes_received: number;
  /** The server's last `Keep-Alive` header on this connection, parsed (null: none). */
  keep_alive: { timeout_s: number | null; max: number | null } | null;
}

export interface SessionResult {
  kind: 'tls' | 'plain';
  ip: string | null;
  port: number;
  /**
   * Age of the connection that died abruptly (RST, silence, a FIN without
   * close_notify on TLS), in seconds; null when none did. Graceful closes
   * are not deaths: they are in `segments`.
   */
  died_after_s: number | null;
  /** The abrupt end, when there was one; else the last connection's end (`horizon` when it lived). */
  end: SessionEnd;
  failure: Failure;
  /** Totals over every connection of the session. */
  bytes_received: number;
  requests_completed: number;
  /** true when the session died abruptly (then `died_after_s` is its age). */
  abrupt?: boolean;
  /** Every connection in order; more than one when the server closed gracefully and a fresh one was opened. */
  segments?: SessionSegment[];
}

export interface TlsDurationDetails {
  horizon_s: number;
  tls: SessionResult;
  /** The plain-TCP comparison session to the same host, kept busy the same way. */
  plain: SessionResult | null;
}

export interface ThroughputSample {
  /** Seconds since the start of the download. */
  t: number;
  /** Total bytes received by t. */
  bytes: number;
}

/** Why the throughput probe downloaded the resource it did. */
export type ThroughputChoice =
  /** The target's `throughput=URL` tag. */
  | 'tag'
  /** options.throughputPath. */
  | 'path'
  /** The largest 2xx resource the page links to on the same site. */
  | 'largest_linked'
  /** The page itself: nothing it links to was larger (or it links to nothing usable). */
  | 'page';

export interface ThroughputCandidate {
  url: string;
  /** The size learned by HEAD (or a one-byte range request); null when unknown. */
  size: number | null;
  status_code: number | null;
}

export interface ThroughputDetails {
  /** What was downloaded: the final URL, after redirects. */
  url: string;
  bytes: number;
  duration_s: number;
  time_to_first_byte_ms: number | null;
  samples: ThroughputSample[];
  /** Bytes/s over the steady part of the download (after the first second or the first 10%). */
  steady_rate_bps: number | null;
  /** Coefficient of variation of the per-sample rate: low is a policer, high is congestion. */
  rate_cv: number | null;
  shape: 'flat' | 'noisy' | 'unknown';
  domestic: boolean;
  /** HTTP status of the download's response (null when none arrived): a 403 blockpage is no throughput figure. */
  status_code?: number | null;
  /** The URL first asked for (the input, the tag's URL, or the chosen resource), before redirects. */
  requested_url?: string;
  /** Redirects followed to reach `url`, in order (at most 5). */
  redirects?: string[];
  /** Why this resource: a tag, the configured path, the largest linked resource, or the page itself. */
  resource_choice?: ThroughputChoice;
  /** The linked resources sized when looking for the largest (at most a few). */
  candidates?: ThroughputCandidate[];
  /** true when the body was read to its end (false: the byte or time cap, or a failure, stopped it). */
  complete?: boolean;
}

export interface ProtocolFlowResult {
  kind: 'valid_first' | 'junk_first';
  port: number;
  failure: Failure;
  /** true when data sent after the first packets still got an answer or an echo. */
  later_data_flows: boolean;
  bytes_sent: number;
  bytes_received: number;
  /** The operation the flow's failure happened in. */
  failed_operation?: Operation | null;
  /** Writes (packets) that went out before the flow ended. */
  writes_sent?: number;
  /**
   * How many writes had gone out when the first byte came back (null: none came).
   * A server that answers the first junk packet and closes is strict, not filtered.
   */
  first_byte_after_write?: number | null;
  /** The address this flow went to (the same as ProtocolDetails.ip), so flows can be compared across endpoints. */
  ip?: string;
}

export interface ProtocolDetails {
  /** The endpoint address tested (one per probe run); with each flow's port it names the endpoint. */
  ip: string | null;
  flows: ProtocolFlowResult[];
}
