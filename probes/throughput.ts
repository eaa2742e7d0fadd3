// throughput: how fast does the target download, and how does the rate
// behave? In 2013 every connection to a foreign site was throttled, and a
// policer (tc tbf, a DPI box dropping packets) settles at a steady rate where
// congestion wanders (../shared/FACTS.md, "Throttling"). The probe downloads
// through undici from addresses[0] with the URL's Host and SNI, samples the
// cumulative byte count, and records the steady rate and its variation. The
// comparison with the domestic baseline and the control is the analysis's
// job: it reads steady_rate_bps and domestic.
import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { SecureContext } from 'node:tls';
import { buildConnector, Client } from 'undici';
import { abortFailure, classifyError } from './failure.js';
import { failureOf, firstAddress, parseProbeUrl, ProbeInputError, resultEnvelope, sharedSecureContext } from './net.js';
import type { Failure, Operation, Probe, ProbeInput, ProbeResult, ThroughputDetails, ThroughputSample } from './types.js';

/** Samples are taken at least this often. */
export const SAMPLE_INTERVAL_MS = 250;
/** Per-sample rates varying less than this (coefficient of variation) look like a policer. */
export const FLAT_CV_MAX = 0.3;
/** Fewer per-sample rates than this over the steady part: too few to call a shape. */
export const MIN_RATE_SAMPLES = 4;

// ---------------------------------------------------------------------------
// The rate analysis: pure, on the samples alone.

export interface RateSummary {
  steady_rate_bps: number | null;
  rate_cv: number | null;
  shape: 'flat' | 'noisy' | 'unknown';
}

/** Cumulative bytes at time t, interpolated between samples. */
function bytesAt(samples: ThroughputSample[], t: number): number {
  let prev = { t: 0, bytes: 0 };
  for (const s of samples) {
    if (s.t >= t) {
      if (s.t === prev.t) return s.bytes;
      return prev.bytes + ((s.bytes - prev.bytes) * (t - prev.t)) / (s.t - prev.t);
    }
    prev = s;
  }
  return prev.bytes;
}

/**
 * Steady rate, variation and shape from cumulative samples. The steady part
 * starts one second after the first byte (slow start and bursts are over by
 * then); a download with less than two seconds of data skips its first 10 %
 * of bytes instead.
 */
export function summarizeRate(samples: ThroughputSample[], firstByteS: number | null): RateSummary {
  const unknown: RateSummary = { steady_rate_bps: null, rate_cv: null, shape: 'unknown' };
  const last = samples[samples.length - 1];
  if (firstByteS === null || !last || last.bytes === 0 || last.t <= firstByteS) return unknown;

  let steadyStart: number;
  if (last.t - firstByteS >= 2) {
    steadyStart = firstByteS + 1;
  } else {
    const tenth = samples.find((s) => s.bytes >= last.bytes * 0.1);
    steadyStart = Math.max(firstByteS, tenth ? tenth.t : firstByteS);
  }
  const anchor = { t: steadyStart, bytes: bytesAt(samples, steadyStart) };
  const steady = [anchor, ...samples.filter((s) => s.t > steadyStart)];
  const span = last.t - anchor.t;
  const steadyRate = span > 0 ? (last.bytes - anchor.bytes) / span : last.bytes / (last.t - firstByteS);

  // Per-sample rates; a tail shorter than half an interval (the stop) says little and is left out.
  const rates: number[] = [];
  for (let i = 1; i < steady.length; i++) {
    const dt = steady[i]!.t - steady[i - 1]!.t;
    if (dt < SAMPLE_INTERVAL_MS / 2000) continue;
    rates.push((steady[i]!.bytes - steady[i - 1]!.bytes) / dt);
  }
  const summary: RateSummary = { steady_rate_bps: Math.round(steadyRate), rate_cv: null, shape: 'unknown' };
  if (rates.length < MIN_RATE_SAMPLES) return summary;
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  if (mean <= 0) return summary;
  const variance = rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length;
  const cv = Math.sqrt(variance) / mean;
  return { steady_rate_bps: summary.steady_rate_bps, rate_cv: Math.round(cv * 1000) / 1000, shape: cv <= FLAT_CV_MAX ? 'flat' : 'noisy' };
}

// ---------------------------------------------------------------------------
// The download.

interface DownloadTarget {
  url: URL;
  host: string;
  https: boolean;
}

function parseTarget(input: ProbeInput): DownloadTarget {
  const base = parseProbeUrl(input.url); // throws ProbeInputError on an invalid input, as a probe may
  if (base.scheme === 'tcp') throw new ProbeInputError(`throughput: needs an http(s) URL, got ${input.url.slice(0, 200)}`);
  const path = input.options.throughputPath;
  let url = base.url;
  if (path !== undefined) {
    // Only a path on the same origin: "//other.host/x" would change the target.
    if (!path.startsWith('/') || path.startsWith('//')) throw new ProbeInputError('throughput: throughputPath must be an absolute path');
    url = new URL(path, base.url.origin);
  }
  return { url, host: base.host, https: base.scheme === 'https' };
}



