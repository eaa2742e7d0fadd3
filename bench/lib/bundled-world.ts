// The bundled-list bench's world: it answers everything the bundled
// targets.txt and the messaging apps reach, on every port they use.
//
// - DNS: every name gets an A record (WORLD_ADDRESS, on `lo`), other types an
//   empty answer. The IP literals (Telegram's data centres, Tor's directory
//   authorities) are added to the namespace's `lo` by the bench.
// - Every port listens on 0.0.0.0 and tells protocols apart by the first
//   bytes, because the list mixes them on one port: plain HTTP on 443
//   (Telegram's data centres, a Tor directory port), TLS on 80 (a Tor OR
//   port). A TLS ClientHello goes to the TLS server, anything else to the
//   HTTP server. Inside TLS, a Tor VERSIONS cell gets VERSIONS and NETINFO,
//   anything else is HTTPS. A connect that sends nothing (WhatsApp's 5222)
//   is just held.
// - Each DNS answer, HTTP response and Tor answer is held back by the same
//   latency, as bench/sweep.ts's world does; connects and TLS handshakes are
//   loopback-fast.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { encodeMessage, RCODE, RR_TYPE } from '../../probes/dns_codec.js';
import { Delay } from './delay.js';
import { startDnsServer } from './dns-server.js';
import { listen } from './listen.js';

/** The address every name resolves to: on the namespace's `lo`, like all of 127/8. */
export const WORLD_ADDRESS = '127.0.0.2';
const TLS_HANDSHAKE = 0x16;
const TOR_CELL_VERSIONS = 7;
const TOR_CELL_NETINFO = 8;
const TOR_FIXED_PAYLOAD = 509;

export interface BundledWorldOptions {
  latencyMs: number;
  certPem: string;
  keyPem: string;
  dnsHost: string;
  dnsPort: number;
  ports: number[];
}

export interface BundledWorldStats {
  dns_queries: number;
  dns_answers: number;
  connections: number;
  tls_sessions: number;
  http_requests: number;
  https_requests: number;
  tor_versions: number;
  tor_dir_requests: number;
}

export interface BundledWorld {
  stats(): BundledWorldStats;
  close(): Promise<void>;
}

/** A Tor relay's answer to VERSIONS: its own VERSIONS (3, 4, 5), then NETINFO, which ends its side of the link handshake. */
export function torLinkAnswer(): Buffer {
  const versions = Buffer.from([0, 0, TOR_CELL_VERSIONS, 0, 6, 0, 3, 0, 4, 0, 5]);
  // Link protocol 5: 4-byte circuit ids from here on, a fixed-size cell.
  const netinfo = Buffer.alloc(4 + 1 + TOR_FIXED_PAYLOAD);
  netinfo[4] = TOR_CELL_NETINFO;
  return Buffer.concat([versions, netinfo]);
}

function page(host: string): string {
  return `<!doctype html>\n<html><head><title>${host}</title></head><body><p>${'rasad bundled bench. '.repeat(32)}</p></body></html>\n`;
}

/** Hands `socket` to the HTTP server as a new connection, with the bytes already read put back. */
function handOver(server: HttpServer, socket: Socket, first: Buffer): void {
  socket.pause();
  socket.unshift(first);
  server.emit('connection', socket);
  socket.resume();
}

/**
 * `socket` as a stream that yields `first` again, for the TLS server: a
 * TLSSocket reads a net.Socket's handle directly, past anything unshifted.
 */
function replaying(socket: Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => void socket.write(chunk, done),
    final: (done) => {
      socket.end();
      done();
    },
    destroy: (err, done) => {
      socket.destroy();
      done(err);
    },
  });
  stream.push(first);
  socket.on('data', (chunk: Buffer) => stream.push(chunk) || socket.pause());
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  return stream;
}

export async function startBundledWorld(options: BundledWorldOptions): Promise<BundledWorld> {
  const stats: BundledWorldStats = { dns_queries: 0, dns_answers: 0, connections: 0, tls_sessions: 0, http_requests: 0, https_requests: 0, tor_versions: 0, tor_dir_requests: 0 };
  const delay = new Delay(options.latencyMs);
  const dns = await startDnsServer({
    host: options.dnsHost,
    port: options.dnsPort,
    delay,
    label: 'bundled world',
    onQuery: () => stats.dns_queries++,
    answer(query) {
      const question = query.questions[0];
      if (query.response || question === undefined) return null;
      const base = { id: query.id, recursionDesired: query.recursionDesired, rcode: RCODE.NOERROR, questions: [{ name: question.name, type: question.type }] };
      if (question.type !== RR_TYPE.A) return encodeMessage(base);
      stats.dns_answers++;
      return encodeMessage({ ...base, answers: [{ name: question.name, type: 'A', ttl: 60, data: WORLD_ADDRESS }] });
    },
  });

  const sockets = new Set<Socket>();
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    if ((req.socket as Partial<TLSSocket>).encrypted) stats.https_requests++;
    else stats.http_requests++;
    const dir = (req.url ?? '').startsWith('/tor/');
    if (dir) stats.tor_dir_requests++;
    // A directory serves text (an HTML body there would be a blockpage); everything else, a page.
    const body = dir ? 'network-status-version 3\nvote-status consensus\n' : page(String(req.headers.host ?? ''));
    req.resume();
    delay.later(() => {
      res.writeHead(200, { 'content-type': dir ? 'text/plain' : 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
    });
  };
  const http = createHttpServer(serve);
  http.keepAliveTimeout = 1000;
  const tls = createTlsServer({ cert: options.certPem, key: options.keyPem, ALPNProtocols: ['http/1.1'] }, (session: TLSSocket) => {
    stats.tls_sessions++;
    session.on('error', () => {});
    session.once('data', (first: Buffer) => {
      if (first.length >= 3 && first[0] === 0 && first[1] === 0 && first[2] === TOR_CELL_VERSIONS) {
        stats.tor_versions++;
        delay.later(() => session.destroyed || session.write(torLinkAnswer()));
        return;
      }
      handOver(http, session as unknown as Socket, first);
    });
  });
  tls.on('tlsClientError', () => {});

  const front = createNetServer({ noDelay: true }, (socket) => {
    stats.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => {
      if (first[0] === TLS_HANDSHAKE) tls.emit('connection', replaying(socket, first));
      else handOver(http, socket, first);
    });
  });
  front.maxConnections = 100_000;
  const fronts = [front, ...options.ports.slice(1).map(() => createNetServer({ noDelay: true }, (s) => front.emit('connection', s)))];
  await Promise.all(options.ports.map((port, i) => listen(fronts[i]!, '0.0.0.0', port)));

  return {
    stats: () => ({ ...stats }),
    async close() {
      delay.clear();
      for (const s of sockets) s.destroy();
      dns.close();
      http.closeAllConnections();
      await Promise.all([...fronts, tls, http].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
