// The realistic bench's world on its own, on real loopback sockets: the
// target classes and targets file, the DNS server's NXDOMAIN for failing
// targets, the delaying proxy in front of an HTTPS origin whose certificate
// a client validates with the test CA, and the reset of a failing target's
// connection at its first byte. Proxies listen on one target's own
// loopback address (any 127/8 address is local), high ports only.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressIndex, realisticTargetsFile, startRealisticWorld, targetClass, type RealisticWorld } from '../../bench/lib/realistic-world.js';
import { makeTestPki, type TestPki } from '../../bench/lib/test-ca.js';
import { targetAddress } from '../../bench/lib/world.js';
import { decodeMessage, encodeQuery, type DnsMessage } from '../../probes/dns_codec.js';

describe('realistic world: classes and targets', () => {
  it('has six HTTPS, three HTTP and one failing target in every ten, failing ones alternating NXDOMAIN and reset', () => {
    const classes = Array.from({ length: 40 }, (_, i) => targetClass(i));
    expect(classes.filter((c) => c === 'https')).toHaveLength(24);
    expect(classes.filter((c) => c === 'http')).toHaveLength(12);
    expect([classes[9], classes[19], classes[29], classes[39]]).toEqual(['nxdomain', 'reset', 'nxdomain', 'reset']);
  });

  it('maps target addresses back to their index, and nothing else', () => {
    for (const i of [0, 1, 253, 254, 903, 5000]) expect(addressIndex(targetAddress(i))).toBe(i);
    expect(addressIndex(`::ffff:${targetAddress(42)}`)).toBe(42);
    expect(addressIndex('127.0.0.1')).toBeNull();
    expect(addressIndex('10.1.1.1')).toBeNull();
    expect(addressIndex('127.1.0.5')).toBeNull();
  });

  it('writes https:// for HTTPS targets and http:// for plain ones', () => {
    const lines = realisticTargetsFile(10).trim().split('\n').filter((l) => !l.startsWith('#'));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('https://t0.bench.test/ NEWS');
    expect(lines[6]).toBe('http://t6.bench.test/ NEWS');
  });
});

describe('realistic world servers (loopback)', () => {
  const RTT_MS = 60;
  let dir: string;
  let pki: TestPki;
  const worlds: RealisticWorld[] = [];

  beforeAll(async () => {
    execFileSync('openssl', ['version']);
    dir = mkdtempSync(join(tmpdir(), 'rasad-realistic-world-'));
    pki = makeTestPki(dir);
  });
  afterAll(async () => {
    await Promise.all(worlds.map((w) => w.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A world whose proxies listen on target `i`'s own address. */
  async function worldAt(i: number): Promise<RealisticWorld> {
    const world = await startRealisticWorld({
      targets: 40, rttMs: RTT_MS, certPem: pki.certPem, keyPem: pki.keyPem,
      dnsHost: '127.0.0.1', dnsPort: 0, listenHost: targetAddress(i), httpPort: 0, httpsPort: 0,
    });
    worlds.push(world);
    return world;
  }

  function ask(port: number, name: string): Promise<{ message: DnsMessage; ms: number }> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      const started = performance.now();
      const timer = setTimeout(() => reject(new Error('no DNS answer')), 3000);
      socket.on('message', (raw) => {
        clearTimeout(timer);
        socket.close();
        resolve({ message: decodeMessage(raw), ms: performance.now() - started });
      });
      socket.send(encodeQuery(name, 'A', 0x4242), port, '127.0.0.1');
    });
  }

  it('serves an HTTPS target through the proxy with a certificate that validates against the test CA, one RTT per exchange', async () => {
    const world = await worldAt(0);
    const started = performance.now();
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        { host: targetAddress(0), port: world.httpsPort, servername: 't0.bench.test', headers: { host: 't0.bench.test' }, ca: pki.caPem, path: '/' },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(body).toContain('<title>t0.bench.test</title>');
    // A TLS handshake and an HTTP exchange: at least two round trips.
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * RTT_MS * 0.9);
    expect(world.stats().https_requests).toBe(1);
  });

  it('answers a target with its address after one RTT, and a failing NXDOMAIN target with NXDOMAIN', async () => {
    const world = await worldAt(1);
    const up = await ask(world.dnsPort, 't3.bench.test');
    expect(up.message.answers.map((a) => a.value)).toEqual([targetAddress(3)]);
    expect(up.ms).toBeGreaterThanOrEqual(RTT_MS * 0.9);
    const failing = await ask(world.dnsPort, 't9.bench.test');
    expect(failing.message.rcodeName).toBe('NXDOMAIN');
    expect(world.stats().dns_nxdomain).toBe(1);
  });

  it("resets a failing target's connection at the first byte it sends", async () => {
    const world = await worldAt(19);
    const outcome = await new Promise<string>((resolve) => {
      const socket = netConnect({ host: targetAddress(19), port: world.httpPort }, () => socket.write('GET / HTTP/1.1\r\nhost: t19.bench.test\r\n\r\n'));
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      socket.on('close', () => resolve('closed without an error'));
    });
    expect(outcome).toBe('ECONNRESET');
    expect(world.stats().resets).toBe(1);
  });
});
