// A loopback HTTP/1.1 keep-alive server (plain or TLS) for the tls_duration
// tests: it answers every request with a small body, records what the probe
// sent (SNI, Host, path), and can stop answering after a while to play a
// server, or a path, that goes silent.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Pem } from '../certs.js';

export interface KeepAliveServerOptions {
  /** Serve TLS with this certificate; plain HTTP when absent. */
  tls?: Pem;
  /** Body size of each answer. */
  bodyBytes?: number;
  /** Answer as chunked transfer encoding instead of Content-Length. */
  chunked?: boolean;
  /** Stop answering requests on a connection this long after its first request (the connection stays open). */
  stopAnsweringAfterMs?: number;
}

export interface KeepAliveServer {
  port: number;
  /** Requests answered, over all connections. */
  answered: number;
  /** SNI names the TLS clients sent (null: none). */
  servernames: (string | null)[];
  hosts: string[];
  paths: string[];
  openConnections(): Promise<number>;
  close(): Promise<void>;
}

export async function startKeepAliveServer(opts: KeepAliveServerOptions = {}): Promise<KeepAliveServer> {
  const body = Buffer.alloc(opts.bodyBytes ?? 512, 'a');
  const firstRequestAt = new WeakMap<Socket, number>();
  const state = { answered: 0, servernames: [] as (string | null)[], hosts: [] as string[], paths: [] as string[] };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const now = Date.now();
    if (!firstRequestAt.has(socket)) {
      firstRequestAt.set(socket, now);
      if (opts.tls) state.servernames.push((socket as TLSSocket).servername || null);
    }
    state.hosts.push(req.headers.host ?? '');
    state.paths.push(req.url ?? '');
    if (opts.stopAnsweringAfterMs !== undefined && now - firstRequestAt.get(socket)! >= opts.stopAnsweringAfterMs) {
      return; // hold the request forever: the connection stays up, silent
    }
    state.answered++;
    if (opts.chunked) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(body.subarray(0, body.length >> 1));
      res.end(body.subarray(body.length >> 1));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    }
  };

  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createHttpServer(handler);
  // Keep idle connections open as long as the client wants: the probe decides when a session ends.
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    get answered() {
      return state.answered;
    },
    servernames: state.servernames,
    hosts: state.hosts,
    paths: state.paths,
    openConnections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
