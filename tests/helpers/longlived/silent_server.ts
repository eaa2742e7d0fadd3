// TCP servers that accept a connection and then misbehave on purpose: stay
// silent forever, or reset the connection as soon as the client speaks (a
// handshake that is never accepted).
import { createServer, type AddressInfo, type Socket } from 'node:net';

export interface MisbehavingServer {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

export async function startMisbehavingServer(behaviour: 'silent' | 'reset_on_data'): Promise<MisbehavingServer> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  const server = createServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', () => {
      if (behaviour === 'reset_on_data') socket.resetAndDestroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return state.accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
