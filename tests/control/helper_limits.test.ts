// The helper's limits under load and abuse (issues 16 #11-12, 17, 14 §4):
// its default concurrency serves a probe at the probe's default web
// concurrency; slow uploaders cannot hold the measuring slots; IPv6 forms of
// private addresses (6to4, Teredo, NAT64) are refused; an h2-only site is
// fetched; ip_info carries the ASN.
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { isRefusedAddress } from '../../src/control/address_policy.js';
import { DEFAULT_HELPER_CONCURRENCY, startHelper } from '../../src/control/helper.js';
import { defaultConfig } from '../../src/config/schema.js';
import type { ControlAnswer } from '../../src/model.js';
import { makePki } from '../helpers/certs.js';
import { h2OnlyServer } from '../helpers/loopback/h2.js';
import { httpSite, pageHandler, post, type Handler } from './sites.js';

const open: { close(): Promise<void> }[] = [];
async function keep<T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> {
  const t = await thing;
  open.push(t);
  return t;
}
const uploaders: Socket[] = [];
afterAll(async () => {
  for (const s of uploaders) s.destroy();
  await Promise.all(open.map((o) => o.close()));
});

/** Opens a POST that declares `length` bytes and sends one byte every `everyMs`; resolves with the status line when the helper answers. */
function slowUpload(url: string, length: number, everyMs: number): { answered: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  uploaders.push(socket);
  socket.on('error', () => {});
  socket.write(`POST / HTTP/1.1\r\nHost: helper\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
  const timer = setInterval(() => socket.write('{'), everyMs);
  const answered = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.includes('\r\n')) resolve(text.split('\r\n')[0]!);
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve(text.split('\r\n')[0] ?? '');
    });
  });
  return { answered };
}

describe('helper capacity', () => {
  it('the default serves a probe at its default web concurrency: 20 requests at once, no 503', async () => {
    const webConcurrency = defaultConfig().schedules.web.concurrency;
    expect(DEFAULT_HELPER_CONCURRENCY).toBeGreaterThan(webConcurrency);
    // The site holds every page until all the requests are in flight at once.
    const waiting: (() => void)[] = [];
    const handler: Handler = (req, res) => {
      waiting.push(() => pageHandler(req, res));
      if (waiting.length === webConcurrency) for (const go of waiting.splice(0)) go();
    };
    const site = await keep(httpSite(handler));
    const helper = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, timeoutMs: 5000 }));
    const answers = await Promise.all(
      Array.from({ length: webConcurrency }, () => post(helper.url, { http_request: `http://127.0.0.1:${site.port}/`, tcp_connect: [] })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(webConcurrency).fill(200));
    expect(answers.every((a) => (a.json as ControlAnswer).http_request.status_code === 200)).toBe(true);
  });

  it('slow uploads do not hold the measuring slots, and are cut at the body deadline with 408', async () => {
    const site = await keep(httpSite(pageHandler));
    const helper = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, maxConcurrency: 4, bodyTimeoutMs: 1500, timeoutMs: 3000 }));
    const slow = Array.from({ length: 8 }, () => slowUpload(helper.url, 1000, 200));
    await new Promise((r) => setTimeout(r, 300));
    const legit = await post(helper.url, { http_request: `http://127.0.0.1:${site.port}/`, tcp_connect: [] });
    expect(legit.status).toBe(200);
    expect((legit.json as ControlAnswer).http_request.status_code).toBe(200);
    const statuses = await Promise.all(slow.map((s) => s.answered));
    expect(statuses).toEqual(Array(8).fill('HTTP/1.1 408 Request Timeout'));
  });

  it('too many bodies in flight at once are refused with 503, not queued', async () => {
    const helper = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, maxConcurrency: 1, maxPendingBodies: 2, bodyTimeoutMs: 3000 }));
    const slow = [slowUpload(helper.url, 1000, 200), slowUpload(helper.url, 1000, 200)];
    await new Promise((r) => setTimeout(r, 300));
    const third = await post(helper.url, { http_request: 'http://127.0.0.1:9/', tcp_connect: [] });
    expect(third.status).toBe(503);
    for (const s of uploaders) s.destroy();
    await Promise.all(slow.map((s) => s.answered));
  });
});

describe('helper address policy: IPv6 forms of private addresses', () => {
  it.each([
    ['2002:7f00:1::1', '6to4 of 127.0.0.1'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo, client 127.0.0.1'],
    ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
    ['64:ff9b:1::808:808', 'local-use NAT64'],
    ['::ffff:169.254.169.254', 'IPv4-mapped link-local'],
  ])('%s (%s) is refused', (ip) => {
    expect(isRefusedAddress(ip)).toBe(true);
  });

  it.each(['2002:808:808::1', '64:ff9b::808:808', '2606:4700:4700::1111', '8.8.8.8'])('%s (a public address, or a form of one) is not', (ip) => {
    expect(isRefusedAddress(ip)).toBe(false);
  });

  it('a URL at [2002:7f00:1::1] is refused with 403; such endpoints are answered without a connect', async () => {
    const site = await keep(httpSite(pageHandler));
    const helper = await keep(startHelper({ listen: '127.0.0.1:0' }));
    const byUrl = await post(helper.url, { http_request: `http://[2002:7f00:1::1]:${site.port}/`, tcp_connect: [] });
    expect(byUrl.status).toBe(403);
    const before = site.connections;
    const byEndpoint = await post(helper.url, { http_request: `http://localhost:${site.port}/`, tcp_connect: [`[2002:7f00:1::1]:${site.port}`, `[64:ff9b::7f00:1]:${site.port}`] });
    const answer = byEndpoint.json as ControlAnswer;
    expect(answer.tcp_connect[`[2002:7f00:1::1]:${site.port}`]).toEqual({ status: false, failure: 'dns_bogon_error' });
    expect(answer.tcp_connect[`[64:ff9b::7f00:1]:${site.port}`]).toEqual({ status: false, failure: 'dns_bogon_error' });
    expect(site.connections).toBe(before);
  });
});

describe('helper fetches and ip_info', () => {
  it('fetches an h2-only site (ALPN h2 offered)', async () => {
    const pki = makePki('rasad helper h2 CA');
    const h2 = await keep(h2OnlyServer(pki.leaf(['localhost'], { ips: ['127.0.0.1'] }), (_req, res) => res.end('<title>h2 only</title>')));
    const helper = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, extraCaPem: pki.ca.cert, timeoutMs: 3000 }));
    const res = await post(helper.url, { http_request: `https://localhost:${h2.port}/`, tcp_connect: [] });
    expect((res.json as ControlAnswer).http_request).toMatchObject({ status_code: 200, failure: null, title: 'h2 only' });
  });

  it('ip_info carries the ASN from the bundled table (no packet to the address: it is forbidden here)', async () => {
    const site = await keep(httpSite(pageHandler));
    const helper = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, forbidAddress: (ip) => ip === '8.8.8.8', timeoutMs: 3000 }));
    const res = await post(helper.url, { http_request: `http://127.0.0.1:${site.port}/`, tcp_connect: ['8.8.8.8:80'] });
    const answer = res.json as ControlAnswer;
    expect(answer.tcp_connect['8.8.8.8:80']).toEqual({ status: false, failure: 'dns_bogon_error' });
    expect(answer.ip_info?.['8.8.8.8']).toEqual({ asn: 15169, flags: 1 });
  });
});
