// The local HTTP server: /metrics, the JSON API and the dashboard page, on
// config.http.bind:port (127.0.0.1 by default). Bound to anything but
// loopback it refuses to start without a token, and then asks for it on
// every route. Every asset is served from this process (uPlot from
// node_modules); the CSP forbids loading anything from elsewhere.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { eventText } from '../alerts/text.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { DASHBOARD_HTML } from './assets/page.js';
import { DASHBOARD_JS } from './assets/script.js';
import { DASHBOARD_CSS } from './assets/style.js';
import { TOKEN_COOKIE, hostName, isLoopbackHost, requestToken, tokenMatches } from './auth.js';
import type { Metrics } from './metrics.js';
import { readCharts, readTargets, readTimeline } from './read-model.js';

export interface HttpServerDeps {
  store: Store;
  config: Pick<Config, 'http'>;
  metrics: Metrics;
  logger: Logger;
}

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

/** Refusal to start: bound beyond loopback without a token. */
export class HttpConfigError extends Error {
  override name = 'ConfigError';
}

export const LIMIT_DEFAULT = 100;
export const LIMIT_MAX = 1000;
export const DAYS_MAX = 90;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

/** A query value that is wrong: 400 with this message. */
class BadRequest extends Error {}

interface StaticAsset {
  type: string;
  body: Buffer;
}

function staticAssets(): Map<string, StaticAsset> {
  // uPlot's own dist files, resolved through Node's module resolution: never a CDN.
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'));
  return new Map<string, StaticAsset>([
    ['/static/uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', body: uplotJs }],
    ['/static/uPlot.min.css', { type: 'text/css; charset=utf-8', body: uplotCss }],
    ['/static/dashboard.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(DASHBOARD_JS) }],
    ['/static/dashboard.css', { type: 'text/css; charset=utf-8', body: Buffer.from(DASHBOARD_CSS) }],
  ]);
}

export async function startHttpServer(deps: HttpServerDeps): Promise<RunningHttpServer> {
  const { store, metrics, logger } = deps;
  const http = deps.config.http;
  const bind = http.bind || '127.0.0.1';
  const token = http.token || undefined;
  const loopback = isLoopbackHost(bind);
  if (!loopback && !token) {
    throw new HttpConfigError(`http.bind is ${bind}, which is not loopback: set http.token (the dashboard then asks for it), or bind to 127.0.0.1`);
  }
  const assets = staticAssets();

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message });
      logger.error({ err: (err as Error).message, path: safePath(req) }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'only GET and HEAD' });
    }
    if (token) {
      const given = requestToken(req, url);
      if (!given || !tokenMatches(given.token, token)) {
        res.setHeader('www-authenticate', 'Bearer realm="rasad"');
        return sendJson(res, 401, { error: 'a token is required: Authorization: Bearer <token>, or ?token=' });
      }
      if (given.via === 'query' && url.pathname === '/') {
        // The page's own requests (scripts, API) then carry the token as a cookie.
        res.setHeader('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
      }
    } else {
      // Without a token only loopback names are answered: a DNS-rebinding page cannot read the data.
      const host = hostName(req);
      if (!host || !isLoopbackHost(host)) return sendJson(res, 403, { error: 'this dashboard answers to loopback host names only (localhost, 127.0.0.1, [::1])' });
    }

    const path = url.pathname;
    const q = url.searchParams;
    switch (path) {
      case '/':
      case '/index.html':
        return send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, req);
      case '/metrics':
        return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', metrics.render(), req);
      case '/api/targets':
        return sendJson(res, 200, readTargets(store), req);
      case '/api/events': {
        const since = isoParam(q, 'since');
        const limit = intParam(q, 'limit', LIMIT_DEFAULT, 1, LIMIT_MAX);
        const events = store.recentEvents(limit, { since, target: stringParam(q, 'target') });
        return sendJson(res, 200, { events: events.map((e) => ({ ...e, text: eventText(e) })), limit }, req);
      }
      case '/api/measurements': {
        const limit = intParam(q, 'limit', LIMIT_DEFAULT, 1, LIMIT_MAX);
        const measurements = store.recentMeasurements({ target: stringParam(q, 'target'), since: isoParam(q, 'since'), until: isoParam(q, 'until') }, limit);
        return sendJson(res, 200, { measurements, limit }, req);
      }
      case '/api/timeline':
        return sendJson(res, 200, readTimeline(store, intParam(q, 'days', 7, 1, DAYS_MAX)), req);
      case '/api/charts':
        return sendJson(res, 200, readCharts(store, intParam(q, 'days', 7, 1, DAYS_MAX)), req);
      default: {
        const asset = assets.get(path);
        if (asset) {
          res.setHeader('cache-control', 'no-cache');
          return send(res, 200, asset.type, asset.body, req);
        }
        return sendJson(res, 404, { error: `no such route: ${path.slice(0, 200)}` });
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  const base = `http://${host}:${address.port}/`;
  // Not under a key named token: the log redacts those, and "[redacted]" would claim a token that is not set.
  logger.info({ url: base, auth: token ? 'token required' : 'none (loopback host names only)' }, 'dashboard and /metrics listening');
  return {
    url: base,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, req?: IncomingMessage): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', buf.length);
  if (!res.hasHeader('cache-control')) res.setHeader('cache-control', 'no-store');
  res.end(req?.method === 'HEAD' ? undefined : buf);
}

function sendJson(res: ServerResponse, status: number, value: unknown, req?: IncomingMessage): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), req);
}

function intParam(q: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new BadRequest(`${name}: not a whole number (${raw.slice(0, 40)})`);
  const n = Number(raw);
  if (n < min || n > max) throw new BadRequest(`${name}: must be between ${min} and ${max}`);
  return n;
}

function isoParam(q: URLSearchParams, name: string): string | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  const t = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(t)) throw new BadRequest(`${name}: not an ISO-8601 time (${raw.slice(0, 40)})`);
  return new Date(t).toISOString();
}

function stringParam(q: URLSearchParams, name: string): string | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw.length > 2048) throw new BadRequest(`${name}: too long`);
  return raw;
}

/** The path only, for logs: a query may hold the token. */
function safePath(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0].slice(0, 200);
}
