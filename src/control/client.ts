// The control client: asks Web Connectivity test helpers (OONI's, or a
// `rasad helper`) to measure a URL from outside, trying each helper in turn.
// Whatever comes back is validated: a malformed answer counts as that
// helper's failure, never as a control and never as a crash. A helper that
// answers 503 is busy, not broken: it is asked once more after a short
// pause, then the next helper is tried. Each helper asked is reported up or
// down, for the control.up / control.down events.
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { classifyError } from '../../probes/failure.js';
import { sharedSecureContext, startPhase } from '../../probes/net.js';
import { BROWSER_USER_AGENT } from '../config/schema.js';
import type { ControlAnswer } from '../model.js';
import { BodyTooLargeError, readBodyText } from '../net/read-body.js';

export interface ControlRequest {
  url: string;
  headers?: Record<string, string[]>;
  /** "ip:port" endpoints the probe resolved, "[v6]:port" for IPv6. */
  tcpConnect: string[];
}

/**
 * One helper asked during a query. `up`: it answered as a helper does (a
 * valid answer, or 503 busy); down: unreachable, another HTTP status, or an
 * answer that is not one (maybe a censor's page in its place).
 */
export interface HelperHealth {
  url: string;
  up: boolean;
  /** Why it gave no control (as in `failures`), or null when it answered. */
  failure: string | null;
}

export interface ControlQueryResult {
  answer: ControlAnswer | null;
  /** The helper that answered, or null. */
  helper: string | null;
  /** Each helper that did not answer, and why (an OONI failure string or `malformed_answer: ...`). */
  failures: { helper: string; failure: string }[];
  /** Each helper asked, in order, up or down. Helpers after the one that answered were not asked. */
  health: HelperHealth[];
}

export const DEFAULT_CONTROL_TIMEOUT_MS = 30_000;
/** The pause before asking a busy (503) helper once more. */
export const DEFAULT_BUSY_RETRY_MS = 1_000;
/** A helper's answer is small (a few KiB); anything far larger is not an answer. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

const DEFAULT_HEADERS: Record<string, string[]> = {
  'User-Agent': [BROWSER_USER_AGENT],
  Accept: ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
  'Accept-Language': ['en-US,en;q=0.9'],
};

/** A helper's answer that does not have the shape of the protocol. */
export class MalformedAnswerError extends Error {
  override name = 'MalformedAnswerError';
}

export async function queryControl(
  helperUrls: string[],
  req: ControlRequest,
  signal: AbortSignal,
  opts: { timeoutMs?: number; extraCaPem?: string; busyRetryMs?: number } = {},
): Promise<ControlQueryResult> {
  const failures: { helper: string; failure: string }[] = [];
  const health: HelperHealth[] = [];
  const timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? opts.timeoutMs : DEFAULT_CONTROL_TIMEOUT_MS;
  const busyRetryMs = opts.busyRetryMs !== undefined && opts.busyRetryMs >= 0 ? opts.busyRetryMs : DEFAULT_BUSY_RETRY_MS;
  const body = JSON.stringify({
    http_request: req.url,
    http_request_headers: req.headers ?? DEFAULT_HEADERS,
    tcp_connect: Array.isArray(req.tcpConnect) ? req.tcpConnect : [],
  });
  const agent = sharedAgent(timeoutMs, opts.extraCaPem);
  const fail = (helper: string, failure: string, up: boolean) => {
    failures.push({ helper, failure });
    health.push({ url: helper, up, failure });
  };
  for (const helper of Array.isArray(helperUrls) ? helperUrls : []) {
    let staleRetried = false;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) {
        failures.push({ helper, failure: 'interrupted' });
        break;
      }
      // A phase, not AbortSignal.any: on Node 20 every AbortSignal.any leaves a WeakRef on its source for
      // good, and `signal` is the daemon's, alive for months (one per unit: the soak bench's heap diff).
      const phase = startPhase(signal, timeoutMs, 'control query');
      try {
        const answer = await askHelper(helper, body, agent, phase.signal);
        health.push({ url: helper, up: true, failure: null });
        return { answer, helper, failures, health };
      } catch (err) {
        if (signal.aborted) {
          failures.push({ helper, failure: 'interrupted' });
          break;
        }
        const busy = err instanceof HelperStatusError && err.status === 503;
        if (busy && attempt === 0) {
          await pause(busyRetryMs, signal);
          continue;
        }
        // A kept-alive connection the helper closed as we reused it: ask once more, on a new one.
        if (!staleRetried && isClosedConnection(err)) {
          staleRetried = true;
          continue;
        }
        fail(helper, describeFailure(err), busy);
        break;
      } finally {
        phase.dispose();
      }
    }
  }
  return { answer: null, helper: null, failures, health };
}

// One agent per timeout and trust, shared by every query of a process: its
// keep-alive connections to a helper are reused from unit to unit instead of
// a new TCP connection (and a TLS handshake, for OONI's https:// helpers)
// per unit. Idle connections close after undici's keep-alive timeout.
const agents = new Map<string, Agent>();

