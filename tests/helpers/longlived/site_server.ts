// A loopback web site for the throughput probe's choice of what to
// download: redirect chains, a small page linking to resources of known
// sizes, a bulk file, a redirect loop, a 404. HEAD and one-byte range
// requests are answered as a real server would.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SiteServer {
  port: number;
  /** "METHOD path" of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

export const SITE_SIZES = { '/small.css': 1024, '/img.png': 300 * 1024, '/big.bin': 1024 * 1024, '/bulk.bin': 512 * 1024 } as const;

function page(links: string[]): string {
  return `<!doctype html><html><head><title>t</title><link rel="stylesheet" href="/small.css"></head><body>${links.join('\n')}</body></html>`;
}

export async function startSiteServer(): Promise<SiteServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: Buffer, headers: Record<string, string> = {}) => {
    const range = /^bytes=0-0$/.exec(String(req.headers.range ?? ''));
    if (range && status === 200 && req.method === 'GET') {
      res.writeHead(206, { 'content-range': `bytes 0-0/${body.length}`, 'content-length': '1', ...headers });
      res.end(body.subarray(0, 1));
      return;
    }
    res.writeHead(status, { 'content-length': String(body.length), ...headers });
    res.end(body); // Node leaves the body out for HEAD
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method} ${path}`);
    const redirect = (to: string) => send(req, res, 302, Buffer.from('moved'), { location: to });
    if (path === '/') return redirect('/home');
    if (path === '/home') return redirect(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`);
    if (path === '/loop') return redirect('/loop');
    if (path === '/index.html') {
      const links = ['<img src="/img.png">', '<a href="big.bin">download</a>', '<a href="/about.html">about</a>', '<img src="http://elsewhere.test/huge.bin">', '<a href="#top">top</a>'];
      return send(req, res, 200, Buffer.from(page(links)), { 'content-type': 'text/html' });
    }
    if (path === '/plain.html') return send(req, res, 200, Buffer.from('<html><body><a href="/plain.html">self</a> <a href="/missing.jpg">gone</a></body></html>'), { 'content-type': 'text/html' });
    if (path === '/about.html') return send(req, res, 200, Buffer.from(page([])), { 'content-type': 'text/html' });
    const size = SITE_SIZES[path as keyof typeof SITE_SIZES];
    if (size !== undefined) {
      // HEAD of img.png gives no length: the probe must fall back to a range request.
      if (path === '/img.png' && req.method === 'HEAD') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        return res.end();
      }
      return send(req, res, 200, Buffer.alloc(size, 'z'));
    }
    send(req, res, 404, Buffer.from('not found'));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
