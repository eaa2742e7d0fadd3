// The bundled bench's world, on real loopback sockets (ports of its own, no
// namespace): what the bundled list and the apps need of it, and that one
// port serves HTTPS, plain HTTP and a Tor OR port's link handshake alike,
// as the list mixes them (plain HTTP on 443, TLS on 80).
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledNeeds } from '../../bench/lib/bundled-targets.js';
import { startBundledWorld, WORLD_ADDRESS, type BundledWorld } from '../../bench/lib/bundled-world.js';
import { makeTestPki, type TestPki } from '../../bench/lib/test-ca.js';
import { TELEGRAM_DATACENTERS } from '../../probes/app_endpoints.js';
import { decodeMessage, encodeQuery } from '../../probes/dns_codec.js';
import { parseLinkAnswer, versionsCell } from '../../probes/tor_cells.js';
import { loadTargets } from '../../src/targets/parse.js';

const needs = bundledNeeds(loadTargets(fileURLToPath(new URL('../../targets.txt', import.meta.url))));

describe('bundledNeeds (the bundled targets.txt)', () => {
  it('names the apps\' hosts and the websites, adds Telegram\'s data centres and the Tor authorities as addresses, and every port', () => {
    expect(needs.names).toEqual(expect.arrayContaining(['web.telegram.org', 'e16.whatsapp.net', 'v.whatsapp.net', 'chat.signal.org', 'edge-mqtt.facebook.com', 'www.bbc.com']));
    expect(needs.addresses).toEqual(expect.arrayContaining([...TELEGRAM_DATACENTERS, '128.31.0.39', '171.25.193.9']));
    expect(needs.ports).toEqual(expect.arrayContaining([80, 443, 5222, 9201, 9231]));
    for (const name of needs.names) expect(name, name).not.toMatch(/^[0-9.]+$/);
  });
});

describe('startBundledWorld', () => {
  const PORT = 20_000 + (process.pid % 20_000);
  let dir: string;
  let pki: TestPki;
  let world: BundledWorld;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rasad-bundled-world-'));
    pki = makeTestPki(dir, ['www.bbc.com', 'chat.signal.org']);
    world = await startBundledWorld({ latencyMs: 5, certPem: pki.certPem, keyPem: pki.keyPem, dnsHost: '127.0.0.1', dnsPort: 0, ports: [PORT, PORT + 1] });
  });
  afterAll(async () => {
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with a certificate of the test CA, and plain HTTP, on the same port', async () => {
    const https = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: PORT, servername: 'chat.signal.org', headers: { host: 'chat.signal.org' }, ca: pki.caPem, path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    const dir = await new Promise<[number, string]>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: PORT, path: '/tor/status-vote/current/consensus' }, (res) => {
        res.resume();
        resolve([res.statusCode ?? 0, String(res.headers['content-type'])]);
      });
      req.on('error', reject);
      req.end();
    });
    expect(https).toBe(200);
    expect(dir).toEqual([200, 'text/plain']);
    expect(world.stats()).toMatchObject({ https_requests: 1, http_requests: 1, tor_dir_requests: 1 });
  });

  it('answers a Tor VERSIONS cell over TLS with a link handshake the tor probe accepts', async () => {
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: PORT + 1, rejectUnauthorized: false }, () => socket.write(versionsCell()));
      let received = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        received = Buffer.concat([received, d]);
        if (parseLinkAnswer(received).netinfo) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
    });
    expect(parseLinkAnswer(bytes)).toMatchObject({ link_protocol: 5, netinfo: true, malformed: false });
    expect(world.stats().tor_versions).toBe(1);
  });
});

describe('the bundled world\'s DNS', () => {
  it('gives any name an A record at the world\'s address, and other types an empty answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-bundled-dns-'));
    const pki = makeTestPki(dir, ['x.test']);
    const dnsPort = 40_000 + (process.pid % 20_000);
    const world = await startBundledWorld({ latencyMs: 0, certPem: pki.certPem, keyPem: pki.keyPem, dnsHost: '127.0.0.1', dnsPort, ports: [] });
    const client = createSocket('udp4');
    const ask = (query: Buffer) =>
      new Promise<ReturnType<typeof decodeMessage>>((resolve) => {
        client.once('message', (raw) => resolve(decodeMessage(raw)));
        client.send(query, dnsPort, '127.0.0.1');
      });
    try {
      const a = await ask(encodeQuery('e3.whatsapp.net', 'A', 1));
      expect(a.answers.map((r) => [r.typeName, r.value])).toEqual([['A', WORLD_ADDRESS]]);
      const aaaa = await ask(encodeQuery('e3.whatsapp.net', 'AAAA', 2));
      expect(aaaa.answers).toEqual([]);
      expect(aaaa.rcode).toBe(0);
    } finally {
      client.close();
      await world.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
