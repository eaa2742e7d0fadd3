// Loopback servers for the control tests: small sites that count every
// connection and request (so a test can prove the helper never touched
// them), and a plain POST helper. Everything listens on 127.0.0.0/8.
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Site {
  port: number;
  /** TCP connections accepted. */
  connections: number;
  /** Requests received, by path. */
  requests: string[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(server: Server, host: string): Promise<Site> {
  const site: Site = {
    port: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on('connection', () => site.connections++);
  server.on('request', (req: IncomingMessage) => site.requests.push(req.url ?? ''));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  site.port = (server.address() as AddressInfo).port;
  return site;
}

export function httpSite(handler: Handler, host = '127.0.0.1'): Promise<Site> {
  return listen(createHttpServer(handler), host);
}

export function httpsSite(handler: Handler, pem: { key: string; cert: string }, host = '127.0.0.1'): Promise<Site> {
  return listen(createHttpsServer({ key: pem.key, cert: pem.cert }, handler) as unknown as Server, host);
}

export const PAGE = '<!doctype html><html><head><title>Rasad Test Page</title></head><body><p>hello from the loopback site</p></body></html>';

/** A page with a title, a known length and an uncommon header. */
export const pageHandler: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-test-site': 'yes', 'content-length': Buffer.byteLength(PAGE) });
  res.end(PAGE);
};

export interface PostResult {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json: unknown;
}

/** POSTs `body` (a string, or an object as JSON) to a URL; `chunked` leaves out Content-Length. */
export function post(url: string, body: unknown, opts: { method?: string; chunked?: boolean } = {}): Promise<PostResult> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: opts.method ?? 'POST',
        // A fresh connection each time: a kept-alive socket would hide a server that stopped.
        agent: false,
        headers: { 'content-type': 'application/json', ...(opts.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(text) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(out);
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: out, json });
        });
      },
    );
    // A server that answers 413 early may reset the upload: the answer still counts.
    req.on('error', reject);
    if (opts.method !== 'GET') req.end(text);
    else req.end();
  });
}

/** Resolves when `check()` holds, polling every 10 ms; rejects after `ms`. */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
