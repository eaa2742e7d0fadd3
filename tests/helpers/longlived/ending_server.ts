// A loopback HTTP/1.1 keep-alive server (plain, or TLS over a raw socket it
// keeps hold of) that ends each connection exactly as told: a TLS
// close_notify then FIN, a bare TCP FIN under TLS, an RST, silence, or after
// announcing it (`Connection: close`, `Keep-Alive: timeout=N, max=M`).
// Requests are GETs without a body: each blank line ends one.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Pem } from '../certs.js';

export type CloseHow = 'close_notify' | 'bare_fin' | 'rst' | 'silent';

export interface EndingServerOptions {
  tls?: Pem;
  how: CloseHow;
  /** Close this long after accepting the connection. */
  closeAfterMs?: number;
  /** Close right after this many responses on the connection. */
  closeAfterResponses?: number;
  /** Extra response header lines, e.g. ['Connection: close']. */
  headers?: string[];
}

export interface EndingServer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Responses sent, over all connections. */
  answered: number;
  close(): Promise<void>;
}

export async function startEndingServer(opts: EndingServerOptions): Promise<EndingServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { connections: 0, answered: 0 };
  const response = Buffer.from(['HTTP/1.1 200 OK', 'Content-Length: 5', ...(opts.headers ?? []), '', 'hello'].join('\r\n'), 'latin1');

  const server = createServer((raw) => {
    state.connections++;
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    const stream: Socket = opts.tls ? new TLSSocket(raw, { isServer: true, key: opts.tls.key, cert: opts.tls.cert }) : raw;
    stream.on('error', () => undefined);
    let silent = false;
    let responses = 0;
    let pending = '';

    const end = () => {
      if (opts.how === 'close_notify') stream.end(); // TLS: close_notify, then FIN; plain: FIN
      else if (opts.how === 'bare_fin') raw.end(); // under TLS: a FIN with no close_notify
      else if (opts.how === 'rst') raw.resetAndDestroy();
      else silent = true;
    };
    if (opts.closeAfterMs !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        end();
      }, opts.closeAfterMs);
      timers.add(timer);
      raw.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    }
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let at = pending.indexOf('\r\n\r\n'); at !== -1; at = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(at + 4);
        if (silent) continue;
        stream.write(response);
        state.answered++;
        responses++;
        if (opts.closeAfterResponses !== undefined && responses >= opts.closeAfterResponses) {
          end();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    get answered() {
      return state.answered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
