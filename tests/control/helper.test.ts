// The control helper against real loopback sites: what it answers, and the
// limits that keep a public helper from being abused. Names used here are
// "localhost" (from /etc/hosts) and loopback literals only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEndpoint, startHelper, type RunningHelper } from '../../src/control/helper.js';
import { createLogger } from '../../src/log.js';
import type { ControlAnswer } from '../../src/model.js';
import { makePki } from '../helpers/certs.js';
import { httpSite, httpsSite, PAGE, pageHandler, post, until, type Site } from './sites.js';

const pki = makePki('rasad helper test CA');
const leaf = pki.leaf(['localhost'], { ips: ['127.0.0.1'] });
const strangerLeaf = makePki('unknown CA').leaf(['localhost']);

const open: { close(): Promise<void> }[] = [];
async function keep<T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> {
  const t = await thing;
  open.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(open.map((o) => o.close()));
});

let lab: RunningHelper;
let site: Site;
let secure: Site;
let stranger: Site;
beforeAll(async () => {
  lab = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, extraCaPem: pki.ca.cert, timeoutMs: 3000 }));
  site = await keep(
    httpSite((req, res) => {
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/' });
        res.end();
        return;
      }
      pageHandler(req, res);
    }),
  );
  secure = await keep(httpsSite(pageHandler, leaf));
  stranger = await keep(httpsSite(pageHandler, strangerLeaf));
});

describe('the helper measures (allowPrivate, as in the lab)', () => {
  it('a plain-http site: DNS, TCP, and the page', async () => {
    const res = await post(lab.url, {
      http_request: `http://localhost:${site.port}/moved`,
      http_request_headers: { 'User-Agent': ['test-agent'] },
      tcp_connect: [`127.0.0.1:${site.port}`],
    });
    expect(res.status).toBe(200);
    const answer = res.json as ControlAnswer;
    expect(answer.dns.failure).toBeNull();
    expect(answer.dns.addrs).toContain('127.0.0.1');
    expect(answer.tcp_connect[`127.0.0.1:${site.port}`]).toEqual({ status: true, failure: null });
    // The redirect was followed to the page.
    expect(answer.http_request).toMatchObject({ status_code: 200, failure: null, title: 'Rasad Test Page', body_length: Buffer.byteLength(PAGE) });
    expect(answer.http_request.headers['x-test-site']).toBe('yes');
    // Resolved by the probe (1) and by the helper (2), and a bogon (4).
    expect(answer.ip_info?.['127.0.0.1']?.flags).toBe(1 | 2 | 4);
    expect(site.requests.slice(-2)).toEqual(['/moved', '/']);
  });

  it('an https site: the handshake for the name validates (flag 8)', async () => {
    const res = await post(lab.url, { http_request: `https://localhost:${secure.port}/`, http_request_headers: {}, tcp_connect: [] });
    const answer = res.json as ControlAnswer;
    expect(answer.tls_handshake?.[`127.0.0.1:${secure.port}`]).toEqual({ server_name: 'localhost', status: true, failure: null });
    expect(answer.http_request).toMatchObject({ status_code: 200, title: 'Rasad Test Page' });
    expect((answer.ip_info?.['127.0.0.1']?.flags ?? 0) & 8).toBe(8);
  });

  it('an https site with a certificate from an unknown authority fails like a browser', async () => {
    const res = await post(lab.url, { http_request: `https://localhost:${stranger.port}/`, tcp_connect: [] });
    const answer = res.json as ControlAnswer;
    expect(answer.tls_handshake?.[`127.0.0.1:${stranger.port}`]).toMatchObject({ status: false, failure: 'ssl_unknown_authority' });
    expect(answer.http_request).toEqual({ body_length: -1, failure: 'ssl_unknown_authority', title: '', headers: {}, status_code: -1 });
  });

  it('a dead endpoint: connection_refused, and -1 for the failed fetch', async () => {
    const dead = await httpSite(pageHandler);
    await dead.close();
    const res = await post(lab.url, { http_request: `http://127.0.0.1:${dead.port}/`, tcp_connect: [`127.0.0.1:${dead.port}`] });
    const answer = res.json as ControlAnswer;
    expect(answer.dns).toEqual({ failure: null, addrs: [] });
    expect(answer.tcp_connect[`127.0.0.1:${dead.port}`]).toEqual({ status: false, failure: 'connection_refused' });
    expect(answer.http_request).toMatchObject({ status_code: -1, body_length: -1, failure: 'connection_refused' });
  });

  it('answers with a timeout when the site hangs past the request deadline', async () => {
    const hanging = await keep(httpSite(() => {}));
    const quick = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, requestTimeoutMs: 800, timeoutMs: 5000 }));
    const res = await post(quick.url, { http_request: `http://127.0.0.1:${hanging.port}/`, tcp_connect: [] });
    expect(res.status).toBe(200);
    expect((res.json as ControlAnswer).http_request).toMatchObject({ status_code: -1, failure: 'generic_timeout_error' });
  });
});

