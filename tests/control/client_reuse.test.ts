// The control client keeps its connections to a helper: one query per unit
// must not cost a new TCP connection (and, for OONI's https:// helpers, a
// TLS handshake) each time (issue 17).
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { queryControl } from '../../src/control/client.js';

const ANSWER = JSON.stringify({
  dns: { failure: null, addrs: ['192.0.2.1'] },
  tcp_connect: {},
  http_request: { body_length: 5, failure: null, title: 'page', headers: {}, status_code: 200 },
});

let server: Server;
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('queryControl connections', () => {
  it('asks one helper six times over kept-alive connections, not one connection per query', async () => {
    let connections = 0;
    let posts = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posts++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (let i = 0; i < 6; i++) {
      const res = await queryControl([url], { url: 'http://site.example/', tcpConnect: [] }, AbortSignal.timeout(10_000));
      expect(res.answer?.http_request.status_code).toBe(200);
    }
    expect(posts).toBe(6);
    // undici may open a second connection while the first is being released; never one per query.
    expect(connections).toBeGreaterThanOrEqual(1);
    expect(connections).toBeLessThanOrEqual(2);
    server.closeAllConnections();
  });

  it("survives the helper closing a kept-alive connection, and leaves nothing behind on the caller's long-lived signal", async () => {
    // The first test ended with closeAllConnections: the agent's pooled connection is dead, and is asked again on a new one.
    const daemon = new AbortController();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (let i = 0; i < 5; i++) {
      const res = await queryControl([url], { url: 'http://site.example/', tcpConnect: [] }, daemon.signal);
      expect(res.answer, JSON.stringify(res.failures)).not.toBeNull();
    }
    expect(getEventListeners(daemon.signal, 'abort')).toHaveLength(0);
    // Node 20's AbortSignal.any keeps a WeakRef per call in its sources' dependant set, forever.
    const dependants = Object.getOwnPropertySymbols(daemon.signal).find((s) => String(s).includes('Dependant'));
    const set = dependants ? (daemon.signal as unknown as Record<symbol, Set<unknown> | undefined>)[dependants] : undefined;
    expect(set?.size ?? 0).toBe(0);
  });
});
