// A TCP proxy that plays the 2013 session cutter: every connection through it
// is cut a fixed time after it was accepted, by RST, by FIN, or by silently
// dropping everything from then on (a blackhole).
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export type CutMode = 'rst' | 'fin' | 'blackhole';

export interface CutProxy {
  port: number;
  /** Connections cut so far. */
  cuts: number;
  close(): Promise<void>;
}

export async function startCutProxy(target: { host: string; port: number }, cutAfterMs: number, mode: CutMode): Promise<CutProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { cuts: 0 };
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };

  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    let cutDone = false;
    const cut = setTimeout(() => {
      timers.delete(cut);
      state.cuts++;
      cutDone = true;
      client.unpipe(upstream);
      upstream.unpipe(client);
      if (mode === 'rst') {
        client.resetAndDestroy();
        upstream.destroy();
      } else if (mode === 'fin') {
        client.end();
        upstream.destroy();
      } else {
        // Blackhole: both sides stay open, nothing passes any more.
        client.removeAllListeners('data');
        client.resume();
        upstream.removeAllListeners('data');
        upstream.resume();
      }
    }, cutAfterMs);
    timers.add(cut);
    const clear = () => {
      clearTimeout(cut);
      timers.delete(cut);
    };
    client.on('close', () => {
      clear();
      upstream.destroy();
    });
    upstream.on('close', () => {
      // After a FIN cut the client end is left to close on its own, so the FIN is what it sees.
      if (mode !== 'fin' || !cutDone) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get cuts() {
      return state.cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
