// The HTTP probe: GET the URL as a browser would, but connected to the
// addresses the DNS probe found (so an injected answer is really visited),
// following redirects by hand so each hop is on the record. Every phase is
// bounded: connect, TLS, headers (undici headersTimeout), body (an idle
// timeout and a total one), and the body is read up to a limit, never
// further. Over TLS it offers h2 and http/1.1 by ALPN, as browsers do, and
// records which one each hop spoke. Modelled on OONI's webconnectivity HTTP
// step.
import { createHash } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import { Client, type Dispatcher } from 'undici';
import { DeadlineError, FAILURE, unknownFailure } from './failure.js';
import {
  ProbeClock,
  ProbeInputError,
  connectTcp,
  elapsedMs,
  failureOf,
  lookupSystem,
  now,
  parseProbeUrl,
  readCapped,
  tlsHandshake,
  trustOptions,
  warmSharedTrust,
  type ProbeTarget,
} from './net.js';
import { addressCap, interleaveFamilies } from './tcp.js';
import type { Failure, HttpDetails, HttpHop, Operation, Probe, ProbeInput, ProbeOptions, ProbeResult } from './types.js';

export const MAX_REDIRECTS = 10;
/** Response headers larger than this are a failure, not a memory problem. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** The whole body read may take this many per-phase timeouts (the idle timeout catches a stalled one sooner). */
export const READ_PHASE_FACTOR = 4;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TITLE_MAX_CHARS = 256;
/** What a browser offers by ALPN: an h2-only server must not look like a failed handshake. */
export const HTTP_ALPN = ['h2', 'http/1.1'];
// Handed to client.destroy() once a hop is over: without one, undici builds
// a ClientDestroyedError (with its stack trace) per hop for no reader.
const HOP_DONE: Error = Object.assign(new Error('hop finished'), { stack: 'hop finished' });

