// The http probe against an h2-only server (node:http2, allowHTTP1 false) on
// loopback with a test CA: it must offer h2 by ALPN, speak it, and record
// the protocol of each hop.
import { beforeAll, describe, expect, it } from 'vitest';
import { httpProbe } from '../../probes/http.js';
import type { ProbeOptions } from '../../probes/types.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { h2OnlyServer } from '../helpers/loopback/h2.js';
import { rawHttpServer, rawHttpsServer, respond } from '../helpers/loopback/http.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';

const keep = closeAfterEach();
let pki: TestPki;
let options: ProbeOptions;
beforeAll(() => {
  pki = makePki('rasad h2 test CA');
  options = noDnsOptions({ extraCaPem: pki.ca.cert, timeoutMs: 2_000, bodyCapBytes: 4096, bodyReadLimitBytes: 64 * 1024 });
});

const PAGE = '<html><head><title>Over h2</title></head><body>hello</body></html>';

describe('httpProbe and HTTP/2', () => {
  it('an h2-only server: the page is fetched over h2, not ssl_failed_handshake', async () => {
    const server = await keep(
      h2OnlyServer(pki.leaf(['h2.test']), (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'x-served-by': 'h2' });
        res.end(PAGE);
      }),
    );
    const result = await httpProbe.run(probeInput(`https://h2.test:${server.port}/page`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    const hop = result.details.hops[0]!;
    expect(hop).toMatchObject({ status_code: 200, title: 'Over h2', body_sample: PAGE, negotiated_protocol: 'h2' });
    expect(hop.headers['x-served-by']).toBe('h2');
    expect(Object.keys(hop.headers).some((name) => name.startsWith(':'))).toBe(false);
    expect(server.requests).toEqual(['/page']);
  });

  it('records the protocol per hop: an http/1.1 redirect to an h2-only host', async () => {
    // "localhost" resolves from /etc/hosts: the second hop needs no DNS server.
    const h2 = await keep(h2OnlyServer(pki.leaf(['localhost']), (_req, res) => res.end('final over h2')));
    const redirect = await keep(rawHttpServer((_req, socket) => respond(socket, 302, { Location: `https://localhost:${h2.port}/x` })));
    const result = await httpProbe.run(probeInput(`http://h1.test:${redirect.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.details.hops.map((h) => [h.status_code, h.negotiated_protocol])).toEqual([
      [302, 'http/1.1'],
      [200, 'h2'],
    ]);
    expect(result.details.hops[1]!.body_sample).toBe('final over h2');
    expect(h2.requests).toEqual(['/x']);
  });

  it('an http/1.1-only TLS server is still spoken to in http/1.1', async () => {
    const server = await keep(rawHttpsServer(pki.leaf(['h1.test']), (_req, socket) => respond(socket, 200, {}, 'h1 page')));
    const result = await httpProbe.run(probeInput(`https://h1.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.details.hops[0]).toMatchObject({ body_sample: 'h1 page', negotiated_protocol: 'http/1.1' });
  });

  it('an h2 body past the read limit is cut, and the probe finishes', async () => {
    const server = await keep(
      h2OnlyServer(pki.leaf(['h2.test']), (_req, res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(16 * 1024, 0x42);
        const write = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', write);
        };
        write();
      }),
    );
    const result = await httpProbe.run(probeInput(`https://h2.test:${server.port}/big`, ['127.0.0.1'], options), never());
    const hop = result.details.hops[0]!;
    expect(result.failure).toBeNull();
    expect(hop.negotiated_protocol).toBe('h2');
    expect(hop.body_truncated).toBe(true);
    expect(hop.body_length).toBe(options.bodyReadLimitBytes);
  });
});
