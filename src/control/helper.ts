// The control helper: an HTTP server speaking the OONI Web Connectivity
// test-helper protocol (ooni/spec ts-017; probe-cli internal/oohelperd), to
// be run on a network outside the censor. A probe POSTs
// {http_request, http_request_headers, tcp_connect}; the helper resolves the
// name, connects to the given and the resolved endpoints, does the TLS
// handshakes, fetches the URL, and answers with what it saw.
//
// It is a public service that connects where it is told, so it is bounded:
// the request body size, the time per request, the requests in flight, and
// it never connects to a private, loopback or link-local address (a refused
// endpoint is answered with a failure) unless `allowPrivate` is set for a
// lab. It logs no client address and no measured URL.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { Client } from 'undici';
import { isBogon } from '../../probes/bogons.js';
import { FAILURE, scrubIps } from '../../probes/failure.js';
import { extractTitle } from '../../probes/http.js';
import { connectTcp, failureOf, hostPort, lookupSystem, readCapped, tlsHandshake, trustedCa } from '../../probes/net.js';
import { MAX_ADDRESSES, tcpProbe } from '../../probes/tcp.js';
import { tlsProbe } from '../../probes/tls.js';
import type { ProbeOptions, Target } from '../../probes/types.js';
import { BROWSER_USER_AGENT, DEFAULT_PROBE_OPTIONS } from '../config/schema.js';
import type { ControlAnswer } from '../model.js';

export interface HelperOptions {
  /** "HOST:PORT" ("[::1]:PORT" for IPv6); port 0 picks a free one. Default 127.0.0.1:8080. */
  listen?: string;
  /** Allow connecting to private, loopback and link-local addresses (the lab; tests). */
  allowPrivate?: boolean;
  /** Requests measured at once; more are answered 503 at once. Default 16. */
  maxConcurrency?: number;
  /** Largest request body accepted; larger is 413. Default 64 KiB. */
  maxBodyBytes?: number;
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

/** OONI's name for an address it will not measure (a bogon); the analysis reads it as "not measured". */
export const REFUSED_FAILURE = 'dns_bogon_error';
export const DEFAULT_HELPER_LISTEN = '127.0.0.1:8080';
const MAX_ENDPOINTS = 16;
const MAX_REDIRECTS = 10;
const BODY_READ_LIMIT = 4 * 1024 * 1024;
const TITLE_SAMPLE_BYTES = 64 * 1024;

/** A request that is not one the helper will measure: answered with `status` and a one-line reason. */
export class HelperRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HelperRequestError';
  }
}

/** "HOST:PORT" or "[v6]:PORT" → host and port, or null. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1]!, port };
}

export async function startHelper(opts: HelperOptions = {}): Promise<RunningHelper> {
  const listen = parseListen(opts.listen ?? DEFAULT_HELPER_LISTEN);
  if (!listen) throw new TypeError(`bad listen address "${opts.listen}": expected HOST:PORT`);
  const maxConcurrency = Math.max(1, Math.floor(opts.maxConcurrency ?? 16));
  const maxBodyBytes = Math.max(1024, opts.maxBodyBytes ?? 64 * 1024);
  const requestTimeoutMs = Math.max(100, opts.requestTimeoutMs ?? 30_000);
  const limit = pLimit(maxConcurrency);
  const log = opts.logger;

  const server = createServer((req, res) => {
    const started = performance.now();
    res.on('finish', () => log?.info({ status: res.statusCode, ms: Math.round(performance.now() - started) }, 'control request'));
    if (req.method !== 'POST') return reply(res, 405, { error: 'POST a Web Connectivity control request' }, { allow: 'POST' });
    if ((req.url ?? '/').split('?')[0] !== '/') return reply(res, 404, { error: 'not found' });
    // Excess load is refused at once rather than queued: a probe falls back to another helper.
    if (limit.activeCount + limit.pendingCount >= maxConcurrency) {
      req.resume();
      return reply(res, 503, { error: 'busy' }, { 'retry-after': '5' });
    }
    void limit(() => handle(req, res));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort(new Error('client went away'));
    });
    try {
      const body = await readBody(req, maxBodyBytes);
      const creq = parseControlRequest(body);
      const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(requestTimeoutMs)]);
      const answer = await measureControl(creq, opts, signal);
      reply(res, 200, answer);
    } catch (err) {
      if (err instanceof HelperRequestError) reply(res, err.status, { error: err.message }, err.status === 413 ? { connection: 'close' } : {});
      else {
        log?.error({ err: scrubIps(String((err as Error)?.message ?? err)) }, 'control measurement failed');
        reply(res, 500, { error: 'internal error' });
      }
    }
  }

  server.headersTimeout = 10_000;
  server.requestTimeout = requestTimeoutMs + 10_000;
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

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.reject(new HelperRequestError(413, `request body larger than ${max} bytes`));
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HelperRequestError(413, `request body larger than ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------
// The request

export interface ControlRequestBody {
  http_request: string;
  http_request_headers: Record<string, string[]>;
  tcp_connect: string[];
}

export function parseControlRequest(text: string): ControlRequestBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HelperRequestError(400, 'the request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HelperRequestError(400, 'the request is not a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.http_request !== 'string') throw new HelperRequestError(400, 'http_request must be a URL string');
  const headers: Record<string, string[]> = {};
  if (v.http_request_headers !== undefined && v.http_request_headers !== null) {
    if (typeof v.http_request_headers !== 'object' || Array.isArray(v.http_request_headers)) throw new HelperRequestError(400, 'http_request_headers must be an object');
    for (const [name, values] of Object.entries(v.http_request_headers as Record<string, unknown>)) {
      if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) throw new HelperRequestError(400, `http_request_headers["${name.slice(0, 40)}"] must be a list of strings`);
      headers[name] = values as string[];
    }
  }
  const tcp = v.tcp_connect ?? [];
  if (!Array.isArray(tcp) || !tcp.every((x) => typeof x === 'string')) throw new HelperRequestError(400, 'tcp_connect must be a list of "ip:port" strings');
  if (tcp.length > 64) throw new HelperRequestError(400, 'tcp_connect lists more than 64 endpoints');
  return { http_request: v.http_request, http_request_headers: headers, tcp_connect: tcp as string[] };
}

/** "ip:port" / "[v6]:port" → parts, or null for anything else. */
export function parseEndpoint(text: string): { ip: string; port: number } | null {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m || isIP(m[1]!) === 0) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { ip: m[1]!, port } : null;
}