function sharedAgent(timeoutMs: number, extraCaPem: string | undefined): Agent {
  const key = `${timeoutMs}\n${extraCaPem ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      // The shared secure context: a `ca` list would build one per connection.
      connect: { timeout: timeoutMs, ...(extraCaPem ? { secureContext: sharedSecureContext(extraCaPem, 'control') } : {}) },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (agents.size >= 4) {
      for (const old of agents.values()) void old.close().catch(() => {});
      agents.clear();
    }
    agents.set(key, agent);
  }
  return agent;
}

/** Waits `ms`, or less when the signal aborts; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function askHelper(helper: string, body: string, agent: Agent, signal: AbortSignal): Promise<ControlAnswer> {
  let url: URL;
  try {
    url = new URL(helper);
  } catch {
    throw new MalformedAnswerError('not a helper URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MalformedAnswerError(`unsupported helper scheme ${url.protocol}`);
  const response = await request(url, {
    method: 'POST',
    dispatcher: agent,
    signal,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
  });
  let text: string;
  try {
    text = await readBodyText(response.body, MAX_ANSWER_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new MalformedAnswerError(err.message);
    throw err;
  }
  if (response.statusCode !== 200) throw new HelperStatusError(response.statusCode);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedAnswerError('the answer is not JSON');
  }
  return parseControlAnswer(parsed);
}

/** The connection closed or reset before an answer: what reusing a connection the peer just closed looks like. */
function isClosedConnection(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

class HelperStatusError extends Error {
  constructor(readonly status: number) {
    super(`helper answered HTTP ${status}`);
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof MalformedAnswerError) return `malformed_answer: ${err.message}`;
  if (err instanceof HelperStatusError) return `http_status_${err.status}`;
  return classifyError(err);
}

// ---------------------------------------------------------------------------
// Validation of the answer (ts-017; probe-cli internal/model/th.go)

/**
 * Checks a parsed answer against the protocol and returns it in the shape
 * of ControlAnswer; throws MalformedAnswerError naming the first problem.
 * Unknown extra fields (quic_handshake, http3_request, ...) are dropped.
 */
export function parseControlAnswer(value: unknown): ControlAnswer {
  const root = record(value, 'the answer');
  const dnsIn = record(root.dns, 'dns');
  const failure = nullableString(dnsIn.failure, 'dns.failure');
  const addrsIn = dnsIn.addrs ?? [];
  if (!Array.isArray(addrsIn)) throw new MalformedAnswerError('dns.addrs is not an array');
  const addrs = addrsIn.map((a, i) => {
    if (typeof a !== 'string' || isIP(a) === 0) throw new MalformedAnswerError(`dns.addrs[${i}] is not an IP address`);
    return a;
  });

  const tcp_connect: ControlAnswer['tcp_connect'] = {};
  for (const [endpoint, entry] of Object.entries(record(root.tcp_connect ?? {}, 'tcp_connect'))) {
    const e = record(entry, `tcp_connect["${endpoint}"]`);
    tcp_connect[endpoint] = { status: bool(e.status, `tcp_connect["${endpoint}"].status`), failure: nullableString(e.failure, `tcp_connect["${endpoint}"].failure`) };
  }

  let tls_handshake: ControlAnswer['tls_handshake'];
  if (root.tls_handshake !== undefined && root.tls_handshake !== null) {
    tls_handshake = {};
    for (const [endpoint, entry] of Object.entries(record(root.tls_handshake, 'tls_handshake'))) {
      const e = record(entry, `tls_handshake["${endpoint}"]`);
      tls_handshake[endpoint] = {
        server_name: typeof e.server_name === 'string' ? e.server_name : '',
        status: bool(e.status, `tls_handshake["${endpoint}"].status`),
        failure: nullableString(e.failure, `tls_handshake["${endpoint}"].failure`),
      };
    }
  }

  const h = record(root.http_request, 'http_request');
  const http_request: ControlAnswer['http_request'] = {
    body_length: integer(h.body_length ?? -1, 'http_request.body_length'),
    failure: nullableString(h.failure, 'http_request.failure'),
    title: h.title === undefined || h.title === null ? '' : string(h.title, 'http_request.title'),
    headers: headerMap(h.headers),
    status_code: integer(h.status_code ?? -1, 'http_request.status_code'),
  };

  let ip_info: ControlAnswer['ip_info'];
  if (root.ip_info !== undefined && root.ip_info !== null) {
    ip_info = {};
    for (const [ip, entry] of Object.entries(record(root.ip_info, 'ip_info'))) {
      const e = record(entry, `ip_info["${ip}"]`);
      ip_info[ip] = { asn: integer(e.asn ?? 0, `ip_info["${ip}"].asn`), flags: integer(e.flags ?? 0, `ip_info["${ip}"].flags`) };
    }
  }

  return {
    dns: { failure, addrs },
    tcp_connect,
    ...(tls_handshake ? { tls_handshake } : {}),
    http_request,
    ...(ip_info ? { ip_info } : {}),
  };
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedAnswerError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function nullableString(value: unknown, what: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new MalformedAnswerError(`${what} is not a string or null`);
  return value;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new MalformedAnswerError(`${what} is not a string`);
  return value;
}

function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new MalformedAnswerError(`${what} is not a boolean`);
  return value;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new MalformedAnswerError(`${what} is not an integer`);
  return value;
}

/** Header values as strings; some helpers send a list per name. */
function headerMap(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(record(value, 'http_request.headers'))) {
    if (typeof v === 'string') out[name] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[name] = v.join(', ');
    else throw new MalformedAnswerError(`http_request.headers["${name}"] is not a string`);
  }
  return out;
}

/** For callers that want one line about a failed query. */
export function summarizeControlFailures(failures: { helper: string; failure: string }[]): string {
  return failures.length === 0 ? 'no helper configured' : failures.map((f) => `${f.helper}: ${f.failure}`).join('; ');
}
