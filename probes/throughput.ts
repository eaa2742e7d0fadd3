// throughput: how fast does the target download, and how does the rate
// behave? In 2013 every connection to a foreign site was throttled, and a
// policer (tc tbf, a DPI box dropping packets) settles at a steady rate where
// congestion wanders (Xue et al., IMC 2021; OONI dd-007-throttling). The probe downloads
// through undici from addresses[0] with the URL's Host and SNI, samples the
// cumulative byte count, and records the steady rate and its variation.
//
// A small page says nothing about throttling (it never leaves TCP slow
// start), so the probe looks for something big: a `throughput=URL` tag on
// the target first, then options.throughputPath, else the page, and when
// the page is small, the largest resource it links to (http1_links.ts).
// Redirects are followed (at most 5, recorded). The probe only records:
// the analysis calls a small body or a non-2xx status inconclusive, and
// compares steady_rate_bps with the domestic baseline and the control.
import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { SecureContext } from 'node:tls';
import { abortFailure, classifyError } from './failure.js';
import { dialClient, extractLinks, largestLinked } from './http1_links.js';
import { failureOf, firstAddress, parseProbeUrl, ProbeInputError, resultEnvelope, sharedSecureContext, warmSharedTrust } from './net.js';
import type { Failure, Operation, Probe, ProbeInput, ProbeResult, ThroughputChoice, ThroughputDetails, ThroughputSample } from './types.js';

/** Samples are taken at least this often. */
export const SAMPLE_INTERVAL_MS = 250;
/** Redirects followed at most. */
export const MAX_REDIRECTS = 5;
/** A body smaller than this never left slow start: the probe looks for a larger linked resource. */
export const MIN_BULK_BYTES = 256 * 1024;
/** The first bytes of a page kept to find its links in. */
const PAGE_KEEP_BYTES = 256 * 1024;
/** The address OONI calls a bogon: a hop there is not fetched (the control helper's policy). */
const REFUSED_FAILURE = 'dns_bogon_error';

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