describe('the helper refuses private addresses unless allowed', () => {
  let publicHelper: RunningHelper;
  beforeAll(async () => {
    publicHelper = await keep(startHelper({ listen: '127.0.0.1:0' }));
  });

  it('refuses a URL whose host is a loopback address, without connecting', async () => {
    const before = site.connections;
    const res = await post(publicHelper.url, { http_request: `http://127.0.0.1:${site.port}/`, tcp_connect: [`127.0.0.1:${site.port}`] });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: expect.stringMatching(/private, loopback/) });
    expect(site.connections).toBe(before);
  });

  it('answers for a name that resolves to loopback with its DNS, but connects nowhere', async () => {
    const before = site.connections;
    const res = await post(publicHelper.url, { http_request: `http://localhost:${site.port}/`, tcp_connect: [`127.0.0.1:${site.port}`, `[::1]:${site.port}`] });
    expect(res.status).toBe(200);
    const answer = res.json as ControlAnswer;
    expect(answer.dns.addrs).toContain('127.0.0.1');
    expect(answer.tcp_connect[`127.0.0.1:${site.port}`]).toEqual({ status: false, failure: 'dns_bogon_error' });
    expect(answer.tcp_connect[`[::1]:${site.port}`]).toEqual({ status: false, failure: 'dns_bogon_error' });
    expect(answer.http_request).toMatchObject({ failure: 'dns_bogon_error', status_code: -1 });
    expect(site.connections).toBe(before);
  });

  it('does not follow a redirect to a refused address', async () => {
    // Only 127.0.0.2 is forbidden here, so that a loopback site can play the public one.
    const inside = await keep(httpSite(pageHandler, '127.0.0.2'));
    const redirector = await keep(
      httpSite((_req, res) => {
        res.writeHead(302, { location: `http://127.0.0.2:${inside.port}/secret` });
        res.end();
      }),
    );
    const guarded = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, forbidAddress: (ip) => ip === '127.0.0.2' }));
    const res = await post(guarded.url, { http_request: `http://127.0.0.1:${redirector.port}/`, tcp_connect: [] });
    expect((res.json as ControlAnswer).http_request).toMatchObject({ failure: 'dns_bogon_error', status_code: -1 });
    expect(redirector.requests).toEqual(['/']);
    expect(inside.connections).toBe(0);
  });
});

describe('the helper\'s limits', () => {
  it('answers 413 to a body over the limit, declared or chunked', async () => {
    const big = { http_request: 'http://localhost/', tcp_connect: [], padding: 'x'.repeat(100 * 1024) };
    expect((await post(lab.url, big)).status).toBe(413);
    expect((await post(lab.url, big, { chunked: true })).status).toBe(413);
  });

  it('answers 503 at once when the concurrency limit is reached', async () => {
    let release: (() => void) | null = null;
    const slow = await keep(
      httpSite((_req, res) => {
        release = () => pageHandler(_req, res);
      }),
    );
    const single = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, maxConcurrency: 1, timeoutMs: 5000 }));
    const first = post(single.url, { http_request: `http://127.0.0.1:${slow.port}/`, tcp_connect: [] });
    await until(() => release !== null);
    const second = await post(single.url, { http_request: `http://127.0.0.1:${slow.port}/`, tcp_connect: [] });
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('5');
    release!();
    const done = await first;
    expect(done.status).toBe(200);
    expect((done.json as ControlAnswer).http_request.status_code).toBe(200);
    expect(slow.requests).toEqual(['/']);
  });

  it('answers 400/404/405 to requests that are not control requests', async () => {
    expect((await post(lab.url, 'not json')).status).toBe(400);
    expect((await post(lab.url, [1, 2])).status).toBe(400);
    expect((await post(lab.url, { http_request: 5 })).status).toBe(400);
    expect((await post(lab.url, { http_request: 'ftp://localhost/' })).status).toBe(400);
    expect((await post(lab.url, { http_request: 'http://localhost/', tcp_connect: 'x' })).status).toBe(400);
    expect((await post(lab.url, { http_request: 'http://localhost/', http_request_headers: { a: 'b' } })).status).toBe(400);
    expect((await post(lab.url.replace(/\/$/, '/elsewhere'), {})).status).toBe(404);
    const get = await post(lab.url, '', { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('ignores endpoints that are not ip:port', () => {
    expect(parseEndpoint('127.0.0.1:80')).toEqual({ ip: '127.0.0.1', port: 80 });
    expect(parseEndpoint('[::1]:443')).toEqual({ ip: '::1', port: 443 });
    for (const bad of ['localhost:80', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '::1:443', '[nope]:1', '300.1.1.1:80']) expect(parseEndpoint(bad)).toBeNull();
  });
});

describe('the helper\'s log', () => {
  it('records status and duration, never the client address or the URL', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', pretty: false, destination: { write: (chunk: string) => lines.push(chunk) } });
    const logged = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, logger }));
    await post(logged.url, { http_request: `http://localhost:${site.port}/`, tcp_connect: [`127.0.0.1:${site.port}`] });
    await post(logged.url, 'garbage');
    await until(() => lines.length >= 2);
    const text = lines.join('');
    expect(text).toMatch(/"status":200/);
    expect(text).toMatch(/"status":400/);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('localhost');
    expect(text).not.toContain(String(site.port));
  });
});
