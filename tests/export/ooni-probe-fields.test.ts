// What the OONI export needs the probes to record, from real loopback
// servers: the TLS cipher suite and the peer's chain (base64 DER, leaf
// first, real-SNI handshakes only) and the request headers each HTTP hop sent.
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { httpProbe } from '../../probes/http.js';
import { PEER_CHAIN_MAX_CERTS, tlsProbe } from '../../probes/tls.js';
import type { ProbeOptions } from '../../probes/types.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { tlsServer } from '../helpers/loopback/tls.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const keep = closeAfterEach();
let pki: TestPki;
let options: ProbeOptions;
beforeAll(() => {
  pki = makePki();
  options = noDnsOptions({ extraCaPem: pki.ca.cert, innocuousSni: 'example.org', timeoutMs: 1_500 });
});

describe('TLS fields for the export', () => {
  it('records the cipher suite, the connect time and the leaf as DER for the real SNI only', async () => {
    const leaf = pki.leaf(['blocked.test']);
    const server = await keep(tlsServer(leaf));
    const result = await tlsProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    const real = result.details.handshakes.find((h) => !h.innocuous)!;
    const innocuous = result.details.handshakes.find((h) => h.innocuous)!;
    expect(real.cipher_suite).toMatch(/^TLS_/);
    expect(real.connect_ms).toBeGreaterThanOrEqual(0);
    expect(real.peer_certificates!.length).toBeGreaterThanOrEqual(1);
    expect(real.peer_certificates!.length).toBeLessThanOrEqual(PEER_CHAIN_MAX_CERTS);
    const der = Buffer.from(real.peer_certificates![0]!, 'base64');
    expect(new X509Certificate(der).toString()).toBe(new X509Certificate(leaf.cert).toString());
    expect(innocuous.peer_certificates).toBeUndefined();
    expect(innocuous.cipher_suite).toMatch(/^TLS_/);
  });

  it('records a failed connect as connect_ms null', async () => {
    const result = await tlsProbe.run(probeInput('https://blocked.test:1/', ['127.0.0.1'], options), never());
    expect(result.details.handshakes.every((h) => h.connect_ms === null && h.failure !== null)).toBe(true);
  });
});

describe('HTTP request headers for the export', () => {
  it('records the Host and browser headers each hop gave the client', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.end('<title>hi</title>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await keep(Promise.resolve({ close: () => new Promise<void>((r) => server.close(() => r())) }));
    const port = (server.address() as AddressInfo).port;
    const result = await httpProbe.run(probeInput(`http://site.test:${port}/`, ['127.0.0.1'], options), never());
    const hop = result.details.hops[0]!;
    expect(hop.request_headers![0]).toEqual(['host', `site.test:${port}`]);
    for (const [name, value] of hop.request_headers!) expect(seen[0]![name]).toBe(value);
  });
});
