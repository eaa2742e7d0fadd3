// The control helper's fetch of the page. Not the http probe: that one
// follows redirects wherever they point, and a public helper must check
// every address before it connects. Like the probe (and a browser) it offers
// h2 and http/1.1 by ALPN, so an h2-only site is fetched, not failed.
import { isIP, type Socket } from 'node:net';
import { Client } from 'undici';
import { FAILURE } from '../../probes/failure.js';
import { HTTP_ALPN, extractTitle } from '../../probes/http.js';
import { connectTcp, failureOf, lookupSystem, readCapped, tlsHandshake, trustOptions } from '../../probes/net.js';
import { MAX_ADDRESSES } from '../../probes/tcp.js';
import type { ProbeOptions } from '../../probes/types.js';
import type { ControlAnswer } from '../model.js';
import { REFUSED_FAILURE } from './address_policy.js';

export interface MeasureContext {
  options: ProbeOptions;
  refuse: (ip: string) => boolean;
  signal: AbortSignal;
}

const MAX_REDIRECTS = 10;
const BODY_READ_LIMIT = 4 * 1024 * 1024;
const TITLE_SAMPLE_BYTES = 64 * 1024;
// Given to client.destroy() after each fetch, so undici builds no error (with a stack) per hop.
const FETCH_DONE: Error = Object.assign(new Error('fetch finished'), { stack: 'fetch finished' });

type HttpAnswer = ControlAnswer['http_request'];

function failedFetch(failure: string): HttpAnswer {
  return { body_length: -1, failure, title: '', headers: {}, status_code: -1 };
}

export async function fetchPage(start: URL, requestHeaders: Record<string, string[]>, firstAddresses: string[], ctx: MeasureContext): Promise<HttpAnswer> {
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
          let trust: ReturnType<typeof trustOptions>;
          try {
            trust = trustOptions(extraCaPem, 'helper');
          } catch (err) {
            tcp.destroy();
            throw err;
          }
          return tlsHandshake(
            tcp,
            { ...(isIP(host) ? {} : { servername: host }), host, ALPNProtocols: HTTP_ALPN, rejectUnauthorized: true, ...trust },
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
    allowH2: true,
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
    // A reason made once: abort() without one builds a DOMException (and its stack) per fetch.
    controller.abort(FETCH_DONE);
    await client.destroy(FETCH_DONE).catch(() => {});
  }
}

export function firstHeader(headers: Record<string, string[]>, name: string): string | undefined {
  for (const [key, values] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof values[0] === 'string' && values[0] !== '') return values[0].slice(0, 512);
  }
  return undefined;
}
