// Socket and timing helpers shared by the probes: parse a probe's URL,
// bound a phase with a deadline that cleans up after itself (phase.ts),
// connect TCP with the failure classified, shake hands over TLS
// (tls_connect.ts), resolve with the system resolver.
import { promises as dnsPromises } from 'node:dns';
import { isIP, Socket, connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { DeadlineError, abortFailure, classifyError } from './failure.js';
import { withDeadline } from './phase.js';
import type { Failure, Operation, ProbeInput, ProbeKind, ProbeOptions, ProbeResult } from './types.js';

export { raceAbort, startPhase, withDeadline, withPhase, type Phase } from './phase.js';
export { handshakePeerCertificate, tlsHandshake } from './tls_connect.js';

/** The input URL could not be understood: the one case where a probe throws. */
export class ProbeInputError extends Error {
  override name = 'ProbeInputError';
}

export interface ProbeTarget {
  url: URL;
  scheme: 'http' | 'https' | 'tcp';
  /** Lower-cased host name, or the IP without brackets. */
  host: string;
  /** The explicit port, or 80/443 by scheme. */
  port: number;
  hostIsIp: boolean;
}

/** Parses an http://, https:// or tcp://host:port input. Throws ProbeInputError when it cannot. */
export function parseProbeUrl(input: string): ProbeTarget {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ProbeInputError(`not a URL: ${JSON.stringify(String(input).slice(0, 200))}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'tcp') {
    throw new ProbeInputError(`unsupported scheme ${JSON.stringify(url.protocol)} in ${JSON.stringify(input.slice(0, 200))}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === '') throw new ProbeInputError(`no host in ${JSON.stringify(input.slice(0, 200))}`);
  let port: number;
  if (url.port !== '') port = Number(url.port);
  else if (scheme === 'tcp') throw new ProbeInputError(`tcp:// input without a port: ${JSON.stringify(input.slice(0, 200))}`);
  else port = scheme === 'https' ? 443 : 80;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProbeInputError(`bad port in ${JSON.stringify(input.slice(0, 200))}`);
  return { url, scheme, host, port, hostIsIp: isIP(host) !== 0 };
}

/** Seconds and milliseconds since a probe started (OONI's t0/t are seconds). */
export class ProbeClock {
  readonly startedAt = new Date();
  private readonly origin = performance.now();

  /** Seconds since the start, to the millisecond. */
  seconds(): number {
    return Math.round(performance.now() - this.origin) / 1000;
  }

  ms(): number {
    return Math.round(performance.now() - this.origin);
  }

  /** The probe's result envelope, timed by this clock. */
  envelope<D>(probe: ProbeKind): (details: D, failure: Failure, operation: Operation | null) => ProbeResult<D> {
    return resultEnvelope<D>(probe, this.startedAt, this.origin);
  }
}

export function elapsedMs(since: number): number {
  return Math.round((performance.now() - since) * 1000) / 1000;
}

export function now(): number {
  return performance.now();
}

/**
 * The failure string for an error that ended a phase. When the probe's own
 * signal was aborted, that decides it (timeout or interrupted), whatever
 * error the aborted operation surfaced.
 */
export function failureOf(err: unknown, probeSignal: AbortSignal): string {
  if (probeSignal.aborted) return abortFailure(probeSignal);
  return classifyError(err);
}

/** Connects a TCP socket to ip:port within `timeoutMs`. On failure the socket is destroyed and the error rethrown. */
export function connectTcp(ip: string, port: number, signal: AbortSignal, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = netConnect({ host: ip, port, noDelay: true, autoSelectFamily: false });
    const timer = setTimeout(() => finish(new DeadlineError('connect')), Math.max(0, timeoutMs));
    const onAbort = () => finish(signal.reason);
    const onError = (err: Error) => finish(err);
    const onConnect = () => finish(null);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', onConnect);
    function finish(err: unknown) {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('connect', onConnect);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    }
  });
}

export interface TcpAttempt {
  failure: Failure;
  connect_ms: number | null;
}

/** One TCP connect, recorded rather than thrown: the failure string and the connect time. The socket is closed. */
export async function tryConnect(ip: string, port: number, signal: AbortSignal, timeoutMs: number): Promise<TcpAttempt> {
  const t0 = now();
  try {
    const socket = await connectTcp(ip, port, signal, timeoutMs);
    const connectMs = elapsedMs(t0);
    socket.destroy();
    return { failure: null, connect_ms: connectMs };
  } catch (err) {
    return { failure: failureOf(err, signal), connect_ms: null };
  }
}

/**
 * getaddrinfo through dns.promises.lookup, all addresses in the system's
 * order, bounded by `timeoutMs` and `signal`. A lookup already handed to
 * the thread pool cannot be cancelled; we stop waiting for it.
 */
