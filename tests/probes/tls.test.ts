// tlsProbe against real TLS servers on loopback: valid, wrong-host, expired
// and unknown-CA certificates, a server that resets or closes after the
// ClientHello, one that never answers, and an SNI-filtering censor.
import { beforeAll, describe, expect, it } from 'vitest';
import { tlsProbe } from '../../probes/tls.js';
import type { ProbeOptions } from '../../probes/types.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { keywordResetter } from '../helpers/loopback/censor.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { closeOnFirstData, hangServer, refusedPort, resetOnFirstData } from '../helpers/loopback/tcp.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { tlsServer } from '../helpers/loopback/tls.js';

const keep = closeAfterEach();

let pki: TestPki;
let unknownPki: TestPki;
let options: ProbeOptions;
beforeAll(() => {
  pki = makePki();
  unknownPki = makePki('unknown CA');
  options = noDnsOptions({ extraCaPem: pki.ca.cert, innocuousSni: 'example.org', timeoutMs: 1_500 });
});

const url = (port: number) => `https://blocked.test:${port}/`;

describe('tlsProbe', () => {
  it('a valid certificate: version, ALPN, certificate summary; the innocuous SNI sees the wrong host', async () => {
    const server = await keep(tlsServer(pki.leaf(['blocked.test'])));
    const result = await tlsProbe.run(probeInput(url(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.failed_operation).toBeNull();
    const [innocuous, real] = result.details.handshakes;
    expect(real).toMatchObject({ ip: '127.0.0.1', port: server.port, server_name: 'blocked.test', innocuous: false, failure: null, cert_validation: 'valid', tls_version: 'TLSv1.3', alpn: 'h2' });
    expect(real!.handshake_ms).toBeGreaterThanOrEqual(0);
    expect(real!.peer_certificate).toMatchObject({ subject_cn: 'blocked.test', san: ['DNS:blocked.test'] });
    expect(real!.peer_certificate!.issuer_cn).toMatch(/^rasad test CA/);
    expect(Date.parse(real!.peer_certificate!.not_after!)).toBeGreaterThan(Date.now());
    expect(innocuous).toMatchObject({ server_name: 'example.org', innocuous: true, cert_validation: 'wrong_host', failure: 'ssl_invalid_hostname', tls_version: 'TLSv1.3' });
    // The innocuous handshake goes first (a residual block must not spoil it).
    expect(server.servernames).toEqual(['example.org', 'blocked.test']);
  });

  it.each([
    ['a certificate for another name', () => pki.leaf(['other.test']), 'wrong_host', 'ssl_invalid_hostname'],
    ['an expired certificate', () => pki.leaf(['blocked.test'], { expired: true }), 'expired', 'ssl_invalid_certificate'],
    ['an unknown CA', () => unknownPki.leaf(['blocked.test']), 'unknown_authority', 'ssl_unknown_authority'],
  ])('%s: the handshake completes, the validating client\'s failure is recorded', async (_label, leaf, validation, failure) => {
    const server = await keep(tlsServer(leaf()));
    const result = await tlsProbe.run(probeInput(url(server.port), ['127.0.0.1'], options), never());
    const real = result.details.handshakes.find((h) => !h.innocuous)!;
    expect(real.cert_validation).toBe(validation);
    expect(real.failure).toBe(failure);
    expect(real.tls_version).not.toBeNull();
    expect(real.peer_certificate).not.toBeNull();
    expect(result.failure).toBe(failure);
    expect(result.failed_operation).toBe('tls_handshake');
  });

  it('RST after the ClientHello is connection_reset, with no certificate', async () => {
    const server = await keep(resetOnFirstData());
    const result = await tlsProbe.run(probeInput(url(server.port), ['127.0.0.1'], options), never());
    for (const h of result.details.handshakes) expect(h).toMatchObject({ failure: 'connection_reset', cert_validation: null, tls_version: null, peer_certificate: null, handshake_ms: null });
    expect(result.failure).toBe('connection_reset');
    expect(result.failed_operation).toBe('tls_handshake');
  });

  it('a close after the ClientHello is eof_error', async () => {
    const server = await keep(closeOnFirstData());
    const result = await tlsProbe.run(probeInput(url(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toBe('eof_error');
  });

  it('a server that never answers the ClientHello is generic_timeout_error after timeoutMs', async () => {
    const server = await keep(hangServer());
    const result = await tlsProbe.run(probeInput(url(server.port), ['127.0.0.1'], { ...options, timeoutMs: 400 }), never());
    expect(result.failure).toBe('generic_timeout_error');
    const real = result.details.handshakes.find((h) => !h.innocuous)!;
    expect(real.t - real.t0).toBeGreaterThanOrEqual(0.35);
  });

  it('an SNI-filtering censor: the real SNI is reset, the innocuous one completes', async () => {
    const upstream = await keep(tlsServer(pki.leaf(['blocked.test'])));
    const censor = await keep(keywordResetter(upstream.port, 'blocked.test'));
    const result = await tlsProbe.run(probeInput(url(censor.port), ['127.0.0.1'], options), never());
    const real = result.details.handshakes.find((h) => !h.innocuous)!;
    const innocuous = result.details.handshakes.find((h) => h.innocuous)!;
    expect(real.failure).toBe('connection_reset');
    expect(innocuous.tls_version).toBe('TLSv1.3');
    expect(innocuous.cert_validation).toBe('wrong_host');
    expect(result.failure).toBe('connection_reset');
  });

  it('a refused port fails in the connect operation', async () => {
    const port = await refusedPort();
    const result = await tlsProbe.run(probeInput(url(port), ['127.0.0.1'], options), never());
    expect(result.failure).toBe('connection_refused');
    expect(result.failed_operation).toBe('connect');
  });

  it('an IP-literal host gets only the innocuous handshake', async () => {
    const server = await keep(tlsServer(pki.leaf(['example.org'])));
    const result = await tlsProbe.run(probeInput(`https://127.0.0.1:${server.port}/`, [], options), never());
    expect(result.details.handshakes).toHaveLength(1);
    expect(result.details.handshakes[0]).toMatchObject({ server_name: 'example.org', innocuous: true, failure: null, cert_validation: 'valid' });
    expect(result.failure).toBeNull();
  });

  it('at most 4 addresses, two handshakes each', async () => {
    const server = await keep(tlsServer(pki.leaf(['blocked.test'])));
    const addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const result = await tlsProbe.run(probeInput(url(server.port), addresses, options), never());
    expect(new Set(result.details.handshakes.map((h) => h.ip))).toEqual(new Set(addresses.slice(0, 4)));
    expect(result.details.handshakes).toHaveLength(8);
  });

  it('an abort during a hung handshake stops now with interrupted', async () => {
    const server = await keep(hangServer());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const result = await tlsProbe.run(probeInput(url(server.port), ['127.0.0.1'], { ...options, timeoutMs: 30_000 }), controller.signal);
    expect(result.failure).toBe('interrupted');
    expect(result.details.handshakes.every((h) => h.failure === 'interrupted')).toBe(true);
  });
});
