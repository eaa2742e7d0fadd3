// The control helper: an HTTP server speaking the OONI Web Connectivity
// test-helper protocol (ooni/spec ts-017; probe-cli internal/oohelperd), to
// be run on a network outside the censor. A probe POSTs
// {http_request, http_request_headers, tcp_connect}; the helper resolves the
// name, connects to the given and the resolved endpoints, does the TLS
// handshakes, fetches the URL, and answers with what it saw
// (helper_measure.ts).
//
// It is a public service that connects where it is told, so it is bounded:
// the request body (size, and a deadline to arrive), the time per request,
// the requests in flight, and it never connects to a private, loopback or
// link-local address, nor an IPv6 form of one (address_policy.ts), unless
// `allowPrivate` is set for a lab. A body is read before the request takes
// a measuring slot, so slow uploaders cannot hold the slots (issue 16 #11).
// It logs no client address and no measured URL.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { scrubIps } from '../../probes/failure.js';
import { sharedSecureContext } from '../../probes/net.js';
import { measureControl } from './helper_measure.js';
import { longControlRoute } from './long/route.js';
import { readBody } from './read_body.js';
import { HelperRequestError, parseControlRequest } from './helper_request.js';
import { preloadAsnTable } from '../net/asn.js';

export { REFUSED_FAILURE, isRefusedAddress } from './address_policy.js';
export { readBody } from './read_body.js';
export { measureControl } from './helper_measure.js';
export { HelperRequestError, parseControlRequest, parseEndpoint, type ControlRequestBody } from './helper_request.js';

export interface HelperOptions {
  /** "HOST:PORT" ("[::1]:PORT" for IPv6); port 0 picks a free one. Default 127.0.0.1:8080. */
  listen?: string;
  /** Allow connecting to private, loopback and link-local addresses (the lab; tests). */
  allowPrivate?: boolean;
  /** Requests measured at once; more are answered 503 at once. Default 64: above a probe's web concurrency (20). */
  maxConcurrency?: number;
  /** Request bodies being received at once; more are answered 503. Default 4 × maxConcurrency. */
  maxPendingBodies?: number;
  /** Largest request body accepted; larger is 413. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Time for a request body to arrive in full; slower is 408. Default 5 s. */
  bodyTimeoutMs?: number;
  /** Deadline of one whole measurement. Default 30 s. */
  requestTimeoutMs?: number;
  /** Per-phase timeout (connect, handshake, first byte). Default 10 s. */
  timeoutMs?: number;
  /** Extra CA (PEM) to trust when validating sites (the lab's CA). */
  extraCaPem?: string;
  /** More addresses to refuse, on top of the private ones (an operator's own ranges). */
  forbidAddress?: (ip: string) => boolean;
  logger?: Logger;
}

export interface RunningHelper {
  /** The URL probes POST to, e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

/**
 * A route besides the control endpoint: answers a request it owns (and
 * returns true), or returns false to let the helper go on.
 */
export type HelperRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export const DEFAULT_HELPER_LISTEN = '127.0.0.1:8080';
export const DEFAULT_HELPER_CONCURRENCY = 64;
export const DEFAULT_BODY_TIMEOUT_MS = 5_000;

/** "HOST:PORT" or "[v6]:PORT" → host and port, or null. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1]!, port };
}

export async function startHelper(opts: HelperOptions = {}, extraRoutes: HelperRoute[] = []): Promise<RunningHelper> {
  const listen = parseListen(opts.listen ?? DEFAULT_HELPER_LISTEN);
  if (!listen) throw new TypeError(`bad listen address "${opts.listen}": expected HOST:PORT`);
  const maxConcurrency = Math.max(1, Math.floor(opts.maxConcurrency ?? DEFAULT_HELPER_CONCURRENCY));
  const maxPendingBodies = Math.max(1, Math.floor(opts.maxPendingBodies ?? 4 * maxConcurrency));
  const maxBodyBytes = Math.max(1024, opts.maxBodyBytes ?? 64 * 1024);
  const bodyTimeoutMs = Math.max(50, opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS);
  const requestTimeoutMs = Math.max(100, opts.requestTimeoutMs ?? 30_000);
  const log = opts.logger;
  // Each answer names the AS of every address: the table loads in slices now, not inside the first request.
  void preloadAsnTable();
  // So is the trust its HTTPS fetches and handshakes validate with (the roots, plus an extra CA: tens of ms).
  try {
    sharedSecureContext(opts.extraCaPem, 'helper');
  } catch {
    // A PEM it cannot use fails each measurement that needs it, with its reason.
  }
  let measuring = 0;
  let receiving = 0;

  // Routes are tried in order, before the OONI control endpoint, and answer
  // only the requests they own: rasad's long-lived control (POST /rasad/v1/long).
  const routes: HelperRoute[] = [longControlRoute(opts), ...extraRoutes];

  const server = createServer((req, res) => {
    const started = performance.now();
    res.on('finish', () => log?.info({ status: res.statusCode, ms: Math.round(performance.now() - started) }, 'control request'));
    for (const route of routes) if (route(req, res)) return;
    if (req.method !== 'POST') return reply(res, 405, { error: 'POST a Web Connectivity control request' }, { allow: 'POST' });
    if ((req.url ?? '/').split('?')[0] !== '/') return reply(res, 404, { error: 'not found' });
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Excess load is refused at once rather than queued: a probe retries soon or falls back to another helper.
    if (receiving >= maxPendingBodies || measuring >= maxConcurrency) return busy(req, res);
    let body: string;
    receiving++;
    try {
      body = await readBody(req, maxBodyBytes, bodyTimeoutMs);
    } catch (err) {
      return refuse(res, err);
    } finally {
      receiving--;
    }
    // Only a complete request takes a measuring slot.
    if (measuring >= maxConcurrency) return busy(req, res);
    measuring++;
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort(new Error('client went away'));
    });
    try {
      const creq = parseControlRequest(body);
      const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(requestTimeoutMs)]);
      const answer = await measureControl(creq, opts, signal);
      reply(res, 200, answer);
    } catch (err) {
      refuse(res, err);
    } finally {
      measuring--;
    }
  }

  function refuse(res: ServerResponse, err: unknown): void {
    if (err instanceof HelperRequestError) {
      const close = err.status === 413 || err.status === 408;
      reply(res, err.status, { error: err.message }, close ? { connection: 'close' } : {});
      if (close) res.once('finish', () => res.socket?.destroy());
      return;
    }
    log?.error({ err: scrubIps(String((err as Error)?.message ?? err)) }, 'control measurement failed');
    reply(res, 500, { error: 'internal error' });
  }

  server.headersTimeout = 10_000;
  server.requestTimeout = requestTimeoutMs + bodyTimeoutMs + 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const url = `http://${isIP(listen.host) === 6 ? `[${listen.host}]` : listen.host}:${port}/`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function busy(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  reply(res, 503, { error: 'busy' }, { 'retry-after': '5' });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

