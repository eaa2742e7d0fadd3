// Loopback TCP servers that behave as censors and broken sites do: refuse,
// reset, hang, close, send garbage. Each listens on 127.0.0.1 port 0 and
// close() destroys every connection it accepted.
import { createServer, type Server, type Socket } from 'node:net';

export interface TestServer {
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** Wraps a listening server so that close() also ends the sockets it holds. */
export async function trackServer(server: Server, sockets = new Set<Socket>()): Promise<TestServer> {
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return {
    host: '127.0.0.1',
    port: address.port,
    get accepted() {
      return accepted;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server whose connections are handled by `onConnection`. */
export function tcpServer(onConnection: (socket: Socket) => void): Promise<TestServer> {
  return trackServer(createServer({ noDelay: true }, onConnection));
}

/** A port on 127.0.0.1 where nothing listens (connects are refused). */
export async function refusedPort(): Promise<number> {
  const server = await tcpServer(() => {});
  const { port } = server;
  await server.close();
  return port;
}

/** Sends a TCP RST as soon as the client sends anything (a ClientHello, an HTTP request). */
export function resetOnFirstData(): Promise<TestServer> {
  return tcpServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
}

/** Sends a TCP RST right after accepting, before any data. */
export function resetOnAccept(): Promise<TestServer> {
  return tcpServer((socket) => socket.resetAndDestroy());
}

/** Accepts and never answers (reads and discards what it gets). */
export function hangServer(): Promise<TestServer> {
  return tcpServer((socket) => socket.resume());
}

/** Closes cleanly (FIN) as soon as the client sends anything. */
export function closeOnFirstData(): Promise<TestServer> {
  return tcpServer((socket) => socket.once('data', () => socket.end()));
}

/** Answers the first data with `bytes`, then closes. */
export function garbageServer(bytes: Buffer): Promise<TestServer> {
  return tcpServer((socket) => socket.once('data', () => socket.end(bytes)));
}
