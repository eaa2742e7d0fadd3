// A loopback HTTP(S) download server for the throughput tests. It streams a
// body at a rate it controls: fixed like a policer, wandering like
// congestion, or it misbehaves (closes mid-stream, never answers).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Pem } from '../certs.js';

export type PacedBehaviour =
  /** A chunk every tickMs, keeping the average at bytesPerSec exactly (it catches up after a late tick). */
  | { kind: 'paced'; bytesPerSec: number; tickMs?: number }
  /** The rate jumps every changeMs to a random multiple of meanBytesPerSec, low or high; seeded, so reproducible. */
  | { kind: 'noisy'; meanBytesPerSec: number; seed: number; changeMs?: number; tickMs?: number }
  /** Promises a long body, sends `bytes` of it, then resets the connection. */
  | { kind: 'close_mid_stream'; bytes: number; declaredBytes: number }
  /** Accepts the request and never answers. */
  | { kind: 'never_send' }
  /** Sends as fast as the client reads. */
  | { kind: 'fast' };

export interface PacedServer {
  port: number;
  paths: string[];
  hosts: string[];
  servernames: (string | null)[];
  /** Connections open now. */
  openConnections(): Promise<number>;
  close(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, so the noisy server is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startPacedServer(behaviour: PacedBehaviour, tls?: Pem): Promise<PacedServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const seen = { paths: [] as string[], hosts: [] as string[], servernames: [] as (string | null)[] };
  const block = Buffer.alloc(64 * 1024, 'x');

  const writeBytes = (res: ServerResponse, n: number) => {
    let left = n;
    while (left > 0) {
      const take = Math.min(left, block.length);
      res.write(block.subarray(0, take));
      left -= take;
    }
  };

  const stream = (res: ServerResponse, rateAt: (elapsedMs: number) => number, tickMs: number) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const start = Date.now();
    let last = start;
    let due = 0;
    const timer = setInterval(() => {
      const now = Date.now();
      due += (rateAt(now - start) * (now - last)) / 1000;
      last = now;
      const n = Math.floor(due);
      due -= n;
      writeBytes(res, n);
    }, tickMs);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.paths.push(req.url ?? '');
    seen.hosts.push(req.headers.host ?? '');
    if (tls) seen.servernames.push((req.socket as TLSSocket).servername || null);
    switch (behaviour.kind) {
      case 'paced':
        stream(res, () => behaviour.bytesPerSec, behaviour.tickMs ?? 50);
        return;
      case 'noisy': {
        const random = prng(behaviour.seed);
        const changeMs = behaviour.changeMs ?? 300;
        const factors: number[] = [];
        stream(
          res,
          (elapsed) => {
            const phase = Math.floor(elapsed / changeMs);
            // Bimodal, like a link that is now congested, now free: 0.05..0.35 or 1..3 times the mean.
            while (factors.length <= phase) factors.push(random() < 0.5 ? 0.05 + random() * 0.3 : 1 + random() * 2);
            return behaviour.meanBytesPerSec * factors[phase]!;
          },
          behaviour.tickMs ?? 50,
        );
        return;
      }
      case 'close_mid_stream':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': behaviour.declaredBytes });
        writeBytes(res, behaviour.bytes);
        timers.add(setTimeout(() => req.socket.destroy(), 200));
        return;
      case 'never_send':
        return;
      case 'fast': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const pump = () => {
          while (!res.destroyed && res.write(block));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
    }
  };

  const server: Server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    ...seen,
    openConnections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
