// The throughput probe's search for something big enough to measure: a
// small page over a long round trip never leaves TCP slow start, so its
// rate says nothing about throttling. The resources a page links to
// (images, scripts, styles, downloads) on the same origin are sized with
// HEAD (or a one-byte range request when HEAD gives no length), a few at
// most, and the largest 2xx one is downloaded instead.
import { isIP, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { buildConnector, Client } from 'undici';
import type { ThroughputCandidate } from './types.js';

/** Linked resources sized at most: each costs a round trip. */
export const MAX_CANDIDATES = 4;
/** Links looked at in a page at most. */
const MAX_LINKS = 200;

/** Extensions of resources likely to be large, best first. */
const LIKELY_LARGE = ['mp4', 'webm', 'zip', 'gz', 'iso', 'bin', 'pdf', 'mp3', 'jpg', 'jpeg', 'png', 'webp', 'gif', 'js', 'css', 'svg'];

function likelihood(url: URL): number {
  const ext = /\.([a-z0-9]{1,5})$/i.exec(url.pathname)?.[1]?.toLowerCase();
  const rank = ext ? LIKELY_LARGE.indexOf(ext) : -1;
  return rank === -1 ? LIKELY_LARGE.length : rank;
}

/**
 * Same-origin http(s) URLs the page links to through src= and href=
 * (img, script, link, a, source, video), most likely large first, the page
 * itself left out.
 */
export function extractLinks(html: string, page: URL): URL[] {
  const seen = new Set<string>([page.href]);
  const found: { url: URL; order: number }[] = [];
  const attribute = /\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;
  for (let m = attribute.exec(html); m !== null && found.length < MAX_LINKS; m = attribute.exec(html)) {
    const raw = (m[1] ?? m[2] ?? m[3] ?? '').trim().replace(/&amp;/g, '&');
    if (raw === '' || raw.startsWith('#') || /^(data|javascript|mailto):/i.test(raw)) continue;
    let url: URL;
    try {
      url = new URL(raw, page);
    } catch {
      continue;
    }
    url.hash = '';
    if (url.origin !== page.origin || seen.has(url.href)) continue;
    seen.add(url.href);
    found.push({ url, order: found.length });
  }
  return found.sort((a, b) => likelihood(a.url) - likelihood(b.url) || a.order - b.order).map((f) => f.url);
}

export interface DialPlan {
  /** The address to dial, whatever the URL's name would resolve to. */
  ip: string;
  secureContext: SecureContext | null;
  timeoutMs: number;
}

/** An undici Client for `url`'s origin that dials `plan.ip`, keeping the URL's name for Host and SNI. */
export function dialClient(url: URL, plan: DialPlan, onSocket?: (socket: Socket | undefined, err: Error | null) => void): Client {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const servername = isIP(host) ? undefined : host;
  const connector = buildConnector({
    timeout: plan.timeoutMs,
    maxCachedSessions: 0,
    ...(plan.secureContext ? { secureContext: plan.secureContext } : {}),
  });
  return new Client(url.origin, {
    connect: (opts, callback) => {
      // undici's connector returns the socket it dials (its types say void).
      const socket = connector({ ...opts, hostname: plan.ip, ...(servername ? { servername } : {}) }, (...args) => {
        onSocket?.(undefined, args[0]);
        callback(...args);
      }) as unknown as Socket | undefined;
      onSocket?.(socket, null);
    },
    headersTimeout: plan.timeoutMs,
    bodyTimeout: plan.timeoutMs,
    pipelining: 1,
  });
}

/** The size of a resource: Content-Length of a HEAD, or the total of a one-byte range request. */
export async function sizeOf(url: URL, plan: DialPlan, userAgent: string, signal: AbortSignal): Promise<ThroughputCandidate> {
  const candidate: ThroughputCandidate = { url: url.href, size: null, status_code: null };
  const client = dialClient(url, plan);
  const headers = { 'user-agent': userAgent, accept: '*/*', 'accept-encoding': 'identity' };
  const path = url.pathname + url.search;
  try {
    const head = await client.request({ path, method: 'HEAD', headers, signal });
    await head.body.dump();
    candidate.status_code = head.statusCode;
    const length = Number(head.headers['content-length']);
    if (head.statusCode >= 200 && head.statusCode < 300 && Number.isSafeInteger(length) && length >= 0) {
      candidate.size = length;
      return candidate;
    }
    if (head.statusCode >= 300 && head.statusCode < 400) return candidate;
    const range = await client.request({ path, method: 'GET', headers: { ...headers, range: 'bytes=0-0' }, signal });
    await range.body.dump({ limit: 1024 });
    candidate.status_code = range.statusCode;
    const total = /\/(\d{1,15})\s*$/.exec(String(range.headers['content-range'] ?? ''))?.[1];
    if (range.statusCode === 206 && total !== undefined) candidate.size = Number(total);
  } catch {
    // An unsizable candidate is only left out.
  } finally {
    await client.destroy().catch(() => undefined);
  }
  return candidate;
}

/** Sizes the first few links; returns them all and the largest 2xx one bigger than `atLeast` (or null). */
export async function largestLinked(
  links: URL[],
  atLeast: number,
  plan: DialPlan,
  userAgent: string,
  signal: AbortSignal,
): Promise<{ candidates: ThroughputCandidate[]; best: ThroughputCandidate | null }> {
  const candidates = await Promise.all(links.slice(0, MAX_CANDIDATES).map((url) => sizeOf(url, plan, userAgent, signal)));
  let best: ThroughputCandidate | null = null;
  for (const c of candidates) {
    const ok = c.status_code !== null && c.status_code >= 200 && c.status_code < 300 && c.size !== null;
    if (ok && c.size! > atLeast && (best === null || c.size! > best.size!)) best = c;
  }
  return { candidates, best };
}
