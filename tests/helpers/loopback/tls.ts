// Loopback TLS servers: a given certificate (valid, wrong host, expired,
// unknown CA, self-signed), optional TLS version limits. They complete the
// handshake, then hold the connection until the client closes.
import { createServer, type SecureVersion, type TLSSocket } from 'node:tls';
import { trackServer, type TestServer } from './tcp.js';

export interface TlsServerOptions {
  key: string;
  /** The leaf, optionally followed by more certificates of the chain (PEM). */
  cert: string;
  maxVersion?: SecureVersion;
  minVersion?: SecureVersion;
  alpn?: string[];
  /** What to do once secure; default: keep the connection open and discard input. */
  onSecure?: (socket: TLSSocket) => void;
}

export function tlsServer(opts: TlsServerOptions): Promise<TestServer & { readonly handshakes: number; readonly servernames: string[] }> {
  let handshakes = 0;
  const servernames: string[] = [];
  const server = createServer(
    {
      key: opts.key,
      cert: opts.cert,
      ALPNProtocols: opts.alpn ?? ['h2', 'http/1.1'],
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
      // Noted when the ClientHello arrives: the client may hang up before
      // this side finishes its half of a TLS 1.3 handshake.
      SNICallback: (name, cb) => {
        servernames.push(name);
        cb(null, undefined);
      },
    },
    (socket) => {
      handshakes++;
      socket.on('error', () => {});
      if (opts.onSecure) opts.onSecure(socket);
      else socket.resume();
    },
  );
  server.on('tlsClientError', () => {});
  return trackServer(server).then((base) => {
    Object.defineProperty(base, 'handshakes', { get: () => handshakes, enumerable: true });
    return Object.assign(base as TestServer & { readonly handshakes: number }, { servernames });
  });
}