/** What to download first, and why. */
function firstRequest(input: ProbeInput): { url: URL; choice: ThroughputChoice } {
  const base = parseProbeUrl(input.url); // throws ProbeInputError on an invalid input, as a probe may
  if (base.scheme === 'tcp') throw new ProbeInputError(`throughput: needs an http(s) URL, got ${input.url.slice(0, 200)}`);
  const tag = input.target.tags.find((t) => t.startsWith('throughput='));
  if (tag !== undefined) {
    let url: URL;
    try {
      url = new URL(tag.slice('throughput='.length));
    } catch {
      throw new ProbeInputError(`throughput: the tag ${tag.slice(0, 200)} does not hold a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProbeInputError('throughput: a throughput= tag needs an http(s) URL');
    return { url, choice: 'tag' };
  }
  const path = input.options.throughputPath;
  if (path !== undefined) {
    // Only a path on the same origin: "//other.host/x" would change the target.
    if (!path.startsWith('/') || path.startsWith('//')) throw new ProbeInputError('throughput: throughputPath must be an absolute path');
    return { url: new URL(path, base.url.origin), choice: 'path' };
  }
  return { url: base.url, choice: 'page' };
}

function requirePositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new ProbeInputError(`throughput: ${name} must be positive`);
}

/** Where in the exchange a download is, for failed_operation. */
type Stage = 'connect' | 'tls_handshake' | 'http_round_trip' | 'read';

/** Who may be dialled: the control helper refuses private addresses; the probe refuses none. */
export interface AddressPolicy {
  refuse(ip: string): boolean;
}

interface Measurement {
  input: ProbeInput;
  /** The input's host and the address found for it: other hosts are resolved when a redirect leads there. */
  inputHost: string;
  inputIp: string;
  policy: AddressPolicy | null;
  signal: AbortSignal;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<ThroughputDetails>> {
  return measureThroughput(input, signal, null);
}

/** The throughput probe, with an address policy for the control helper (which must not dial inside its own network). */
export async function measureThroughput(input: ProbeInput, signal: AbortSignal, policy: AddressPolicy | null): Promise<ProbeResult<ThroughputDetails>> {
  const startedAt = new Date();
  const t0 = performance.now();
  const { options } = input;
  const first = firstRequest(input);
  requirePositive('timeoutMs', options.timeoutMs);
  requirePositive('throughputBytes', options.throughputBytes);
  requirePositive('throughputMaxMs', options.throughputMaxMs);
  sharedSecureContext(options.extraCaPem, 'throughput'); // a bad PEM is an invalid input: throw now
  const domestic = input.target.tags.includes('domestic');
  const inputHost = parseProbeUrl(input.url).host.toLowerCase();

  const details = emptyDetails(first.url, domestic);
  details.resource_choice = first.choice;
  const finish = resultEnvelope<ThroughputDetails>('throughput', startedAt, t0);

  let inputIp: string;
  try {
    inputIp = await firstAddress(input, inputHost, signal);
  } catch (err) {
    return finish(details, failureOf(err, signal), 'resolve');
  }
  const m: Measurement = { input, inputHost, inputIp, policy, signal };

  const keepPage = first.choice === 'page';
  let outcome = await followRedirects(first.url, m, details, keepPage);
  const small = details.bytes < MIN_BULK_BYTES && details.complete === true;
  const ok2xx = details.status_code !== null && details.status_code !== undefined && details.status_code >= 200 && details.status_code < 300;
  if (keepPage && outcome.failure === null && small && ok2xx && outcome.page) {
    // The page is too small to measure anything: size what it links to, and download the largest.
    const pageUrl = new URL(details.url);
    const links = extractLinks(outcome.page.toString('latin1'), pageUrl);
    const ip = await addressFor(pageUrl, m).catch(() => null);
    if (links.length > 0 && ip !== null && typeof ip === 'string') {
      const plan = { ip, secureContext: pageUrl.protocol === 'https:' ? sharedSecureContext(options.extraCaPem, 'throughput') : null, timeoutMs: options.timeoutMs };
      const { candidates, best } = await largestLinked(links, details.bytes, plan, options.userAgent, signal);
      if (best) {
        const resource = emptyDetails(new URL(best.url), domestic);
        resource.resource_choice = 'largest_linked';
        resource.candidates = candidates;
        Object.assign(details, resource);
        outcome = await followRedirects(new URL(best.url), m, details, false);
      } else {
        details.candidates = candidates;
      }
    }
  }
  return finish(details, outcome.failure, outcome.operation);
}

function emptyDetails(url: URL, domestic: boolean): ThroughputDetails {
  return {
    url: url.href,
    bytes: 0,
    duration_s: 0,
    time_to_first_byte_ms: null,
    samples: [],
    steady_rate_bps: null,
    rate_cv: null,
    shape: 'unknown',
    domestic,
    status_code: null,
    requested_url: url.href,
    redirects: [],
    complete: false,
  };
}

/** The address to dial for a URL: the input's for its host, else resolved (and checked against the policy). */
async function addressFor(url: URL, m: Measurement): Promise<string | { failure: string; operation: Operation }> {
  const host = hostOf(url);
  let ip: string;
  if (host === m.inputHost) ip = m.inputIp;
  else if (isIP(host) !== 0) ip = host;
  else {
    try {
      ip = await firstAddress({ ...m.input, addresses: [] }, host, m.signal);
    } catch (err) {
      return { failure: failureOf(err, m.signal), operation: 'resolve' };
    }
  }
  if (m.policy?.refuse(ip)) return { failure: REFUSED_FAILURE, operation: 'connect' };
  return ip;
}

interface HopOutcome {
  failure: Failure;
  operation: Operation | null;
  /** The first bytes of the final body, when asked to keep them. */
  page?: Buffer;
}

/** Downloads `start`, following redirects into `details` (which ends up describing the final hop). */
async function followRedirects(start: URL, m: Measurement, details: ThroughputDetails, keepPage: boolean): Promise<HopOutcome> {
  let url = start;
  for (;;) {
    const ip = await addressFor(url, m);
    if (typeof ip !== 'string') return ip;
    const secureContext = url.protocol === 'https:' ? sharedSecureContext(m.input.options.extraCaPem, 'throughput') : null;
    const redirectsLeft = details.redirects!.length < MAX_REDIRECTS;
    const hop = await download(url, ip, secureContext, m.input, details, m.signal, redirectsLeft, keepPage);
    if (hop.redirect === undefined) return hop;
    details.redirects!.push(hop.redirect.href);
    url = hop.redirect;
  }
}

/** Runs one request into `details`; resolves with how it ended, or where it redirects. Never rejects. */
function download(
  url: URL,
  ip: string,
  secureContext: SecureContext | null,
  input: ProbeInput,
  details: ThroughputDetails,
  signal: AbortSignal,
  followRedirect: boolean,
  keepPage: boolean,
): Promise<HopOutcome & { redirect?: URL }> {
  const { options } = input;
  let stage: Stage = 'connect';
  Object.assign(details, { url: url.href, bytes: 0, duration_s: 0, time_to_first_byte_ms: null, samples: [], status_code: null, complete: false });
  const client = dialClient(url, { ip, secureContext, timeoutMs: options.timeoutMs }, (socket: Socket | undefined, err) => {
    if (socket && url.protocol === 'https:') socket.once('connect', () => (stage = stage === 'connect' ? 'tls_handshake' : stage));
    else if (!socket && err === null) stage = 'http_round_trip';
  });

  const start = performance.now();
  const elapsedS = () => Math.round(performance.now() - start) / 1000;
  let firstByteAt: number | null = null;
  const kept: Buffer[] = [];
  let keptBytes = 0;
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
    const finish = (failure: Failure, operation: Operation | null, redirect?: URL) => {
      if (finished) return;
      finished = true;
      clearInterval(sampler);
      clearTimeout(cap);
      signal.removeEventListener('abort', onAbort);
      takeSample();
      details.duration_s = elapsedS();
      Object.assign(details, summarizeRate(details.samples, firstByteAt === null ? null : Math.round(firstByteAt - start) / 1000));
      controller.abort();
      const outcome = { failure, operation, ...(redirect ? { redirect } : {}), ...(keepPage ? { page: Buffer.concat(kept) } : {}) };
      // destroy() resets the connection at once; wait for it so no socket outlives the probe.
      client.destroy().then(
        () => resolve(outcome),
        () => resolve(outcome),
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
        path: url.pathname + url.search,
        method: 'GET',
        headers: { 'user-agent': options.userAgent, accept: '*/*', 'accept-encoding': 'identity' },
        signal: controller.signal,
      })
      .then(
        ({ statusCode, headers, body }) => {
          if (finished) {
            body.destroy();
            return;
          }
          stage = 'read';
          details.status_code = statusCode;
          details.time_to_first_byte_ms = Math.round(performance.now() - start);
          const location = headers['location'];
          if (followRedirect && [301, 302, 303, 307, 308].includes(statusCode) && typeof location === 'string') {
            let next: URL | null = null;
            try {
              next = new URL(location, url);
            } catch {
              next = null;
            }
            if (next && (next.protocol === 'http:' || next.protocol === 'https:')) {
              body.destroy();
              finish(null, null, next);
              return;
            }
          }
          body.on('data', (chunk: Buffer) => {
            if (finished) return;
            if (firstByteAt === null) firstByteAt = performance.now();
            details.bytes += chunk.length;
            if (keepPage && keptBytes < PAGE_KEEP_BYTES) {
              const part = chunk.subarray(0, PAGE_KEEP_BYTES - keptBytes);
              kept.push(Buffer.from(part));
              keptBytes += part.length;
            }
            if (details.bytes >= options.throughputBytes) finish(null, null);
          });
          body.on('end', () => {
            details.complete = true;
            finish(null, null);
          });
          // A download cut short keeps what it got; the failure says how it ended.
          body.on('error', (err) => finish(classifyError(err), 'read'));
        },
        (err) => finish(classifyError(err), stage),
      );
  });
}

export const throughputProbe: Probe<ThroughputDetails> = { kind: 'throughput', run, warm: warmSharedTrust('throughput') };
