// The realistic bench's world: N targets t<i>.bench.test, a mix of HTTPS
// (HTTP/2 and HTTP/1.1, certificates from a test CA) and plain HTTP, one in
// ten failing, all at a simulated round-trip time.
//
// The RTT is added in userspace (this kernel has no netem, and tc tbf cannot
// delay): the DNS server holds each answer back one RTT, and every TCP
// connection to :80 and :443 goes through a delaying proxy that holds each
// chunk back half an RTT in each direction. So a TLS 1.3 handshake, an HTTP
// exchange and a DNS query each cost one RTT, as on a real path. The TCP
// handshake itself is loopback-fast (the kernel accepts it): a real one
// would cost one more RTT per connect.
//
// Target classes, by i mod 10: 0-5 HTTPS, 6-8 plain HTTP, 9 failing. A
// failing target is NXDOMAIN when (i div 10) is even, else its connections
// are reset at the first byte (as an RST injector does).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { decodeMessage, encodeMessage, RCODE, RR_TYPE, type DnsMessage } from '../../probes/dns_codec.js';
import { MAX_TARGETS, targetAddress, targetHost, targetIndex } from './world.js';

export type TargetClass = 'https' | 'http' | 'nxdomain' | 'reset';

export function targetClass(i: number): TargetClass {
  const r = i % 10;
  if (r <= 5) return 'https';
  if (r <= 8) return 'http';
  return Math.floor(i / 10) % 2 === 0 ? 'nxdomain' : 'reset';
}

/** The index of a target address 127.1.b.h, or null. The inverse of targetAddress. */
export function addressIndex(ip: string): number | null {
  const m = /^(?:::ffff:)?127\.1\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const block = Number(m[1]) - 1;
  const host = Number(m[2]) - 1;
  if (block < 0 || block > 253 || host < 0 || host > 253) return null;
  const i = block * 254 + host;
  return i < MAX_TARGETS ? i : null;
}

/** One URL per target: https:// for HTTPS targets, http:// for plain ones; failing targets alternate by (i div 20). */
export function realisticTargetsFile(targets: number, first = 0): string {
  const lines = ['# rasad realistic bench: generated; i mod 10: 0-5 https, 6-8 http, 9 failing'];
  for (let i = first; i < first + targets; i++) {
    const cls = targetClass(i);
    const scheme = cls === 'https' || (cls !== 'http' && Math.floor(i / 20) % 2 === 0) ? 'https' : 'http';
    lines.push(`${scheme}://${targetHost(i)}/ NEWS`);
  }
  return lines.join('\n') + '\n';
}

export interface RealisticWorldOptions {
  targets: number;
  rttMs: number;
  certPem: string;
  keyPem: string;
  dnsHost: string;
  dnsPort: number;
  /** Where the delaying proxies listen: 0.0.0.0 in the namespace (every 127/8 address). */
  listenHost: string;
  httpPort: number;
  httpsPort: number;
}

export interface RealisticWorldStats {
  dns_queries: number;
  dns_nxdomain: number;
  connections: number;
  resets: number;
  http_requests: number;
  https_requests: number;
}

export interface RealisticWorld {
  dnsPort: number;
  httpPort: number;
  httpsPort: number;
  stats(): RealisticWorldStats;
  close(): Promise<void>;
}

function page(host: string): string {
  const filler = 'rasad realistic bench target, a page of ordinary size. '.repeat(40);
  return `<!doctype html>\n<html><head><title>${host}</title></head><body><p>${filler}</p></body></html>\n`;
}

