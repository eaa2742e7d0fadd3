// Node's identity check in tls.connect reads the peer's detailed chain
// (getPeerCertificate(true), ~0.2-0.6 ms); tlsHandshake answers it with the
// leaf, which is all it reads, and keeps that leaf for the caller. The tls
// probe records the chain as the peer sent it (getPeerX509Certificate), not
// the detailed chain, which also carries the issuer Node found in the local
// trust store. The judgement (authorized, the name check) must not change.
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectTcp, handshakePeerCertificate, sharedSecureContext, tlsHandshake } from '../../probes/net.js';
import { peerChain, PEER_CHAIN_MAX_CERTS, tlsProbe } from '../../probes/tls.js';
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

async function handshake(port: number, servername: string, rejectUnauthorized = false): Promise<TLSSocket> {
  const tcp = await connectTcp('127.0.0.1', port, never(), 2_000);
  const secureContext = sharedSecureContext(pki.ca.cert, 'test');
  return tlsHandshake(tcp, { servername, rejectUnauthorized, secureContext }, never(), 2_000);
}

describe('the peer certificate read during a handshake', () => {
  it("gives the name check the leaf alone, keeps it, and the socket's own method is back afterwards", async () => {
    const leaf = pki.leaf(['site.test']);
    const server = await keep(tlsServer(leaf));
    const socket = await handshake(server.port, 'site.test');
    try {
      expect(socket.authorized).toBe(true);
      const seen = handshakePeerCertificate(socket);
      expect(seen?.subject.CN).toBe('site.test');
      expect(seen!.raw.toString('base64')).toBe(derBase64(leaf.cert));
      expect((seen as Partial<DetailedPeerCertificate>).issuerCertificate).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(socket, 'getPeerCertificate')).toBe(false);
      // A later caller still gets the detailed chain, trust-store issuer included.
      expect((socket.getPeerCertificate(true) as DetailedPeerCertificate).issuerCertificate.subject.CN).toMatch(/^rasad peer-certificate CA/);
    } finally {
      socket.destroy();
    }
  });

  it('still refuses a certificate for another name when validating, and accepts the right one', async () => {
    const server = await keep(tlsServer(pki.leaf(['site.test'])));
    await expect(handshake(server.port, 'other.test', true)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const socket = await handshake(server.port, 'site.test', true);
    expect(socket.authorized).toBe(true);
    socket.destroy();
  });

  it('nothing is kept when the chain did not verify (Node reads no certificate then)', async () => {
    const server = await keep(tlsServer(makePki('rasad unknown CA').leaf(['site.test'])));
    const socket = await handshake(server.port, 'site.test');
    try {
      expect(socket.authorized).toBe(false);
      expect(socket.authorizationError).toBeTruthy();
      expect(handshakePeerCertificate(socket)).toBeNull();
    } finally {
      socket.destroy();
    }
  });
});

describe('the chain the tls probe records', () => {
  it('is what the peer sent: a leaf alone stays alone, though it verified against a CA in the trust store', async () => {
    const leaf = pki.leaf(['site.test']);
    const server = await keep(tlsServer(leaf));
    const socket = await handshake(server.port, 'site.test');
    try {
      expect(socket.authorized).toBe(true);
      expect(peerChain(socket)).toEqual([derBase64(leaf.cert)]);
    } finally {
      socket.destroy();
    }
  });

  it('a leaf sent with its CA gives both, in order; an unverified chain the same', async () => {
    const leaf = pki.leaf(['site.test']);
    const sent = await keep(tlsServer({ key: leaf.key, cert: `${leaf.cert}\n${pki.ca.cert}` }));
    const socket = await handshake(sent.port, 'site.test');
    try {
      expect(peerChain(socket)).toEqual([derBase64(leaf.cert), derBase64(pki.ca.cert)]);
    } finally {
      socket.destroy();
    }
    const unknown = makePki('rasad unknown chain CA');
    const otherLeaf = unknown.leaf(['site.test']);
    const unverified = await keep(tlsServer({ key: otherLeaf.key, cert: `${otherLeaf.cert}\n${unknown.ca.cert}` }));
    const other = await handshake(unverified.port, 'site.test');
    try {
      expect(other.authorized).toBe(false);
      expect(peerChain(other)).toEqual([derBase64(otherLeaf.cert), derBase64(unknown.ca.cert)]);
    } finally {
      other.destroy();
    }
  });

  it(`a long chain is capped at ${PEER_CHAIN_MAX_CERTS}, and a self-signed certificate is recorded once`, async () => {
    const leaf = pki.leaf(['site.test']);
    const padding = Array.from({ length: PEER_CHAIN_MAX_CERTS + 2 }, (_, i) => makePki(`rasad padding CA ${i}`).ca.cert);
    const long = await keep(tlsServer({ key: leaf.key, cert: [leaf.cert, pki.ca.cert, ...padding].join('\n') }));
    const socket = await handshake(long.port, 'site.test');
    try {
      const chain = peerChain(socket);
      expect(chain).toHaveLength(PEER_CHAIN_MAX_CERTS);
      expect(chain.slice(0, 2)).toEqual([derBase64(leaf.cert), derBase64(pki.ca.cert)]);
    } finally {
      socket.destroy();
    }
    const self = await keep(tlsServer({ key: pki.ca.key, cert: pki.ca.cert }));
    const selfSocket = await handshake(self.port, 'site.test');
    try {
      expect(peerChain(selfSocket)).toEqual([derBase64(pki.ca.cert)]);
    } finally {
      selfSocket.destroy();
    }
  });

  it('the tls probe records the sent chain on the real-SNI handshake and the same judgement on both', async () => {
    const leaf = pki.leaf(['site.test']);
    const server = await keep(tlsServer({ key: leaf.key, cert: `${leaf.cert}\n${pki.ca.cert}` }));
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
    // A leaf-only server: the record holds the leaf, not the CA the probe trusted it by.
    const bare = await keep(tlsServer(leaf));
    const bareResult = await tlsProbe.run(probeInput(`https://site.test:${bare.port}/`, ['127.0.0.1'], options), never());
    expect(bareResult.details.handshakes[1]!.peer_certificates).toEqual([derBase64(leaf.cert)]);
    expect(bareResult.details.handshakes[1]!.cert_validation).toBe('valid');
  });
});
