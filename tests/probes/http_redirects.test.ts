// Every hop of a redirect chain carries its own failure and operation, so
// the judge can read them (issue 14 §2): a chain past the limit, a next hop
// refused at TCP, a next hop reset. (NXDOMAIN on a next hop needs a
// resolver of ours: tests/probes/net_ipv6.test.ts.)
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_REDIRECTS, httpProbe } from '../../probes/http.js';
import type { ProbeOptions } from '../../probes/types.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { rawHttpServer, respond } from '../helpers/loopback/http.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { refusedPort, resetOnFirstData } from '../helpers/loopback/tcp.js';

const keep = closeAfterEach();
let options: ProbeOptions;
beforeAll(() => {
  options = noDnsOptions({ timeoutMs: 1_500 });
});

describe('httpProbe redirect chains', () => {
  it('past the limit: the last hop says "stopped after 10 redirects" and the details flag it', async () => {
    const server = await keep(rawHttpServer((req, socket) => respond(socket, 302, { Location: `${req.path}x` })));
    const result = await httpProbe.run(probeInput(`http://chain.test:${server.port}/`, ['127.0.0.1'], options), never());
    const hops = result.details.hops;
    expect(hops).toHaveLength(MAX_REDIRECTS + 1);
    expect(result.details.redirect_limit_reached).toBe(true);
    const last = hops[hops.length - 1]!;
    expect(last).toMatchObject({ status_code: 302, failure: 'unknown_failure: stopped after 10 redirects', failed_operation: 'http_round_trip' });
    expect(hops.slice(0, -1).every((h) => h.failure === null && h.failed_operation === null)).toBe(true);
    expect(result.failure).toBe(last.failure);
  });

  it('a chain within the limit has no flag', async () => {
    const server = await keep(rawHttpServer((req, socket) => (req.path === '/' ? respond(socket, 301, { Location: '/end' }) : respond(socket, 200, {}, 'end'))));
    const result = await httpProbe.run(probeInput(`http://chain.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.details.redirect_limit_reached).toBeUndefined();
  });

  it('a next hop refused at TCP: connection_refused in connect, on that hop', async () => {
    const dead = await refusedPort();
    const server = await keep(rawHttpServer((_req, socket) => respond(socket, 302, { Location: `http://127.0.0.1:${dead}/blocked` })));
    const result = await httpProbe.run(probeInput(`http://chain.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.details.hops.map((h) => [h.status_code, h.failure, h.failed_operation, h.ip])).toEqual([
      [302, null, null, '127.0.0.1'],
      [null, 'connection_refused', 'connect', '127.0.0.1'],
    ]);
    expect(result.failure).toBe('connection_refused');
    expect(result.failed_operation).toBe('connect');
  });

  it('a next hop reset after the request: connection_reset in http_round_trip, on that hop', async () => {
    const rst = await keep(resetOnFirstData());
    const server = await keep(rawHttpServer((_req, socket) => respond(socket, 302, { Location: `http://127.0.0.1:${rst.port}/` })));
    const result = await httpProbe.run(probeInput(`http://chain.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.details.hops[1]).toMatchObject({ failure: 'connection_reset', failed_operation: 'http_round_trip' });
    expect(result.failed_operation).toBe('http_round_trip');
  });
});