export async function lookupSystem(host: string, signal: AbortSignal, timeoutMs: number): Promise<string[]> {
  if (isIP(host)) return [host];
  const results = await withDeadline(signal, timeoutMs, 'resolve', () => dnsPromises.lookup(host, { all: true, verbatim: true }));
  return [...new Set(results.map((r) => r.address))];
}

/** Resolves once `ms` have passed or the signal aborts, whichever comes first; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** "ip:port", with brackets around an IPv6 address. */
export function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export interface CappedBody {
  /** The first `keepBytes` bytes. */
  kept: Buffer;
  /** Bytes read, never more than `readLimit`. */
  bytesRead: number;
  /** The body went on past `readLimit` and reading stopped there. */
  truncated: boolean;
  /** The error that ended reading early (reset, timeout, EOF), or null. */
  error: unknown;
}

/**
 * Reads a body stream, keeping at most `keepBytes` and reading at most
 * `readLimit`: past that it stops (the caller destroys the stream/socket).
 * Never throws: an error while reading is returned with what was read so
 * far, so a failure can still report the bytes that arrived.
 */
export async function readCapped(body: AsyncIterable<Uint8Array>, keepBytes: number, readLimit: number): Promise<CappedBody> {
  const kept: Buffer[] = [];
  let keptLength = 0;
  let bytesRead = 0;
  let truncated = false;
  let error: unknown = null;
  try {
    for await (const chunk of body) {
      const room = readLimit - bytesRead;
      const take = Math.min(chunk.byteLength, Math.max(0, room));
      if (keptLength < keepBytes && take > 0) {
        const n = Math.min(take, keepBytes - keptLength);
        kept.push(Buffer.from(chunk.subarray(0, n)));
        keptLength += n;
      }
      bytesRead += take;
      if (chunk.byteLength > room) {
        truncated = true;
        break;
      }
    }
  } catch (err) {
    error = err ?? new Error('body stream failed');
  }
  return { kept: Buffer.concat(kept, keptLength), bytesRead, truncated, error };
}

/** addresses[0] (what the DNS probe found), or the system resolver's first answer when it found none. */
export async function firstAddress(input: ProbeInput, host: string, signal: AbortSignal): Promise<string> {
  const ip = input.addresses[0] ?? (await lookupSystem(host, signal, input.options.timeoutMs))[0];
  if (ip === undefined) throw Object.assign(new Error('no address'), { code: 'ENODATA' });
  return ip;
}

// One secure context per trust set: building one from the ~140 root
// certificates costs milliseconds and hundreds of KiB, so every handshake
// (web probes, helper, long-lived sessions) shares it instead of each
// parsing the roots again (issue 17: 88 % of a sweep's CPU went there).
// Never pass `ca: [...]` to tls.connect instead: 2,000 handshakes that way
// leave ~620 MiB in the allocator's heap, even after a GC (the daemon's
// growth in issue 17); with the shared context, under 10 MiB.
const secureContexts = new Map<string, SecureContext>();
let secureContextsBuilt = 0;

/**
 * The shared TLS trust: Node's default store (which includes
 * NODE_EXTRA_CA_CERTS) when `extraCaPem` is empty, else the bundled roots
 * plus `extraCaPem`. `probe` names the caller in the error for a bad PEM.
 */
export function sharedSecureContext(extraCaPem: string | undefined, probe: string): SecureContext {
  const key = extraCaPem ?? '';
  let context = secureContexts.get(key);
  if (!context) {
    try {
      context = createSecureContext(extraCaPem ? { ca: [...rootCertificates, extraCaPem] } : {});
    } catch (err) {
      throw new ProbeInputError(`${probe}: options.extraCaPem is not a usable PEM certificate (${(err as Error).message})`);
    }
    if (secureContexts.size >= 8) secureContexts.clear();
    secureContexts.set(key, context);
    secureContextsBuilt++;
  }
  return context;
}

/** How many shared trusts have been built in this process: a warm-up shows as one more, a warmed probe's run as none. */
export function sharedTrustBuilds(): number {
  return secureContextsBuilt;
}

/** A Probe.warm that builds the shared trust its options name. */
export function warmSharedTrust(probe: string): (options: ProbeOptions) => void {
  return (options) => void sharedSecureContext(options.extraCaPem, probe);
}

/** tls.connect options that validate with the shared trust for `extraCaPem`. */
export function trustOptions(extraCaPem: string | undefined, probe: string): { secureContext: SecureContext } {
  return { secureContext: sharedSecureContext(extraCaPem, probe) };
}

/** A probe's result envelope: started at `startedAt`, timed from `t0` (performance.now()), operation kept only with a failure. */
export function resultEnvelope<D>(probe: ProbeKind, startedAt: Date, t0: number) {
  return (details: D, failure: Failure, operation: Operation | null): ProbeResult<D> => ({
    probe,
    started_at: startedAt.toISOString(),
    runtime_ms: Math.round(performance.now() - t0),
    failure,
    failed_operation: failure === null ? null : operation,
    details,
  });
}
