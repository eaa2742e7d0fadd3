// The long-lived control protocol, version 1: POST /rasad/v1/long with one
// JSON request naming what to measure from outside the country, answered
// with the same record the probe produces (ProbeResult), so the analysis
// compares like with like.
//
//   {"kind":"tls_duration","url":"https://example.org/","ip":"93.184.215.14","horizon_ms":150000,"interval_ms":5000}
//   {"kind":"throughput","url":"https://example.org/big.bin","max_bytes":1048576,"max_ms":30000}
//   {"kind":"protocol","endpoint":"93.184.215.14:443"}
//
// Every field is checked and bounded: a public helper connects where it is
// told, so what it will hold (a session's horizon, a download's size and
// time) is capped, and unknown fields are refused rather than ignored.
import { isIP } from 'node:net';
import type { ProbeResult, ProtocolDetails, ThroughputDetails, TlsDurationDetails } from '../../../probes/types.js';
import { HelperRequestError, parseEndpoint } from '../helper_request.js';

export const LONG_CONTROL_PATH = '/rasad/v1/long';
export const LONG_CONTROL_VERSION = 1;

export const LONG_LIMITS = {
  /** A TLS session is held this long at most. */
  maxHorizonMs: 300_000,
  minIntervalMs: 1_000,
  maxIntervalMs: 60_000,
  maxThroughputBytes: 64 * 1024 * 1024,
  maxThroughputMs: 60_000,
  /** The request body: a few hundred bytes in practice. */
  maxBodyBytes: 4 * 1024,
} as const;

export type LongRequest =
  | { kind: 'tls_duration'; url: string; ip?: string; horizon_ms: number; interval_ms?: number; path?: string; plain_port?: number }
  | { kind: 'throughput'; url: string; ip?: string; max_bytes?: number; max_ms?: number }
  | { kind: 'protocol'; endpoint: string };

export type LongAnswer =
  | { version: 1; kind: 'tls_duration'; result: ProbeResult<TlsDurationDetails> }
  | { version: 1; kind: 'throughput'; result: ProbeResult<ThroughputDetails> }
  | { version: 1; kind: 'protocol'; result: ProbeResult<ProtocolDetails> };

const FIELDS: Record<LongRequest['kind'], string[]> = {
  tls_duration: ['kind', 'url', 'ip', 'horizon_ms', 'interval_ms', 'path', 'plain_port'],
  throughput: ['kind', 'url', 'ip', 'max_bytes', 'max_ms'],
  protocol: ['kind', 'endpoint'],
};

const bad = (message: string) => new HelperRequestError(400, message);

function integer(v: Record<string, unknown>, name: string, min: number, max: number, required: boolean): number | undefined {
  const value = v[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw bad(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function httpUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048) throw bad('url must be an http(s) URL of at most 2048 characters');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`unsupported scheme ${url.protocol}`);
  if (url.username || url.password) throw bad('url must not carry credentials');
  return url.href;
}

function address(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || isIP(value) === 0) throw bad('ip must be an IPv4 or IPv6 address');
  return value;
}

/** Parses and checks a request body; throws HelperRequestError (400) with one clear reason. */
export function parseLongRequest(text: string): LongRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('the request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('the request is not a JSON object');
  const v = value as Record<string, unknown>;
  const kind = v.kind;
  if (kind !== 'tls_duration' && kind !== 'throughput' && kind !== 'protocol') throw bad('kind must be tls_duration, throughput or protocol');
  const unknown = Object.keys(v).find((k) => !FIELDS[kind].includes(k));
  if (unknown !== undefined) throw bad(`unknown field "${unknown.slice(0, 40)}" for kind ${kind}`);
  if (kind === 'protocol') {
    if (typeof v.endpoint !== 'string' || parseEndpoint(v.endpoint) === null) throw bad('endpoint must be "ip:port" ("[v6]:port" for IPv6)');
    return { kind, endpoint: v.endpoint };
  }
  const url = httpUrl(v.url);
  const ip = address(v.ip);
  if (kind === 'throughput') {
    const max_bytes = integer(v, 'max_bytes', 1, LONG_LIMITS.maxThroughputBytes, false);
    const max_ms = integer(v, 'max_ms', 1, LONG_LIMITS.maxThroughputMs, false);
    return { kind, url, ...(ip ? { ip } : {}), ...(max_bytes ? { max_bytes } : {}), ...(max_ms ? { max_ms } : {}) };
  }
  const horizon_ms = integer(v, 'horizon_ms', 1_000, LONG_LIMITS.maxHorizonMs, true)!;
  const interval_ms = integer(v, 'interval_ms', LONG_LIMITS.minIntervalMs, LONG_LIMITS.maxIntervalMs, false);
  const plain_port = integer(v, 'plain_port', 0, 65535, false);
  let path: string | undefined;
  if (v.path !== undefined) {
    if (typeof v.path !== 'string' || !v.path.startsWith('/') || v.path.length > 1024 || /[\s\x00-\x1f\x7f]/.test(v.path)) throw bad('path must be an absolute path without spaces');
    path = v.path;
  }
  return {
    kind,
    url,
    horizon_ms,
    ...(ip ? { ip } : {}),
    ...(interval_ms ? { interval_ms } : {}),
    ...(path ? { path } : {}),
    ...(plain_port !== undefined ? { plain_port } : {}),
  };
}
