// A loopback server that speaks only HTTP/2 over TLS (ALPN h2, no HTTP/1.1
// fallback), as some CDNs' edges do: a client that offers only http/1.1
// fails its handshake.
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Pem } from '../certs.js';

export interface H2Server {
  host: string;
  port: number;
  /** Paths requested, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function h2OnlyServer(pem: Pem, handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void): Promise<H2Server> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createSecureServer({ key: pem.key, cert: pem.cert, allowHTTP1: false }, (req, res) => {
    requests.push(req.url);
    handler(req, res);
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  server.on('sessionError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return {
    host: '127.0.0.1',
    port: address.port,
    requests,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
