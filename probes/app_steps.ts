// The steps the messaging-app probes are made of: resolve a host, connect to
// an endpoint (optionally with a plain-HTTP exchange on the connection, as
// OONI does with Telegram's data centres), fetch a URL with the http probe.
// Each step is recorded, never thrown: a probe returns every step it took.
import { isIP, type Socket } from 'node:net';
import { splitEndpoint, pinnedAddresses } from './app_endpoints.js';
import { DeadlineError, FAILURE } from './failure.js';
import { httpProbe } from './http.js';
import { ProbeClock, connectTcp, elapsedMs, failureOf, lookupSystem, now, ProbeInputError, startPhase } from './net.js';
import { addressCap, interleaveFamilies } from './tcp.js';
import type { Failure, HttpHop, Operation, ProbeInput, ProbeOptions } from './types.js';

/** Steps of one probe run at once, at most: enough to finish 32 WhatsApp connects in two rounds, few enough to stay polite. */
export const APP_STEP_CONCURRENCY = 16;
/** Body bytes kept per fetch: enough for a blockpage fingerprint, little enough to store a sample of every app page hourly. */
export const APP_BODY_CAP_BYTES = 8 * 1024;
/** The most of a response head read from a data centre's HTTP answer. */
const EXCHANGE_HEAD_LIMIT = 8 * 1024;

/** How one host name was resolved. */
export interface AppResolution {
  hostname: string;
  /** getaddrinfo, or options.appEndpoints.hosts (tests and labs pin names there). */
  engine: 'system' | 'pinned';
  t0: number;
  t: number;
  failure: Failure;
  addresses: string[];
}

/** One connect to one address of an endpoint. */
export interface AppConnectAttempt {
  ip: string;
  failure: Failure;
  connect_ms: number | null;
}

/** One endpoint: a TCP connect (addresses tried in turn until one accepts), and optionally an HTTP exchange on it. */
export interface AppConnect {
  /** As listed: "149.154.175.50:443", "e1.whatsapp.net:5222". */
  endpoint: string;
  /** The host name, or null for an address endpoint. */
  hostname: string | null;
  port: number;
  /** The address that accepted, or the last one tried; null when there was none to try. */
  ip: string | null;
  t0: number;
  t: number;
  failure: Failure;
  failed_operation: Operation | null;
  connect_ms: number | null;
  /** Each connect made, in order. */
  attempts: AppConnectAttempt[];
  /** For an exchange: the status of the HTTP response that came back (any status counts as an answer). */
  status_code?: number | null;
}

/** One URL fetched by the http probe, as the app's web client or service front end. */
export interface AppFetch {
  url: string;
  t0: number;
  t: number;
  failure: Failure;
  failed_operation: Operation | null;
  /** The final hop's status, or null when none came back. */
  status_code: number | null;
  hops: HttpHop[];
}

/** Runs `work` over `items` with at most `limit` in flight, results in the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Throws ProbeInputError unless the input is the app's own `app://<name>`. */
export function checkAppInput(input: ProbeInput, app: string): void {
  if (input.url !== `app://${app}`) throw new ProbeInputError(`the ${app} probe measures app://${app}, not ${JSON.stringify(String(input.url).slice(0, 200))}`);
}

/** Resolves a host with the system resolver, unless it is an address or pinned by the options. */
export async function resolveHost(hostname: string, options: ProbeOptions, clock: ProbeClock, signal: AbortSignal): Promise<AppResolution> {
  const t0 = clock.seconds();
  const pinned = isIP(hostname) ? [hostname] : pinnedAddresses(hostname, options);
  if (pinned) return { hostname, engine: 'pinned', t0, t: t0, failure: null, addresses: pinned };
  try {
    const addresses = await lookupSystem(hostname, signal, options.timeoutMs);
    return { hostname, engine: 'system', t0, t: clock.seconds(), failure: addresses.length ? null : FAILURE.dnsNoAnswer, addresses };
  } catch (err) {
    return { hostname, engine: 'system', t0, t: clock.seconds(), failure: failureOf(err, signal), addresses: [] };
  }
}

export interface ConnectRequest {
  endpoint: string;
  /** The addresses to try; the endpoint's own when it names an address. */
  addresses: string[];
  /** What to do on the connected socket: the exchange's status code, or a thrown error. */
  exchange?: (socket: Socket, signal: AbortSignal) => Promise<number>;
}

