// httpProbe against raw HTTP(S) servers on loopback: a normal page, Iran's
// injected blockpage, resets, hangs, redirect chains and loops, a 1 GB
// body, bad certificates. The probe is pointed at 127.0.0.1 with another
// Host/SNI, as it is pointed at the DNS probe's (maybe injected) answer.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractTitle, httpProbe } from '../../probes/http.js';
import { ProbeInputError } from '../../probes/net.js';
import type { ProbeOptions } from '../../probes/types.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { IRAN_BLOCKPAGE_BODY, pump, rawHttpServer, rawHttpsServer, respond, type RawRequest } from '../helpers/loopback/http.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { closeOnFirstData, hangServer, refusedPort, resetOnFirstData } from '../helpers/loopback/tcp.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';

const keep = closeAfterEach();

let pki: TestPki;
let options: ProbeOptions;
beforeAll(() => {
  pki = makePki();
  options = noDnsOptions({ extraCaPem: pki.ca.cert, timeoutMs: 1_500, bodyCapBytes: 4096, bodyReadLimitBytes: 1024 * 1024 });
});

const PAGE = '<!doctype html><html><head><title>\n  Hello   rasad\n</title></head><body>' + 'x'.repeat(100) + '</body></html>';

describe('httpProbe', () => {
  it('a normal page: status, headers, title, body, hash, timings, and browser-like request headers', async () => {
    const requests: RawRequest[] = [];
    const server = await keep(
      rawHttpServer((req, socket) => {
        requests.push(req);
        respond(socket, 200, { 'Content-Type': 'text/html', 'X-Test': 'yes' }, PAGE);
      }),
    );
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/path?q=1`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.failed_operation).toBeNull();
    expect(result.details.hops).toHaveLength(1);
    const hop = result.details.hops[0]!;
    expect(hop).toMatchObject({ url: `http://blocked.test:${server.port}/path?q=1`, ip: '127.0.0.1', status_code: 200, title: 'Hello rasad', body_length: PAGE.length, body_truncated: false, body_sample: PAGE });
    expect(hop.headers['x-test']).toBe('yes');
    expect(hop.headers['content-type']).toBe('text/html');
    expect(hop.body_sha256).toBe(createHash('sha256').update(PAGE).digest('hex'));
    expect(hop.timings.connect_ms).toBeGreaterThanOrEqual(0);
    expect(hop.timings.tls_ms).toBeNull();
    expect(hop.timings.first_byte_ms).toBeGreaterThanOrEqual(0);
    expect(hop.timings.total_ms).toBeGreaterThanOrEqual(hop.timings.first_byte_ms!);
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/path?q=1' });
    expect(requests[0]!.headers).toMatchObject({ host: `blocked.test:${server.port}`, 'user-agent': options.userAgent, 'accept-language': expect.any(String) });
    expect(requests[0]!.headers['accept']).toContain('text/html');
  });

  it("Iran's injected blockpage is recorded as it came: 403, Connection: close, the iframe", async () => {
    const server = await keep(rawHttpServer((_req, socket) => respond(socket, 403, { 'Content-Type': 'text/html' }, IRAN_BLOCKPAGE_BODY)));
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    const hop = result.details.hops[0]!;
    expect(result.failure).toBeNull();
    expect(hop.status_code).toBe(403);
    expect(hop.headers['connection']).toBe('close');
    expect(hop.body_sample).toContain('<iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy"');
    expect(hop.body_length).toBe(Buffer.byteLength(IRAN_BLOCKPAGE_BODY));
    expect(hop.title).toBeNull();
  });

  it('RST after the request is connection_reset in http_round_trip', async () => {
    const server = await keep(resetOnFirstData());
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBe('connection_reset');
    expect(result.failed_operation).toBe('http_round_trip');
    expect(result.details.hops[0]).toMatchObject({ status_code: null, body_length: null, ip: '127.0.0.1' });
    expect(result.details.hops[0]!.timings.connect_ms).not.toBeNull();
  });

  it('a close after the request is eof_error', async () => {
    const server = await keep(closeOnFirstData());
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBe('eof_error');
    expect(result.failed_operation).toBe('http_round_trip');
  });

  it('a server that sends nothing is generic_timeout_error after timeoutMs', async () => {
    const server = await keep(hangServer());
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/`, ['127.0.0.1'], { ...options, timeoutMs: 500 }), never());
    expect(result.failure).toBe('generic_timeout_error');
    expect(result.failed_operation).toBe('http_round_trip');
    const hop = result.details.hops[0]!;
    expect(hop.t - hop.t0).toBeGreaterThanOrEqual(0.45);
  });

  it('a refused port is connection_refused in connect', async () => {
    const port = await refusedPort();
    const result = await httpProbe.run(probeInput(`http://blocked.test:${port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBe('connection_refused');
    expect(result.failed_operation).toBe('connect');
    expect(result.details.hops[0]).toMatchObject({ ip: '127.0.0.1', status_code: null, timings: { connect_ms: null, tls_ms: null, first_byte_ms: null } });
  });

  it('moves to the next address only when the connect fails', async () => {
    const server = await keep(rawHttpServer((_req, socket) => respond(socket, 200, {}, 'ok')));
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/`, ['127.0.0.3', '127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.details.hops[0]!.ip).toBe('127.0.0.1');
    expect(result.details.hops[0]!.body_sample).toBe('ok');
  });

  it('follows a redirect chain across hosts, recording each hop', async () => {
    const second = await keep(
      rawHttpServer((req, socket) => {
        if (req.path === '/next') respond(socket, 301, { Location: '/final' });
        else respond(socket, 200, {}, `final ${req.headers['host']}`);
      }),
    );
    const first = await keep(rawHttpServer((_req, socket) => respond(socket, 302, { Location: `http://localhost:${second.port}/next` })));
    const result = await httpProbe.run(probeInput(`http://blocked.test:${first.port}/start`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.details.hops.map((h) => [h.url, h.status_code, h.ip])).toEqual([
      [`http://blocked.test:${first.port}/start`, 302, '127.0.0.1'],
      [`http://localhost:${second.port}/next`, 301, '127.0.0.1'], // resolved by the system resolver
      [`http://localhost:${second.port}/final`, 200, '127.0.0.1'],
    ]);
    expect(result.details.hops[2]!.body_sample).toBe(`final localhost:${second.port}`);
    const [a, b, c] = result.details.hops;
    expect(b!.t0).toBeGreaterThanOrEqual(a!.t);
    expect(c!.t0).toBeGreaterThanOrEqual(b!.t);
  });

  it('a redirect loop stops after 10 redirects', async () => {
    let served = 0;
    const server = await keep(
      rawHttpServer((req, socket) => {
        served++;
        respond(socket, 302, { Location: `/loop${Number(req.path.slice(5) || 0) + 1}` });
      }),
    );
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/loop0`, ['127.0.0.1'], options), never());
    expect(result.details.hops).toHaveLength(11);
    expect(served).toBe(11);
    expect(result.details.hops.every((h) => h.status_code === 302)).toBe(true);
    expect(result.failure).toBe('unknown_failure: stopped after 10 redirects');
    expect(result.failed_operation).toBe('http_round_trip');
  });

  it('a 1 GB body: reading stops at the read limit and the probe finishes', async () => {
    const GB = 1024 ** 3;
    let serverSocket: Socket | null = null;
    const server = await keep(
      rawHttpServer((_req, socket) => {
        serverSocket = socket;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${GB}\r\nContent-Type: application/octet-stream\r\n\r\n`);
        pump(socket, Buffer.alloc(64 * 1024, 0x41), GB);
      }),
    );
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/big`, ['127.0.0.1'], options), never());
    const hop = result.details.hops[0]!;
    expect(result.failure).toBeNull();
    expect(hop.body_length).toBe(options.bodyReadLimitBytes);
    expect(hop.body_truncated).toBe(true);
    expect(hop.body_sample).toBe('A'.repeat(options.bodyCapBytes));
    expect(hop.body_sha256).toBe(createHash('sha256').update('A'.repeat(options.bodyCapBytes)).digest('hex'));
    // The probe hung up: the server's socket is closed, far short of 1 GB.
    await new Promise<void>((resolve) => {
      const s = serverSocket as Socket | null;
      if (!s || s.destroyed) resolve();
      else s.once('close', () => resolve());
    });
    expect((serverSocket as Socket | null)!.bytesWritten).toBeLessThan(GB);
  });

  describe('over TLS', () => {
    it('validates with the extra CA, sends SNI = the host, records the TLS time', async () => {
      const server = await keep(rawHttpsServer(pki.leaf(['blocked.test']), (req, socket) => respond(socket, 200, {}, `sni ok ${req.headers['host']}`)));
      const result = await httpProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
      expect(result.failure).toBeNull();
      const hop = result.details.hops[0]!;
      expect(hop.body_sample).toBe(`sni ok blocked.test:${server.port}`);
      expect(hop.timings.tls_ms).toBeGreaterThanOrEqual(0);
    });

    it.each([
      ['another name', () => pki.leaf(['other.test']), 'ssl_invalid_hostname'],
      ['expired', () => pki.leaf(['blocked.test'], { expired: true }), 'ssl_invalid_certificate'],
      ['an unknown CA', () => makePki('unknown').leaf(['blocked.test']), 'ssl_unknown_authority'],
    ])('a certificate for %s fails in tls_handshake', async (_label, leaf, failure) => {
      const server = await keep(rawHttpsServer(leaf(), (_req, socket) => respond(socket, 200, {}, 'should not be read')));
      const result = await httpProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
      expect(result.failure).toBe(failure);
      expect(result.failed_operation).toBe('tls_handshake');
      expect(result.details.hops[0]!.status_code).toBeNull();
    });

    it('an IP-literal https URL is checked against the IP in the certificate', async () => {
      const server = await keep(rawHttpsServer(pki.leaf(['blocked.test'], { ips: ['127.0.0.1'] }), (_req, socket) => respond(socket, 200, {}, 'by ip')));
      const result = await httpProbe.run(probeInput(`https://127.0.0.1:${server.port}/`, [], options), never());
      expect(result.failure).toBeNull();
      expect(result.details.hops[0]!.body_sample).toBe('by ip');
    });
  });

  it('an abort stops now with interrupted', async () => {
    const server = await keep(hangServer());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const result = await httpProbe.run(probeInput(`http://blocked.test:${server.port}/`, ['127.0.0.1'], { ...options, timeoutMs: 30_000 }), controller.signal);
    expect(result.failure).toBe('interrupted');
    expect(result.details.hops[0]!.t).toBeLessThan(10);
  });

  it('bad input throws; titles are extracted leniently', async () => {
    await expect(httpProbe.run(probeInput('tcp://127.0.0.1:80', [], options), never())).rejects.toBeInstanceOf(ProbeInputError);
    await expect(httpProbe.run(probeInput('http://', [], options), never())).rejects.toBeInstanceOf(ProbeInputError);
    expect(extractTitle('<TITLE lang="fa">\n a \t b </TITLE>')).toBe('a b');
    expect(extractTitle('<title>unclosed')).toBeNull();
  });
});
