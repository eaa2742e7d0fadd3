// tls_duration: how long does a TLS session live? In Iran in 2013 TLS
// connections were cut about 60 s after they started while plain HTTP was
// left alone (the Psiphon post of 2013; OONI's 2017 Iran report, citing Aryan et al.); no OONI test sees
// that. The probe keeps one TLS session and one plain-HTTP session to the same
// IP busy with HTTP/1.1 keep-alive requests, and records when and how each
// one ended: an abrupt death (RST, silence, a FIN without close_notify on
// TLS) or a graceful close, after which a fresh connection measures on to
// the horizon (session/keepalive_session.ts). The cross-session agreement
// (cut_after_s) is the analysis's job.
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { abortFailure } from './failure.js';
import { failureOf, firstAddress, parseProbeUrl, ProbeInputError, resultEnvelope, sharedSecureContext, warmSharedTrust } from './net.js';
import { KeepAliveSession } from './session/keepalive_session.js';
import type { Probe, ProbeInput, ProbeResult, SessionResult, TlsDurationDetails } from './types.js';

export { ResponseSkipper } from './http1_framer.js';

/** Where the sessions go: the URL's host, its TLS port and the request they repeat. */
interface SessionTarget {
  /** Host name (or IP literal) without brackets: SNI and Host header. */
  host: string;
  tlsPort: number;
  plainPort: number;
  path: string;
}

function parseTarget(input: ProbeInput): SessionTarget {
  const target = parseProbeUrl(input.url); // throws ProbeInputError on an invalid input, as a probe may
  // An http:// input is still measured over TLS on 443: the session cut is a TLS question.
  const tlsPort = target.scheme === 'http' ? 443 : target.port;
  const plainPort = input.options.sessionPlainPort ?? 80;
  if (!Number.isInteger(plainPort) || plainPort < 0 || plainPort > 65535) throw new ProbeInputError('tls_duration: sessionPlainPort must be 0..65535');
  const path = input.options.sessionPath ?? '/';
  if (!path.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(path)) throw new ProbeInputError('tls_duration: sessionPath must be an absolute path without spaces');
  return { host: target.host, tlsPort, plainPort, path };
}

function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new ProbeInputError(`tls_duration: ${name} must be a positive number of milliseconds`);
}

/** The Host header value: brackets for IPv6, the port when it is not the scheme's default. */
function hostHeader(host: string, port: number, defaultPort: number): string {
  const name = isIP(host) === 6 ? `[${host}]` : host;
  return port === defaultPort ? name : `${name}:${port}`;
}

function keepAliveRequest(path: string, host: string, userAgent: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${userAgent}\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n`,
    'latin1',
  );
}


// ---------------------------------------------------------------------------

function failedSession(kind: 'tls' | 'plain', ip: string | null, port: number, failure: string): SessionResult {
  return { kind, ip, port, died_after_s: null, end: 'connect_failed', failure, bytes_received: 0, requests_completed: 0, abrupt: false, segments: [] };
}


async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<TlsDurationDetails>> {
  const startedAt = new Date();
  const t0 = performance.now();
  const { options } = input;
  const target = parseTarget(input);
  requirePositive('timeoutMs', options.timeoutMs);
  requirePositive('sessionIntervalMs', options.sessionIntervalMs);
  requirePositive('sessionHorizonMs', options.sessionHorizonMs);
  const secureContext = sharedSecureContext(options.extraCaPem, 'tls_duration');
  const horizonS = options.sessionHorizonMs / 1000;

  const envelope = resultEnvelope<TlsDurationDetails>('tls_duration', startedAt, t0);

  let ip: string;
  try {
    ip = await firstAddress(input, target.host, signal);
  } catch (err) {
    const failure = failureOf(err, signal);
    return envelope({ horizon_s: horizonS, tls: failedSession('tls', null, target.tlsPort, failure), plain: null }, failure, 'resolve');
  }

  const common = {
    ip,
    intervalMs: options.sessionIntervalMs,
    timeoutMs: options.timeoutMs,
    bodyLimit: options.bodyReadLimitBytes > 0 ? options.bodyReadLimitBytes : 4 * 1024 * 1024,
  };
  const sessions: KeepAliveSession[] = [
    new KeepAliveSession(
      {
        ...common,
        kind: 'tls',
        port: target.tlsPort,
        servername: isIP(target.host) ? null : target.host,
        secureContext,
        request: keepAliveRequest(target.path, hostHeader(target.host, target.tlsPort, 443), options.userAgent),
      },
      options.sessionHorizonMs,
    ),
  ];
  if (target.plainPort !== 0) {
    sessions.push(
      new KeepAliveSession(
        {
          ...common,
          kind: 'plain',
          port: target.plainPort,
          servername: null,
          secureContext: null,
          request: keepAliveRequest(target.path, hostHeader(target.host, target.plainPort, 80), options.userAgent),
        },
        options.sessionHorizonMs,
      ),
    );
  }

  const onAbort = () => {
    const failure = abortFailure(signal);
    for (const session of sessions) session.interrupt(failure);
  };
  if (signal.aborted) {
    onAbort();
  } else {
    signal.addEventListener('abort', onAbort, { once: true });
    for (const session of sessions) session.start();
  }
  const [tls, plain] = await Promise.all(sessions.map((s) => s.done));
  signal.removeEventListener('abort', onAbort);

  const failure = tls!.result.end === 'horizon' ? null : tls!.result.failure;
  // A graceful close is no failure: the session measured on.
  return envelope({ horizon_s: horizonS, tls: tls!.result, plain: plain?.result ?? null }, failure, tls!.operation);
}

export const tlsDurationProbe: Probe<TlsDurationDetails> = { kind: 'tls_duration', run, warm: warmSharedTrust('tls_duration') };
