// The lab's web sites: HTTP on 80 and HTTPS on 443 for each site address.
//   /               a small HTML page whose <title> names the site
//   /bulk?bytes=N   N bytes (default 16 MiB), streamed with backpressure
//   /stream         a slow endless stream: one chunk a second until closed
// Keep-alive is long on purpose: the TLS-duration probe keeps one connection
// busy with a request every few seconds for minutes.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isMain, log, runService, type Running } from './main.js';

export interface WebSite {
  ip: string;
  name: string;
  title: string;
}

export interface WebConfig {
  sites: WebSite[];
  certFile: string;
  keyFile: string;
  httpPort: number;
  httpsPort: number;
}

export const DEFAULT_BULK_BYTES = 16 * 1024 * 1024;
const MAX_BULK_BYTES = 1024 * 1024 * 1024;
const FILLER = Buffer.alloc(64 * 1024, 'rasad-lab-bulk-');

export function homePage(site: WebSite): string {
  const paragraphs = Array.from({ length: 8 }, (_, i) => `<p>Section ${i + 1} of ${site.name}: the lab serves this page the same way to every client.</p>`);
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${site.title}</title></head>\n<body><h1>${site.title}</h1>\n${paragraphs.join('\n')}\n</body></html>\n`;
}

function sendBulk(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  // The head goes out in its own packet (and TLS record), not queued behind the first 64 KiB of body.
  res.flushHeaders();
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, FILLER.length);
      left -= n;
      if (!res.write(n === FILLER.length ? FILLER : FILLER.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => {
    left = 0;
  });
  pump();
}

function sendStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.flushHeaders();
  let n = 0;
  const tick = () => res.write(`chunk ${++n} ${new Date().toISOString()}\n`);
  tick();
  const timer = setInterval(tick, 1000);
  res.on('close', () => clearInterval(timer));
}

function handler(sitesByIp: Map<string, WebSite>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const local = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
    const site = sitesByIp.get(local) ?? { ip: local, name: 'unknown', title: 'Unknown Lab Site' };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://lab.invalid');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target\n');
      return;
    }
    if (url.pathname === '/bulk') {
      const raw = url.searchParams.get('bytes');
      const bytes = raw === null ? DEFAULT_BULK_BYTES : Number(raw);
      if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_BULK_BYTES) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bytes must be an integer from 0 to 1 GiB\n');
        return;
      }
      sendBulk(res, bytes);
      return;
    }
    if (url.pathname === '/stream') {
      sendStream(res);
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const body = homePage(site);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
}

function tune(server: Server): void {
  server.keepAliveTimeout = 300_000;
  server.headersTimeout = 310_000;
  server.requestTimeout = 0;
}

function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export async function startWeb(config: WebConfig): Promise<Running> {
  const sitesByIp = new Map(config.sites.map((s) => [s.ip, s]));
  const tls = { cert: readFileSync(config.certFile), key: readFileSync(config.keyFile) };
  const servers: Server[] = [];
  for (const site of config.sites) {
    const http = createHttpServer(handler(sitesByIp));
    const https = createHttpsServer(tls, handler(sitesByIp));
    tune(http);
    tune(https);
    servers.push(await listen(http, config.httpPort, site.ip), await listen(https, config.httpsPort, site.ip));
  }
  log('web', `serving ${config.sites.map((s) => s.name).join(', ')}`);
  return {
    close() {
      for (const s of servers) {
        s.closeAllConnections();
        s.close();
      }
    },
  };
}

if (isMain(import.meta.url)) runService('web', startWeb);
