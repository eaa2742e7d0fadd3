// The contract between the probes and everything downstream (analysis,
// store, export). A probe takes an input and an AbortSignal and returns a
// ProbeResult. It throws only when its input is invalid; every network
// failure is recorded as an OONI failure string with the operation it
// happened in. Probes import nothing from src/store, src/analysis or
// src/alerts: the data flows one way (README: Contributing).

import type { Failure, Operation } from './failure.js';
import type { DnsDetails, TcpDetails, TlsDetails, HttpDetails, TlsDurationDetails, ThroughputDetails, ProtocolDetails } from './details.js';

// The failure vocabulary (failure.ts) and each probe's details (details.ts) are part of this contract.
export type { Failure, Operation } from './failure.js';
export type * from './details.js';

/**
 * A probe kind, as named on the command line (`--probes`): a key of
 * DetailsByKind, the record each kind returns. The runtime list of kinds, and
 * which experiment runs each, is src/experiments/registry.ts. A new probe
 * module may declare its kind by augmenting DetailsByKind from its own file.
 */
export type ProbeKind = keyof DetailsByKind;

/** One target line of targets.txt, parsed. */
export interface Target {
  /** The first column as written (a URL, a bare domain, or tcp://ip:port). */
  raw: string;
  /** Citizen Lab category code, e.g. "MMED"; "MISC" when the line has none. */
  category: string;
  /** Free-form tags: `domestic` marks a baseline/canary, `circumvention` a tool. */
  tags: string[];
  /** The inputs this target expands to: one URL, http+https for a bare domain, or a tcp:// endpoint. */
  inputs: string[];
  /** Where it came from, for error messages. */
  file?: string;
  line?: number;
}

/** Settings every probe may read. All durations in milliseconds. */
export interface ProbeOptions {
  /** Per-phase timeout (resolve, connect, handshake, first byte). */
  timeoutMs: number;
  /** UDP resolver for the raw DNS client, "ip:port". */
  resolver: string;
  /** DNS-over-HTTPS endpoint, or null to skip DoH. */
  dohUrl: string | null;
  /** How long the UDP client keeps listening after the first answer, to catch a second (injected or real) one. */
  dnsListenWindowMs: number;
  /** Extra CA certificates (PEM) to trust, e.g. the lab's CA. */
  extraCaPem?: string;
  /** The innocuous SNI for the TLS comparison handshake. */
  innocuousSni: string;
  /** Cap on the body bytes kept from an HTTP response. */
  bodyCapBytes: number;
  /** Cap on the body bytes read at all (the rest is not read). */
  bodyReadLimitBytes: number;
  /** A common browser's User-Agent. */
  userAgent: string;
  /** tls_duration: how long a session is kept in use at most. */
  sessionHorizonMs: number;
  /** tls_duration: the interval between keep-alive requests. */
  sessionIntervalMs: number;
  /** throughput: bytes to download at most. */
  throughputBytes: number;
  /** throughput: time cap for the download. */
  throughputMaxMs: number;
  /** throughput: path fetched on the target for the bulk download (default "/"). */
  throughputPath?: string;
  /** tls_duration: path requested on keep-alive (default "/"). */
  sessionPath?: string;
  /** tls_duration: port of the plain-HTTP comparison session (default 80; 0 skips it). */
  sessionPlainPort?: number;
  /** tcp/tls/http: addresses tried at most per input, IPv4 and IPv6 interleaved (default 4). */
  maxAddresses?: number;
  /** Messaging-app probes: endpoint lists and pinned host names in place of the real ones (tests point them at loopback). */
  appEndpoints?: import('./app_endpoints.js').AppEndpointOverrides;
}

/**
 * What a probe is given. The web probes are chained: `addresses` holds what the
 * DNS probe found (so that an injected answer is really connected to), and a
 * probe may be pointed at an explicit IP with a given Host/SNI.
 */
export interface ProbeInput {
  target: Target;
  /** The input being measured: a URL (http/https) or tcp://host:port. */
  url: string;
  /** Addresses to use, from the DNS probe of this input. Empty: resolve with the system resolver. */
  addresses: string[];
  options: ProbeOptions;
}

/** The envelope every probe returns. `details` is the probe-specific record. */
export interface ProbeResult<D = unknown> {
  probe: ProbeKind;
  /** ISO-8601 UTC. */
  started_at: string;
  runtime_ms: number;
  /** The failure that decides this probe's outcome (null: it succeeded). */
  failure: Failure;
  /** The operation that failure happened in. */
  failed_operation: Operation | null;
  details: D;
}

export interface Probe<D = unknown> {
  kind: ProbeKind;
  run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<D>>;
  /**
   * Builds, before a sweep, what the probe's first run would otherwise build
   * while every other probe in flight waits on it (a TLS trust store: tens of
   * ms), so that it does not skew their timings. Sends nothing. Throws
   * ProbeInputError for options the probe cannot use.
   */
  warm?(options: ProbeOptions): void;
}

/** The details type of each probe kind. */
export interface DetailsByKind {
  dns: DnsDetails;
  tcp: TcpDetails;
  tls: TlsDetails;
  http: HttpDetails;
  tls_duration: TlsDurationDetails;
  throughput: ThroughputDetails;
  protocol: ProtocolDetails;
}
