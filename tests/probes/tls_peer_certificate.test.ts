// Node's identity check in tls.connect reads the peer's detailed chain
// (getPeerCertificate(true), ~0.6 ms); tlsHandshake answers it at the detail
// the caller needs and keeps it, so the tls probe does not read the chain a
// second time and the HTTP fetch never reads more than the leaf. The
// judgement (authorized, the name check, what is recorded) must not change.
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectTcp, handshakePeerCertificate, sharedSecureContext, tlsHandshake, type PeerCertificateNeed } from '../../probes/net.js';
import { tlsProbe } from '../../probes/tls.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { tlsServer } from '../helpers/loopback/tls.js';

const keep = closeAfterEach();
let pki: TestPki;
beforeAll(() => {
  pki = makePki('rasad peer-certificate CA');
});

const derBase64 = (pem: string) => new X509Certificate(pem).raw.toString('base64');

async function handshake(port: number, servername: string, need: PeerCertificateNeed, rejectUnauthorized = false): Promise<TLSSocket> {
  const tcp = await connectTcp('127.0.0.1', port, never(), 2_000);
  const secureContext = sharedSecureContext(pki.ca.cert, 'test');
  return tlsHandshake(tcp, { servername, rejectUnauthorized, secureContext }, never(), 2_000, need);
}

describe('the peer certificate read during a handshake', () => {
  it("'chain' keeps the detailed chain Node's check read, and the socket's own method is back afterwards", async () => {
    const leaf = pki.leaf(['site.test']);
    const server = await keep(tlsServer(leaf));
    const socket = await handshake(server.port, 'site.test', 'chain');
    try {
      expect(socket.authorized).toBe(true);
      const seen = handshakePeerCertificate(socket);
      expect(seen?.detailed).toBe(true);
      const cert = seen!.cert as DetailedPeerCertificate;
      expect(cert.raw.toString('base64')).toBe(derBase64(leaf.cert));
      expect(cert.issuerCertificate.raw.toString('base64')).toBe(derBase64(pki.ca.cert));
      expect(Object.prototype.hasOwnProperty.call(socket, 'getPeerCertificate')).toBe(false);
      expect((socket.getPeerCertificate(true) as DetailedPeerCertificate).issuerCertificate.raw).toEqual(cert.issuerCertificate.raw);
    } finally {
      socket.destroy();
    }
  });

  it("'leaf' gives the name check the leaf alone; a later call still gets the chain", async () => {
    const leaf = pki.leaf(['site.test']);
    const server = await keep(tlsServer(leaf));
    const socket = await handshake(server.port, 'site.test', 'leaf');
    try {
      expect(socket.authorized).toBe(true);
      const seen = handshakePeerCertificate(socket);
      expect(seen?.detailed).toBe(false);
      expect(seen!.cert.subject.CN).toBe('site.test');
      expect((seen!.cert as Partial<DetailedPeerCertificate>).issuerCertificate).toBeUndefined();
      expect((socket.getPeerCertificate(true) as DetailedPeerCertificate).issuerCertificate.subject.CN).toMatch(/^rasad peer-certificate CA/);
    } finally {
      socket.destroy();
    }
  });

  it("'leaf' still refuses a certificate for another name when validating, and accepts the right one", async () => {
    const server = await keep(tlsServer(pki.leaf(['site.test'])));
    await expect(handshake(server.port, 'other.test', 'leaf', true)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const socket = await handshake(server.port, 'site.test', 'leaf', true);
    expect(socket.authorized).toBe(true);
    socket.destroy();
  });

  it('nothing is kept when the chain did not verify (Node reads no certificate then)', async () => {
    const server = await keep(tlsServer(makePki('rasad unknown CA').leaf(['site.test'])));
    const socket = await handshake(server.port, 'site.test', 'chain');
    try {
      expect(socket.authorized).toBe(false);
      expect(socket.authorizationError).toBeTruthy();
      expect(handshakePeerCertificate(socket)).toBeNull();
    } finally {
      socket.destroy();
    }
  });

  it('the tls probe records the same chain and judgement for both handshakes', async () => {
    const leaf = pki.leaf(['site.test']);
    const server = await keep(tlsServer(leaf));
    const options = noDnsOptions({ extraCaPem: pki.ca.cert, innocuousSni: 'example.org', timeoutMs: 2_000 });
    const result = await tlsProbe.run(probeInput(`https://site.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    const [innocuous, real] = result.details.handshakes;
    expect(innocuous).toMatchObject({ innocuous: true, server_name: 'example.org', cert_validation: 'wrong_host', failure: 'ssl_invalid_hostname' });
    expect(innocuous!.peer_certificate).toMatchObject({ subject_cn: 'site.test', san: ['DNS:site.test'] });
    expect(innocuous!.peer_certificates).toBeUndefined();
    expect(real).toMatchObject({ innocuous: false, server_name: 'site.test', cert_validation: 'valid', failure: null });
    expect(real!.peer_certificate).toMatchObject({ subject_cn: 'site.test', san: ['DNS:site.test'] });
    expect(real!.peer_certificate!.issuer_cn).toMatch(/^rasad peer-certificate CA/);
    expect(real!.peer_certificates).toEqual([derBase64(leaf.cert), derBase64(pki.ca.cert)]);
  });
});