export async function startRealisticWorld(options: RealisticWorldOptions): Promise<RealisticWorld> {
  const stats: RealisticWorldStats = { dns_queries: 0, dns_nxdomain: 0, connections: 0, resets: 0, http_requests: 0, https_requests: 0 };
  const timers = new Set<NodeJS.Timeout>();
  // Timers of one duration fire in the order they were set: chunks keep their order.
  const later = (ms: number, fn: () => void) => {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const dns: UdpSocket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  dns.on('error', (err) => process.stderr.write(`realistic world dns: ${err.message}\n`));
  dns.on('message', (raw, from) => {
    stats.dns_queries++;
    let query: DnsMessage;
    try {
      query = decodeMessage(raw);
    } catch {
      return;
    }
    const question = query.questions[0];
    if (query.response || question === undefined) return;
    const i = targetIndex(question.name, options.targets);
    const base = { id: query.id, recursionDesired: query.recursionDesired, questions: [{ name: question.name, type: question.type }] };
    let reply: Buffer;
    if (i === null || targetClass(i) === 'nxdomain') {
      stats.dns_nxdomain++;
      reply = encodeMessage({ ...base, rcode: RCODE.NXDOMAIN });
    } else if (question.type !== RR_TYPE.A) {
      reply = encodeMessage({ ...base, rcode: RCODE.NOERROR });
    } else {
      reply = encodeMessage({ ...base, rcode: RCODE.NOERROR, answers: [{ name: question.name, type: 'A', ttl: 60, data: targetAddress(i) }] });
    }
    later(options.rttMs, () => dns.send(reply, from.port, from.address));
  });
  await new Promise<void>((resolve, reject) => {
    dns.once('error', reject);
    dns.bind(options.dnsPort, options.dnsHost, () => {
      dns.off('error', reject);
      resolve();
    });
  });

  const serve = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, tls: boolean) => {
    if (tls) stats.https_requests++;
    else stats.http_requests++;
    const host = String(req.headers[':authority'] ?? req.headers.host ?? '').replace(/:\d+$/, '');
    const body = page(host);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  // The origin servers, on loopback ports of their own; only the proxies are reachable as targets.
  const http = createHttpServer((req, res) => serve(req, res, false));
  http.keepAliveTimeout = 2000;
  const https = createSecureServer({ cert: options.certPem, key: options.keyPem, allowHTTP1: true }, (req, res) => serve(req, res, true));
  const originListen = (server: NetServer) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve((server.address() as AddressInfo).port));
    });
  const httpOrigin = await originListen(http);
  const httpsOrigin = await originListen(https);

  const half = options.rttMs / 2;
  const sockets = new Set<Socket>();
  const proxy = (originPort: number) => {
    const server = createNetServer({ noDelay: true }, (client) => {
      stats.connections++;
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => {});
      const i = addressIndex(client.localAddress ?? '');
      if (i !== null && targetClass(i) === 'reset') {
        // An injector's RST at the first byte the client sends (its ClientHello or request line).
        client.once('data', () => {
          stats.resets++;
          later(half, () => client.resetAndDestroy());
        });
        return;
      }
      const origin = netConnect({ host: '127.0.0.1', port: originPort, noDelay: true });
      sockets.add(origin);
      origin.on('close', () => sockets.delete(origin));
      origin.on('error', () => {});
      const pipe = (from: Socket, to: Socket) => {
        from.on('data', (chunk: Buffer) => later(half, () => to.destroyed || to.write(chunk)));
        from.on('end', () => later(half, () => to.destroyed || to.end()));
        from.on('close', () => later(half, () => to.destroy()));
      };
      pipe(client, origin);
      pipe(origin, client);
    });
    server.maxConnections = 100_000;
    return server;
  };
  const httpProxy = proxy(httpOrigin);
  const httpsProxy = proxy(httpsOrigin);
  const proxyListen = (server: NetServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.listenHost, port, backlog: 4096 }, () => resolve((server.address() as AddressInfo).port));
    });
  const httpPort = await proxyListen(httpProxy, options.httpPort);
  const httpsPort = await proxyListen(httpsProxy, options.httpsPort);

  return {
    dnsPort: dns.address().port,
    httpPort,
    httpsPort,
    stats: () => ({ ...stats }),
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      dns.close();
      http.closeAllConnections();
      const closing = [httpProxy, httpsProxy, http, https].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      await Promise.all(closing);
    },
  };
}
