// Loopback peers for the protocol probe: an echo server, an HTTP server that
// reads a whole line before judging it (as Apache does), and a filter proxy
// that plays Iran's 2020 protocol whitelister: it looks at the first client
// packets and, unless one of them starts like HTTP or TLS, stops forwarding
// the client's data (the connection stays open, silent).
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TestPeer {
  port: number;
  /** Client bytes that reached this peer, per connection, in arrival order. */
  received: Buffer[][];
  close(): Promise<void>;
}

async function listen(server: Server, sockets: Set<Socket>, received: Buffer[][]): Promise<TestPeer> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function startEchoServer(): Promise<TestPeer> {
  const sockets = new Set<Socket>();
  const received: Buffer[][] = [];
  const server = createServer((socket) => {
    const log: Buffer[] = [];
    received.push(log);
    socket.on('data', (chunk) => {
      log.push(chunk);
      socket.write(chunk);
    });
  });
  return listen(server, sockets, received);
}

/**
 * Reads the request line up to its LF, then answers: 400 and close for
 * anything that is not "METHOD target HTTP/1.x", else 200 once the headers
 * end.
 */
export function startLineHttpServer(): Promise<TestPeer> {
  const sockets = new Set<Socket>();
  const received: Buffer[][] = [];
  const server = createServer((socket) => {
    const log: Buffer[] = [];
    received.push(log);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      log.push(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      const lineEnd = buffered.indexOf(0x0a);
      if (lineEnd === -1) return;
      const requestLine = buffered.toString('latin1', 0, lineEnd).replace(/\r$/, '');
      if (!/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(requestLine)) {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      if (buffered.includes('\r\n\r\n')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
  });
  return listen(server, sockets, received);
}

/** What the filter lets through: the first bytes of HTTP (a method) or of a TLS record (FACTS.md). */
function looksAllowed(packet: Buffer): boolean {
  if (/^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT) /.test(packet.toString('latin1', 0, 8))) return true;
  return packet.length >= 3 && packet[0] === 0x16 && packet[1] === 0x03 && packet[2]! >= 1 && packet[2]! <= 3;
}

export interface FilterProxy extends TestPeer {
  /** Flows the filter started dropping. */
  dropped: number;
}

/**
 * A transparent proxy that inspects the first `inspectPackets` client
 * packets; if none looks allowed, every later client packet is dropped.
 * Server-to-client data always passes.
 */
export async function startFilterProxy(target: { host: string; port: number }, inspectPackets = 2): Promise<FilterProxy> {
  const sockets = new Set<Socket>();
  const received: Buffer[][] = [];
  const state = { dropped: 0 };
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => undefined);
    upstream.pipe(client);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const log: Buffer[] = [];
    received.push(log);
    let seen = 0;
    let allowed = false;
    let dropping = false;
    client.on('data', (packet) => {
      log.push(packet);
      if (dropping) return;
      if (!allowed && seen < inspectPackets) {
        seen++;
        allowed = looksAllowed(packet);
        upstream.write(packet);
        return;
      }
      if (!allowed) {
        dropping = true;
        state.dropped++;
        return;
      }
      upstream.write(packet);
    });
  });
  const peer = await listen(server, sockets, received);
  return {
    ...peer,
    get dropped() {
      return state.dropped;
    },
  };
}