/** The HTTP version a connected socket speaks: h2 only when ALPN chose it. */
export function spokenProtocol(socket: Socket): 'h2' | 'http/1.1' {
  return (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
}

export function browserHeaders(options: ProbeOptions): Record<string, string> {
  return {
    'user-agent': options.userAgent,
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en-US,en;q=0.9',
    // Identity: the body length and hash are of what the server sent, and
    // there is no decompression for a hostile server to bomb.
    'accept-encoding': 'identity',
  };
}

/** The text of the first <title>, whitespace collapsed, or null. */
export function extractTitle(html: string): string | null {
  const m = html.match(/<title[^>]*>([\s\S]*?)<\/title\s*>/i);
  if (!m) return null;
  return m[1]!.replace(/\s+/g, ' ').trim().slice(0, TITLE_MAX_CHARS);
}

function lowerCaseHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

interface HopContext {
  options: ProbeOptions;
  clock: ProbeClock;
  signal: AbortSignal;
}

interface Timings {
  phase: Operation;
  connect_ms: number | null;
  tls_ms: number | null;
  /** When the connection was ready for the request (performance.now()). */
  readyAt: number | null;
  protocol: 'h2' | 'http/1.1' | null;
}

/**
 * An undici connector that dials `ip` whatever the origin's host is, and
 * speaks TLS with SNI = the host (validating, with the extra CA). It notes
 * which phase it is in, so a failure gets its OONI operation.
 */
function pinnedConnector(ip: string, target: ProbeTarget, ctx: HopContext, timings: Timings, signal: AbortSignal) {
  return (_opts: unknown, callback: (...args: [null, Socket] | [Error, null]) => void) => {
    let called = false;
    const cb = (err: Error | null, socket: Socket | null) => {
      if (called) {
        socket?.destroy();
        return;
      }
      called = true;
      if (err) callback(err, null);
      else callback(null, socket!);
    };
    const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
    timings.phase = 'connect';
    const connectStart = now();
    connectTcp(ip, target.port, signal, ctx.options.timeoutMs).then(
      (tcp) => {
        timings.connect_ms = elapsedMs(connectStart);
        if (target.scheme !== 'https') {
          timings.phase = 'http_round_trip';
          timings.readyAt = now();
          timings.protocol = 'http/1.1';
          cb(null, tcp);
          return;
        }
        timings.phase = 'tls_handshake';
        const tlsStart = now();
        let trust: ReturnType<typeof trustOptions>;
        try {
          trust = trustOptions(ctx.options.extraCaPem, 'http');
        } catch (err) {
          tcp.destroy();
          cb(asError(err), null);
          return;
        }
        tlsHandshake(
          tcp,
          {
            // An IP host sends no SNI; the certificate is then checked against the IP.
            ...(target.hostIsIp ? {} : { servername: target.host }),
            host: target.host,
            ALPNProtocols: HTTP_ALPN,
            rejectUnauthorized: true,
            ...trust,
          },
          signal,
          ctx.options.timeoutMs,
        ).then(
          (tls) => {
            timings.tls_ms = elapsedMs(tlsStart);
            timings.phase = 'http_round_trip';
            timings.readyAt = now();
            timings.protocol = spokenProtocol(tls);
            cb(null, tls);
          },
          (err) => cb(asError(err), null),
        );
      },
      (err) => cb(asError(err), null),
    );
  };
}

function emptyHop(url: string, t0: number): HttpHop {
  return {
    url,
    ip: null,
    t0,
    t: t0,
    failure: null,
    failed_operation: null,
    status_code: null,
    headers: {},
    title: null,
    body_length: null,
    body_truncated: false,
    body_sample: null,
    body_sha256: null,
    timings: { connect_ms: null, tls_ms: null, first_byte_ms: null, total_ms: null },
    negotiated_protocol: null,
  };
}

/** One GET to one address. */
async function fetchFrom(ip: string, target: ProbeTarget, ctx: HopContext, hop: HttpHop): Promise<void> {
  const { options } = ctx;
  const started = now();
  const timings: Timings = { phase: 'connect', connect_ms: null, tls_ms: null, readyAt: null, protocol: null };
  // The hop's own controller: the probe's signal, plus the total read deadline.
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(ctx.signal.reason);
  if (ctx.signal.aborted) controller.abort(ctx.signal.reason);
  else ctx.signal.addEventListener('abort', onParentAbort, { once: true });
  let readTimer: NodeJS.Timeout | null = null;
  let readDeadlineHit = false;

  const origin = `${target.scheme}://${isIP(target.host) === 6 ? `[${target.host}]` : target.host}:${target.port}`;
  let client: Client | null = null;
  hop.ip = ip;
  try {
    client = new Client(origin, {
      connect: pinnedConnector(ip, target, ctx, timings, controller.signal),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      maxHeaderSize: MAX_HEADER_BYTES,
      pipelining: 1,
      // h2 when the server's ALPN picks it; the connector offers both.
      allowH2: true,
    });
    const headers = browserHeaders(options);
    // What the client is given is on the record (OONI's request headers_list); Host as undici writes it.
    hop.request_headers = [['host', new URL(origin).host], ...Object.entries(headers)];
    const response = await client.request({
      path: `${target.url.pathname}${target.url.search}`,
      method: 'GET',
      headers,
      signal: controller.signal,
    });
    // From the connection being ready (after TLS) to the response head: the server's (or the censor's) answer time.
    hop.timings.first_byte_ms = timings.readyAt === null ? null : elapsedMs(timings.readyAt);
    hop.status_code = response.statusCode;
    hop.headers = lowerCaseHeaders(response.headers);
    timings.phase = 'read';
    readTimer = setTimeout(() => {
      readDeadlineHit = true;
      controller.abort(new DeadlineError('body read'));
    }, Math.max(0, options.timeoutMs * READ_PHASE_FACTOR));
    const body = await readCapped(response.body, options.bodyCapBytes, options.bodyReadLimitBytes);
    hop.body_length = body.bytesRead;
    hop.body_truncated = body.truncated;
    const sample = body.kept.toString('utf8');
    hop.body_sample = sample;
    hop.body_sha256 = createHash('sha256').update(body.kept).digest('hex');
    hop.title = extractTitle(sample);
    if (body.error !== null) {
      hop.failure = readDeadlineHit ? FAILURE.timeout : failureOf(body.error, ctx.signal);
      hop.failed_operation = 'read';
    }
  } catch (err) {
    hop.failure = readDeadlineHit ? FAILURE.timeout : failureOf(err, ctx.signal);
    hop.failed_operation = timings.phase;
  } finally {
    if (readTimer) clearTimeout(readTimer);
    ctx.signal.removeEventListener('abort', onParentAbort);
    // Always drop the connection: a truncated body must not keep flowing.
    await client?.destroy(HOP_DONE).catch(() => {});
    hop.timings.connect_ms = timings.connect_ms;
    hop.negotiated_protocol = timings.protocol;
    hop.timings.tls_ms = timings.tls_ms;
    hop.timings.total_ms = elapsedMs(started);
  }
}

/** One hop: tries the addresses in order, moving on only when the connect itself failed. */
async function fetchHop(url: URL, addresses: string[], ctx: HopContext): Promise<HttpHop> {
  const hop = emptyHop(url.href, ctx.clock.seconds());
  const target = parseProbeUrl(url.href);
  const cap = addressCap(ctx.options);
  // In the given order (the sweep puts addresses that connected first); past
  // the cap, both families keep a place.
  const tried = addresses.length <= cap ? addresses : interleaveFamilies(addresses, cap);
  for (const ip of tried) {
    Object.assign(hop, emptyHop(url.href, hop.t0));
    await fetchFrom(ip, target, ctx, hop);
    if (hop.failed_operation !== 'connect' || ctx.signal.aborted) break;
  }
  hop.t = ctx.clock.seconds();
  return hop;
}

async function addressesForHop(url: URL, original: ProbeTarget, originalAddresses: string[], ctx: HopContext): Promise<{ addresses: string[]; failure: Failure }> {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host)) return { addresses: [host], failure: null };
  if (host === original.host && originalAddresses.length > 0) return { addresses: originalAddresses, failure: null };
  try {
    const found = await lookupSystem(host, ctx.signal, ctx.options.timeoutMs);
    return found.length > 0 ? { addresses: found, failure: null } : { addresses: [], failure: FAILURE.dnsNoAnswer };
  } catch (err) {
    return { addresses: [], failure: failureOf(err, ctx.signal) };
  }
}

