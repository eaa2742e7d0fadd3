// The stored and exported shapes. The verdict vocabulary and the export field
// names are contracts that outside tests drive: add to them, never rename.
import type { ProbeKind, ProbeResult } from '../probes/types.js';

export const VERDICTS = [
  'ok',
  'down',
  'dns.nxdomain',
  'dns.injected',
  'dns.timeout',
  'tcp.blocked',
  'tls.reset',
  'http.reset',
  'http.blockpage',
  'http.diff',
  'tls.session_cut',
  'throttled',
  'protocol.filtered',
  'network.offline',
  'network.captive',
  'site.geoblocked',
  'protocol.blocked',
  'inconclusive',
] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Verdicts that say nothing about the state's censorship of the target: the site's own doing, the probe's network, or too little evidence. */
export const NOT_BLOCKING_VERDICTS: ReadonlySet<Verdict> = new Set<Verdict>(['ok', 'down', 'network.offline', 'network.captive', 'site.geoblocked', 'inconclusive']);

/** Verdicts that say "this target is blocked". */
export const BLOCKING_VERDICTS: ReadonlySet<Verdict> = new Set<Verdict>(VERDICTS.filter((v) => !NOT_BLOCKING_VERDICTS.has(v)));

export const EVENT_KINDS = [
  'blocked',
  'unblocked',
  'https_unblocked',
  'shutdown',
  'restored',
  'network.offline',
  'network.online',
  'control.down',
  'control.up',
  'storage.failing',
  'storage.ok',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * The OONI Web Connectivity test-helper answer (ooni/spec ts-017, probe-cli
 * internal/model/th.go). NXDOMAIN is the legacy string "dns_name_error".
 */
export interface ControlAnswer {
  dns: { failure: string | null; addrs: string[] };
  tcp_connect: Record<string, { status: boolean; failure: string | null }>;
  tls_handshake?: Record<string, { server_name: string; status: boolean; failure: string | null }>;
  http_request: {
    body_length: number;
    failure: string | null;
    title: string;
    headers: Record<string, string>;
    status_code: number;
  };
  ip_info?: Record<string, { asn: number; flags: number }>;
}

/** The verdict attached to a measurement, with the evidence it rests on. */
export interface VerdictResult {
  verdict: Verdict;
  verdict_reason: string;
  /** Evidence: timings, failure strings, ratios (`cut_after_s`, `ratio`), the control's answer summary. */
  evidence: Record<string, unknown>;
}

/** One stored measurement: a probe's result for one input in one run, plus its verdict. */
export interface Measurement<D = unknown> extends ProbeResult<D> {
  measurement_id: string;
  run_id: string;
  /** The target as written in targets.txt. */
  target: string;
  /** The input measured (a URL or tcp:// endpoint). */
  url: string;
  category: string;
  tags: string[];
  probe: ProbeKind;
  verdict: Verdict;
  verdict_reason: string;
  /** The control helper's answer for this input, or null when none answered. */
  control: ControlAnswer | null;
  /** The verdict's evidence. */
  evidence: Record<string, unknown>;
}

export interface StoredEvent {
  event_id: string;
  kind: EventKind;
  /** The target input the event is about; null for network-wide events (shutdown, offline). */
  target: string | null;
  url: string | null;
  /** The blocking verdict for `blocked`, the previous one for `unblocked`. */
  verdict: Verdict | null;
  at: string;
  /** The measurement ids that confirmed the change. */
  measurement_ids: string[];
  details: Record<string, unknown>;
}