/** Connects to the endpoint (each address in turn until one accepts), then runs the exchange if any. */
export async function connectEndpoint(req: ConnectRequest, options: ProbeOptions, clock: ProbeClock, signal: AbortSignal): Promise<AppConnect> {
  const { host, port } = splitEndpoint(req.endpoint);
  const record: AppConnect = {
    endpoint: req.endpoint,
    hostname: isIP(host) ? null : host,
    port,
    ip: null,
    t0: clock.seconds(),
    t: 0,
    failure: null,
    failed_operation: null,
    connect_ms: null,
    attempts: [],
    ...(req.exchange ? { status_code: null } : {}),
  };
  const finish = (failure: Failure, operation: Operation | null) => {
    record.failure = failure;
    record.failed_operation = failure === null ? null : operation;
    record.t = clock.seconds();
    return record;
  };
  const addresses = interleaveFamilies(req.addresses, addressCap(options));
  if (addresses.length === 0) return finish(FAILURE.dnsNoAnswer, 'resolve');
  let socket: Socket | null = null;
  for (const ip of addresses) {
    record.ip = ip;
    const started = now();
    try {
      socket = await connectTcp(ip, port, signal, options.timeoutMs);
      record.connect_ms = elapsedMs(started);
      record.attempts.push({ ip, failure: null, connect_ms: record.connect_ms });
      break;
    } catch (err) {
      record.attempts.push({ ip, failure: failureOf(err, signal), connect_ms: null });
      if (signal.aborted) break;
    }
  }
  if (!socket) return finish(record.attempts[record.attempts.length - 1]?.failure ?? FAILURE.timeout, 'connect');
  if (!req.exchange) {
    socket.destroy();
    return finish(null, null);
  }
  const phase = startPhase(signal, options.timeoutMs, 'HTTP exchange');
  try {
    record.status_code = await req.exchange(socket, phase.signal);
    return finish(null, null);
  } catch (err) {
    return finish(failureOf(err, signal), 'http_round_trip');
  } finally {
    phase.dispose();
    socket.destroy();
  }
}

/**
 * A plain-HTTP POST with an empty body on a connected socket, as OONI sends
 * to Telegram's data centres: any HTTP status line that comes back is an
 * answer. Rejects with the socket's error, an EOF, or the phase deadline.
 */
export function httpPostExchange(host: string, userAgent: string) {
  const request = Buffer.from(
    `POST / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${userAgent}\r\nAccept: */*\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
  return (socket: Socket, signal: AbortSignal): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      let head = '';
      const done = (err: unknown, status?: number) => {
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('end', onEnd);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(status!);
      };
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const lineEnd = head.indexOf('\r\n');
        if (lineEnd === -1) {
          if (head.length > EXCHANGE_HEAD_LIMIT) done(new Error('no HTTP status line in the answer'));
          return;
        }
        const m = head.slice(0, lineEnd).match(/^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/);
        if (m) done(null, Number(m[1]));
        else done(new Error('the answer is not HTTP'));
      };
      const onError = (err: Error) => done(err);
      const onEnd = () => done(Object.assign(new Error('the connection was closed before an answer'), { code: 'ECONNRESET' }));
      const onAbort = () => done(signal.reason ?? new DeadlineError('HTTP exchange'));
      if (signal.aborted) return onAbort();
      socket.on('data', onData);
      socket.once('error', onError);
      socket.once('end', onEnd);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.write(request);
    });
}

/** The trust of a fetch that adds `trustPem` (an app's own CA) to the options' extra CA. */
export function withAppTrust(extraCaPem: string | undefined, trustPem: string): string {
  return [extraCaPem, trustPem].filter(Boolean).join('\n');
}

/**
 * Fetches a URL with the http probe (the same redirects, limits and
 * failures as a web measurement), at the pinned addresses of its host when
 * the options pin it. `trustPem` adds CA certificates to the usual roots.
 */
export async function fetchUrl(input: ProbeInput, url: string, clock: ProbeClock, signal: AbortSignal, trustPem?: string): Promise<AppFetch> {
  const t0 = clock.seconds();
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const options: ProbeOptions = { ...input.options, bodyCapBytes: Math.min(input.options.bodyCapBytes, APP_BODY_CAP_BYTES) };
  if (trustPem) options.extraCaPem = withAppTrust(input.options.extraCaPem, trustPem);
  const result = await httpProbe.run({ target: input.target, url, addresses: pinnedAddresses(host, options) ?? [], options }, signal);
  const hops = result.details.hops;
  return {
    url,
    t0,
    t: clock.seconds(),
    failure: result.failure,
    failed_operation: result.failed_operation,
    status_code: hops[hops.length - 1]?.status_code ?? null,
    hops,
  };
}

/** The first failure of these steps, with its operation; null when they all succeeded. */
export function firstFailure(steps: readonly { failure: Failure; failed_operation: Operation | null }[]): { failure: Failure; operation: Operation | null } {
  const failed = steps.find((s) => s.failure !== null);
  return failed ? { failure: failed.failure, operation: failed.failed_operation } : { failure: null, operation: null };
}