// ---------------------------------------------------------------------------
// The measurement

interface MeasureContext {
  options: ProbeOptions;
  refuse: (ip: string) => boolean;
  signal: AbortSignal;
}

/** Measures one control request. Throws HelperRequestError for a request it will not measure. */
export async function measureControl(creq: ControlRequestBody, opts: HelperOptions, signal: AbortSignal): Promise<ControlAnswer> {
  let url: URL;
  try {
    url = new URL(creq.http_request);
  } catch {
    throw new HelperRequestError(400, 'http_request is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HelperRequestError(400, `unsupported scheme ${url.protocol}`);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const refuse = (ip: string) => (!opts.allowPrivate && isBogon(ip)) || (opts.forbidAddress?.(ip) ?? false);
  if (isIP(host) !== 0 && refuse(host)) throw new HelperRequestError(403, 'refusing to measure a private, loopback or reserved address');
  const ctx: MeasureContext = {
    options: {
      ...DEFAULT_PROBE_OPTIONS,
      timeoutMs: opts.timeoutMs ?? DEFAULT_PROBE_OPTIONS.timeoutMs,
      extraCaPem: opts.extraCaPem,
      userAgent: firstHeader(creq.http_request_headers, 'user-agent') ?? BROWSER_USER_AGENT,
    },
    refuse,
    signal,
  };

  // DNS: the system resolver, as the legacy helper; an IP host is not resolved.
  const dns: ControlAnswer['dns'] = { failure: null, addrs: [] };
  if (isIP(host) === 0) {
    try {
      dns.addrs = await lookupSystem(host, signal, ctx.options.timeoutMs);
    } catch (err) {
      dns.failure = legacyDnsFailure(failureOf(err, signal));
    }
  }

  // Endpoints: the probe's and ours, on the URL's port (and 443 too for a
  // plain-http URL, to see which addresses serve the name over TLS).
  const urlPort = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const ports = url.protocol === 'http:' && !url.port ? [urlPort, 443] : [urlPort];
  const probeIps = new Set<string>();
  const endpoints = new Map<string, { ip: string; port: number }>();
  for (const text of creq.tcp_connect) {
    const ep = parseEndpoint(text);
    if (!ep) continue;
    probeIps.add(ep.ip);
    endpoints.set(hostPort(ep.ip, ep.port), ep);
  }
  for (const ip of dns.addrs) for (const port of ports) endpoints.set(hostPort(ip, port), { ip, port });
  const chosen = [...endpoints.values()].slice(0, MAX_ENDPOINTS);

  const tcp_connect: ControlAnswer['tcp_connect'] = {};
  for (const ep of chosen) if (refuse(ep.ip)) tcp_connect[hostPort(ep.ip, ep.port)] = { status: false, failure: REFUSED_FAILURE };
  const allowed = chosen.filter((ep) => !refuse(ep.ip));

  const [tcpEntries, tlsEntries, http_request] = await Promise.all([
    measureTcp(allowed, url, ctx),
    measureTls(allowed, url, host, ctx),
    fetchPage(url, creq.http_request_headers, dns.addrs, ctx),
  ]);
  Object.assign(tcp_connect, tcpEntries);

  const ip_info: NonNullable<ControlAnswer['ip_info']> = {};
  for (const ip of new Set([...probeIps, ...dns.addrs])) {
    // th.go flags: 1 resolved by the probe, 2 by the helper, 4 bogon, 8 TLS for the name validated on it.
    let flags = (probeIps.has(ip) ? 1 : 0) | (dns.addrs.includes(ip) ? 2 : 0) | (isBogon(ip) ? 4 : 0);
    if (Object.entries(tlsEntries).some(([ep, r]) => r.status && parseEndpoint(ep)?.ip === ip)) flags |= 8;
    ip_info[ip] = { asn: 0, flags };
  }
  return { dns, tcp_connect, tls_handshake: tlsEntries, http_request, ip_info };
}

/** The legacy helper's DNS strings (oohelperd dns.go): the analysis and OONI's tools expect them. */
function legacyDnsFailure(failure: string): string | null {
  if (failure === FAILURE.dnsNxdomain) return 'dns_name_error';
  if (failure === FAILURE.dnsNoAnswer) return null;
  if (failure === FAILURE.dnsServfail || failure === FAILURE.dnsRefused || failure === FAILURE.dnsTemporary) return 'dns_server_failure';
  if (failure === FAILURE.timeout) return FAILURE.timeout;
  return 'unknown_error';
}

function helperTarget(url: string): Target {
  return { raw: url, category: 'MISC', tags: [], inputs: [url] };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function measureTcp(endpoints: { ip: string; port: number }[], url: URL, ctx: MeasureContext): Promise<ControlAnswer['tcp_connect']> {
  const out: ControlAnswer['tcp_connect'] = {};
  const byPort = new Map<number, string[]>();
  for (const ep of endpoints) byPort.set(ep.port, [...(byPort.get(ep.port) ?? []), ep.ip]);
  const runs = [...byPort].flatMap(([port, ips]) =>
    chunks(ips, MAX_ADDRESSES).map(async (group) => {
      // A tcp:// input makes the probe connect to exactly these addresses on this port.
      const input = `tcp://${hostPort(group[0]!, port)}`;
      const result = await tcpProbe.run({ target: helperTarget(url.href), url: input, addresses: group, options: ctx.options }, ctx.signal);
      for (const c of result.details.connects) out[hostPort(c.ip, c.port)] = { status: c.failure === null, failure: c.failure };
    }),
  );
  await Promise.all(runs);
  return out;
}

async function measureTls(endpoints: { ip: string; port: number }[], url: URL, host: string, ctx: MeasureContext): Promise<NonNullable<ControlAnswer['tls_handshake']>> {
  const out: NonNullable<ControlAnswer['tls_handshake']> = {};
  if (isIP(host) !== 0) return out;
  const tlsPort = url.protocol === 'https:' ? (url.port ? Number(url.port) : 443) : url.port ? null : 443;
  if (tlsPort === null) return out;
  const ips = [...new Set(endpoints.filter((ep) => ep.port === tlsPort).map((ep) => ep.ip))];
  const hostInUrl = isIP(host) === 6 ? `[${host}]` : host;
  await Promise.all(
    chunks(ips, MAX_ADDRESSES).map(async (group) => {
      const input = `https://${hostInUrl}:${tlsPort}/`;
      const result = await tlsProbe.run({ target: helperTarget(url.href), url: input, addresses: group, options: ctx.options }, ctx.signal);
      for (const h of result.details.handshakes) {
        if (h.innocuous) continue;
        out[hostPort(h.ip, h.port)] = { server_name: h.server_name, status: h.failure === null, failure: h.failure };
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------
// The fetch. Not the http probe: that one follows redirects wherever they
// point, and a public helper must check every address before it connects.

type HttpAnswer = ControlAnswer['http_request'];

function failedFetch(failure: string): HttpAnswer {
  return { body_length: -1, failure, title: '', headers: {}, status_code: -1 };
}

async function fetchPage(start: URL, requestHeaders: Record<string, string[]>, firstAddresses: string[], ctx: MeasureContext): Promise<HttpAnswer> {
  const originalHost = start.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const headers: Record<string, string> = {
    'user-agent': ctx.options.userAgent,
    accept: firstHeader(requestHeaders, 'accept') ?? 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': firstHeader(requestHeaders, 'accept-language') ?? 'en-US,en;q=0.9',
    // The probe reads identity bodies too: the lengths must be comparable.
    'accept-encoding': 'identity',
  };
  let url = start;
  for (let redirects = 0; ; redirects++) {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    let addresses: string[];
    if (isIP(host) !== 0) addresses = [host];
    else if (host === originalHost && firstAddresses.length > 0) addresses = firstAddresses;
    else {
      try {
        addresses = await lookupSystem(host, ctx.signal, ctx.options.timeoutMs);
      } catch (err) {
        return failedFetch(failureOf(err, ctx.signal));
      }
    }
    if (addresses.length === 0) return failedFetch(FAILURE.dnsNoAnswer);
    // Any refused address refuses the hop: a name that also points inside is not fetched at all.
    if (addresses.some(ctx.refuse)) return failedFetch(REFUSED_FAILURE);

    const hop = await fetchHop(url, addresses.slice(0, MAX_ADDRESSES), headers, ctx);
    if ('failure' in hop) return failedFetch(hop.failure);
    const location = hop.headers['location'];
    if ([301, 302, 303, 307, 308].includes(hop.status) && location) {
      let next: URL | null = null;
      try {
        next = new URL(location, url);
      } catch {
        next = null;
      }
      if (next && (next.protocol === 'http:' || next.protocol === 'https:')) {
        if (redirects >= MAX_REDIRECTS) return failedFetch(`unknown_failure: stopped after ${MAX_REDIRECTS} redirects`);
        url = next;
        continue;
      }
    }
    return { body_length: hop.bodyLength, failure: hop.readFailure, title: hop.title, headers: hop.headers, status_code: hop.status };
  }
}

interface HopOk {
  status: number;
  headers: Record<string, string>;
  title: string;
  bodyLength: number;
  readFailure: string | null;
}

async function fetchHop(url: URL, addresses: string[], headers: Record<string, string>, ctx: MeasureContext): Promise<HopOk | { failure: string }> {
  let last: { failure: string } = { failure: FAILURE.dnsNoAnswer };
  for (const ip of addresses) {
    const result = await fetchFrom(ip, url, headers, ctx);
    if (!('failure' in result) || !result.connectFailed) return result;
    last = result;
  }
  return last;
}

async function fetchFrom(ip: string, url: URL, headers: Record<string, string>, ctx: MeasureContext): Promise<HopOk | { failure: string; connectFailed: boolean }> {
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : https ? 443 : 80;
  const { timeoutMs, extraCaPem } = ctx.options;
  let connected = false;
  const controller = new AbortController();
  const onAbort = () => controller.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) controller.abort(ctx.signal.reason);
  const client = new Client(url.origin, {
    // Dial the checked address, whatever the name would resolve to now.
    connect: (_opts, callback) => {
      connectTcp(ip, port, controller.signal, timeoutMs)
        .then(async (tcp): Promise<Socket> => {
          connected = true;
          if (!https) return tcp;
          const ca = trustedCa(extraCaPem);
          return tlsHandshake(
            tcp,
            { ...(isIP(host) ? {} : { servername: host }), host, ALPNProtocols: ['http/1.1'], rejectUnauthorized: true, ...(ca ? { ca } : {}) },
            controller.signal,
            timeoutMs,
          );
        })
        .then(
          (socket) => callback(null, socket),
          (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
        );
    },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxHeaderSize: 64 * 1024,
  });
  try {
    const response = await client.request({ path: `${url.pathname}${url.search}`, method: 'GET', headers, signal: controller.signal });
    const body = await readCapped(response.body, TITLE_SAMPLE_BYTES, BODY_READ_LIMIT);
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) responseHeaders[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    return {
      status: response.statusCode,
      headers: responseHeaders,
      title: extractTitle(body.kept.toString('utf8')) ?? '',
      bodyLength: body.bytesRead,
      readFailure: body.error === null ? null : failureOf(body.error, ctx.signal),
    };
  } catch (err) {
    return { failure: failureOf(err, ctx.signal), connectFailed: !connected };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    controller.abort();
    await client.destroy().catch(() => {});
  }
}

function firstHeader(headers: Record<string, string[]>, name: string): string | undefined {
  for (const [key, values] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof values[0] === 'string' && values[0] !== '') return values[0].slice(0, 512);
  }
  return undefined;
}
