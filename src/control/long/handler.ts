// Measures one long-lived control request from outside the country, with
// the probes' own code: the same keep-alive TLS session to the same address
// for the same horizon, the same resource downloaded, the same junk-first
// flow. The answer is the probe's record (LongAnswer).
import { isIP } from 'node:net';
import { lookupSystem, failureOf } from '../../../probes/net.js';
import { protocolProbe } from '../../../probes/protocol.js';
import { measureThroughput } from '../../../probes/throughput.js';
import { tlsDurationProbe } from '../../../probes/tls_duration.js';
import type { ProbeInput, ProbeOptions } from '../../../probes/types.js';
import { BROWSER_USER_AGENT, DEFAULT_PROBE_OPTIONS } from '../../config/schema.js';
import { isRefusedAddress } from '../address_policy.js';
import { HelperRequestError, parseEndpoint } from '../helper_request.js';
import { parseLongRequest, type LongAnswer, type LongRequest } from './request.js';

export interface LongControlOptions {
  /** Allow private, loopback and link-local addresses (the lab; tests). */
  allowPrivate?: boolean;
  /** More addresses to refuse (an operator's own ranges). */
  forbidAddress?: (ip: string) => boolean;
  /** Extra CA (PEM) to trust (the lab's CA). */
  extraCaPem?: string;
  /** Per-phase timeout (connect, handshake, first byte). Default 10 s. */
  timeoutMs?: number;
}

/** The wall time a request may take: its horizon or download cap, plus room for connecting. */
export function requestDeadlineMs(req: LongRequest, timeoutMs: number): number {
  if (req.kind === 'tls_duration') return req.horizon_ms + 2 * timeoutMs + 5_000;
  if (req.kind === 'throughput') return (req.max_ms ?? DEFAULT_PROBE_OPTIONS.throughputMaxMs) * 2 + 4 * timeoutMs;
  return 4 * timeoutMs + 5_000;
}

function refuser(opts: LongControlOptions): (ip: string) => boolean {
  return (ip) => (!opts.allowPrivate && isRefusedAddress(ip)) || (opts.forbidAddress?.(ip) ?? false);
}

const REFUSED = 'refusing to measure a private, loopback or reserved address';

/** The one address to measure: the one given, or the first the name resolves to; every candidate is checked. */
async function addressToMeasure(url: URL, given: string | undefined, refuse: (ip: string) => boolean, options: ProbeOptions, signal: AbortSignal): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (given !== undefined) addresses = [given];
  else if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await lookupSystem(host, signal, options.timeoutMs);
    } catch (err) {
      throw new HelperRequestError(502, `could not resolve the host (${failureOf(err, signal)})`);
    }
  }
  // A name that also points inside is not measured at all.
  if (addresses.length === 0) throw new HelperRequestError(502, 'the host has no address');
  if (addresses.some(refuse)) throw new HelperRequestError(403, REFUSED);
  return addresses[0]!;
}

/**
 * Answers one request body (JSON text or an already parsed object).
 * Throws HelperRequestError for a request it will not measure (400, 403, 502).
 */
export async function handleLongControl(body: string | LongRequest, opts: LongControlOptions, signal: AbortSignal): Promise<LongAnswer> {
  const req = typeof body === 'string' ? parseLongRequest(body) : parseLongRequest(JSON.stringify(body));
  const refuse = refuser(opts);
  const options: ProbeOptions = {
    ...DEFAULT_PROBE_OPTIONS,
    timeoutMs: opts.timeoutMs ?? DEFAULT_PROBE_OPTIONS.timeoutMs,
    extraCaPem: opts.extraCaPem,
    userAgent: BROWSER_USER_AGENT,
  };

  if (req.kind === 'protocol') {
    const ep = parseEndpoint(req.endpoint)!;
    if (refuse(ep.ip)) throw new HelperRequestError(403, REFUSED);
    const url = `tcp://${req.endpoint}`;
    const input: ProbeInput = { target: { raw: url, category: 'MISC', tags: [], inputs: [url] }, url, addresses: [ep.ip], options };
    return { version: 1, kind: 'protocol', result: await protocolProbe.run(input, signal) };
  }

  const url = new URL(req.url);
  const ip = await addressToMeasure(url, req.ip, refuse, options, signal);
  if (req.kind === 'tls_duration') {
    const input: ProbeInput = {
      target: { raw: req.url, category: 'MISC', tags: [], inputs: [req.url] },
      url: req.url,
      addresses: [ip],
      options: {
        ...options,
        sessionHorizonMs: req.horizon_ms,
        sessionIntervalMs: req.interval_ms ?? DEFAULT_PROBE_OPTIONS.sessionIntervalMs,
        ...(req.path !== undefined ? { sessionPath: req.path } : {}),
        ...(req.plain_port !== undefined ? { sessionPlainPort: req.plain_port } : {}),
      },
    };
    return { version: 1, kind: 'tls_duration', result: await tlsDurationProbe.run(input, signal) };
  }

  // The same resource: the URL is taken as it is (a throughput= tag), never searched for a larger one.
  const input: ProbeInput = {
    target: { raw: req.url, category: 'MISC', tags: [`throughput=${req.url}`], inputs: [req.url] },
    url: req.url,
    addresses: [ip],
    options: {
      ...options,
      throughputBytes: req.max_bytes ?? DEFAULT_PROBE_OPTIONS.throughputBytes,
      throughputMaxMs: req.max_ms ?? DEFAULT_PROBE_OPTIONS.throughputMaxMs,
    },
  };
  return { version: 1, kind: 'throughput', result: await measureThroughput(input, signal, { refuse }) };
}
