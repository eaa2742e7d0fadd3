// The tls probe for an http:// input checks DNS consistency as OONI's Web
// Connectivity does: a handshake on 443 with SNI = the host to each
// address. Loopback servers listen on 443 of addresses unique to this
// process (127.N.44.x), one with a certificate for the name, one without.
import { createServer, type Server } from 'node:tls';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsProbe } from '../../probes/tls.js';
import type { ProbeOptions } from '../../probes/types.js';
import { makePki, type Pem, type TestPki } from '../helpers/certs.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';

const NET = `127.${1 + (process.pid % 250)}.44`;
const SERVES_NAME = `${NET}.1`;
const OTHER_SITE = `${NET}.2`;
const NOTHING = `${NET}.3`;

let pki: TestPki;
let options: ProbeOptions;
const servers: { server: Server; sockets: Set<Socket> }[] = [];

async function listen443(ip: string, pem: Pem): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer({ key: pem.key, cert: pem.cert }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.resume();
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(443, ip, () => resolve());
  });
  servers.push({ server, sockets });
}

beforeAll(async () => {
  pki = makePki('rasad consistency CA');
  options = noDnsOptions({ extraCaPem: pki.ca.cert, innocuousSni: 'example.org', timeoutMs: 1_500 });
  await listen443(SERVES_NAME, pki.leaf(['site.test']));
  await listen443(OTHER_SITE, pki.leaf(['elsewhere.test']));
});
afterAll(async () => {
  for (const { server, sockets } of servers) {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe('tlsProbe for an http:// input (DNS consistency)', () => {
  it('one handshake per address on 443 with SNI = the host, no innocuous one, purpose recorded', async () => {
    const result = await tlsProbe.run(probeInput('http://site.test:8080/page', [SERVES_NAME, OTHER_SITE, NOTHING], options), never());
    expect(result.details.purpose).toBe('dns_consistency');
    const byIp = Object.fromEntries(result.details.handshakes.map((h) => [h.ip, h]));
    expect(result.details.handshakes).toHaveLength(3);
    for (const h of result.details.handshakes) expect(h).toMatchObject({ port: 443, server_name: 'site.test', innocuous: false, purpose: 'dns_consistency' });
    expect(byIp[SERVES_NAME]).toMatchObject({ failure: null, cert_validation: 'valid' });
    expect(byIp[OTHER_SITE]).toMatchObject({ failure: 'ssl_invalid_hostname', cert_validation: 'wrong_host' });
    expect(byIp[NOTHING]).toMatchObject({ failure: 'connection_refused', cert_validation: null });
    // Evidence for the DNS judgement, not a TLS outcome: the probe itself does not fail.
    expect(result.failure).toBeNull();
    expect(result.failed_operation).toBeNull();
  });

  it('an http:// input with an IP host has no name to check: no handshake', async () => {
    const result = await tlsProbe.run(probeInput(`http://${SERVES_NAME}/`, [], options), never());
    expect(result.details).toEqual({ handshakes: [], purpose: 'dns_consistency' });
    expect(result.failure).toBeNull();
  });

  it('an https:// input is unchanged: its own port, the innocuous comparison, no purpose', async () => {
    const result = await tlsProbe.run(probeInput('https://site.test/', [SERVES_NAME], options), never());
    expect(result.details.purpose).toBeUndefined();
    expect(result.details.handshakes.map((h) => [h.server_name, h.innocuous, h.purpose])).toEqual([
      ['example.org', true, undefined],
      ['site.test', false, undefined],
    ]);
    expect(result.failure).toBeNull();
  });
});