/** The next URL of a redirect response, or null when the hop is final. */
function redirectTarget(hop: HttpHop, current: URL): URL | null {
  if (hop.failure !== null || hop.status_code === null || !REDIRECT_STATUSES.has(hop.status_code)) return null;
  const location = hop.headers['location'];
  if (!location) return null;
  try {
    const next = new URL(location, current);
    return next.protocol === 'http:' || next.protocol === 'https:' ? next : null;
  } catch {
    return null;
  }
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<HttpDetails>> {
  const original = parseProbeUrl(input.url);
  if (original.scheme === 'tcp') throw new ProbeInputError(`the http probe needs an http(s) URL, not ${JSON.stringify(input.url.slice(0, 200))}`);
  const clock = new ProbeClock();
  const ctx: HopContext = { options: input.options, clock, signal };
  const details: HttpDetails = { hops: [] };
  const envelope = clock.envelope<HttpDetails>('http');
  const result = (failure: Failure, operation: Operation | null) => envelope(details, failure, operation);

  const originalAddresses = [...new Set(input.addresses.filter((a) => isIP(a) !== 0))];
  let url: URL = original.url;
  for (let redirects = 0; ; redirects++) {
    const t0 = clock.seconds();
    const { addresses, failure } = await addressesForHop(url, original, originalAddresses, ctx);
    let hop: HttpHop;
    if (addresses.length === 0) {
      hop = emptyHop(url.href, t0);
      hop.failure = failure ?? FAILURE.dnsNoAnswer;
      hop.failed_operation = 'resolve';
      hop.t = clock.seconds();
    } else {
      hop = await fetchHop(url, addresses, ctx);
    }
    details.hops.push(hop);
    const next = redirectTarget(hop, url);
    if (next === null || signal.aborted) return result(hop.failure, hop.failed_operation);
    if (redirects >= MAX_REDIRECTS) {
      // The judge reads hops: the last one carries the failure, the details the flag.
      hop.failure = unknownFailure(`stopped after ${MAX_REDIRECTS} redirects`);
      hop.failed_operation = 'http_round_trip';
      details.redirect_limit_reached = true;
      return result(hop.failure, hop.failed_operation);
    }
    url = next;
  }
}

export const httpProbe: Probe<HttpDetails> = { kind: 'http', run, warm: warmSharedTrust('http') };