function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new ProbeInputError(`throughput: ${name} must be positive`);
}

/** Where in the exchange a download is, for failed_operation. */
type Stage = 'connect' | 'tls_handshake' | 'http_round_trip' | 'read';

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<ThroughputDetails>> {
  const startedAt = new Date();
  const t0 = performance.now();
  const { options } = input;
  const target = parseTarget(input);
  requirePositive('timeoutMs', options.timeoutMs);
  requirePositive('throughputBytes', options.throughputBytes);
  requirePositive('throughputMaxMs', options.throughputMaxMs);
  const secureContext = target.https ? sharedSecureContext(options.extraCaPem, 'throughput') : null;
  const domestic = input.target.tags.includes('domestic');

  const details: ThroughputDetails = {
    url: target.url.href,
    bytes: 0,
    duration_s: 0,
    time_to_first_byte_ms: null,
    samples: [],
    steady_rate_bps: null,
    rate_cv: null,
    shape: 'unknown',
    domestic,
    status_code: null,
  };
  const finish = resultEnvelope<ThroughputDetails>('throughput', startedAt, t0);
  const envelope = (failure: Failure, operation: Operation | null) => finish(details, failure, operation);

  let ip: string;
  try {
    ip = await firstAddress(input, target.host, signal);
  } catch (err) {
    return envelope(failureOf(err, signal), 'resolve');
  }

  const outcome = await download(target, ip, secureContext, input, details, signal);
  return envelope(outcome.failure, outcome.operation);
}

/** Runs the download into `details`; resolves with how it ended. Never rejects. */
function download(
  target: DownloadTarget,
  ip: string,
  secureContext: SecureContext | null,
  input: ProbeInput,
  details: ThroughputDetails,
  signal: AbortSignal,
): Promise<{ failure: Failure; operation: Operation | null }> {
  const { options } = input;
  const servername = isIP(target.host) ? undefined : target.host;
  let stage: Stage = 'connect';
  const connector = buildConnector({
    timeout: options.timeoutMs,
    maxCachedSessions: 0,
    ...(secureContext ? { secureContext } : {}),
  });
  const client = new Client(target.url.origin, {
    // Dial the address the DNS probe found, keeping the URL's name for Host and SNI.
    connect: (opts, callback) => {
      // undici's connector returns the socket it dials (its types say void).
      const socket = connector({ ...opts, hostname: ip, ...(servername ? { servername } : {}) }, (...args) => {
        if (args[0] === null) stage = 'http_round_trip';
        callback(...args);
      }) as unknown as Socket | undefined;
      if (target.https) socket?.once('connect', () => (stage = stage === 'connect' ? 'tls_handshake' : stage));
    },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    pipelining: 1,
  });

  const start = performance.now();
  const elapsedS = () => Math.round(performance.now() - start) / 1000;
  let firstByteAt: number | null = null;
  const takeSample = () => {
    const t = elapsedS();
    const prev = details.samples[details.samples.length - 1];
    if (!prev || t > prev.t) details.samples.push({ t, bytes: details.bytes });
    else prev.bytes = details.bytes;
  };
  const sampler = setInterval(takeSample, SAMPLE_INTERVAL_MS);
  const controller = new AbortController();

  return new Promise((resolve) => {
    let finished = false;
    const finish = (failure: Failure, operation: Operation | null) => {
      if (finished) return;
      finished = true;
      clearInterval(sampler);
      clearTimeout(cap);
      signal.removeEventListener('abort', onAbort);
      takeSample();
      details.duration_s = elapsedS();
      Object.assign(details, summarizeRate(details.samples, firstByteAt === null ? null : Math.round(firstByteAt - start) / 1000));
      controller.abort();
      // destroy() resets the connection at once; wait for it so no socket outlives the probe.
      client.destroy().then(
        () => resolve({ failure, operation }),
        () => resolve({ failure, operation }),
      );
    };
    // The time cap ends a download that is still going: that is a measurement, not a failure.
    const cap = setTimeout(() => finish(null, null), options.throughputMaxMs);
    const onAbort = () => finish(abortFailure(signal), stage);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });

    client
      .request({
        path: target.url.pathname + target.url.search,
        method: 'GET',
        headers: { 'user-agent': options.userAgent, accept: '*/*', 'accept-encoding': 'identity' },
        signal: controller.signal,
      })
      .then(
        ({ statusCode, body }) => {
          if (finished) {
            body.destroy();
            return;
          }
          stage = 'read';
          details.status_code = statusCode;
          details.time_to_first_byte_ms = Math.round(performance.now() - start);
          body.on('data', (chunk: Buffer) => {
            if (finished) return;
            if (firstByteAt === null) firstByteAt = performance.now();
            details.bytes += chunk.length;
            if (details.bytes >= options.throughputBytes) finish(null, null);
          });
          body.on('end', () => finish(null, null));
          // A download cut short keeps what it got; the failure says how it ended.
          body.on('error', (err) => finish(classifyError(err), 'read'));
        },
        (err) => finish(classifyError(err), stage),
      );
  });
}

export const throughputProbe: Probe<ThroughputDetails> = { kind: 'throughput', run };
