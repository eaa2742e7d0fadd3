// The control client against real loopback helpers: rasad's own helper,
// dead and lying helpers, and hand-written OONI answers served by a tiny
// loopback server (tests/fixtures/ooni-helper/; no OONI helper is contacted).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControlAnswer, queryControl, MalformedAnswerError } from '../../src/control/client.js';
import { startHelper, type RunningHelper } from '../../src/control/helper.js';
import { makePki } from '../helpers/certs.js';
import { httpSite, httpsSite, PAGE, pageHandler, type Handler, type Site } from './sites.js';

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ooni-helper');

const open: { close(): Promise<void> }[] = [];
async function keep<T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> {
  const t = await thing;
  open.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(open.map((o) => o.close()));
});

/** A fake helper that answers every POST with `status` and `body`, and keeps the requests it got. */
async function fakeHelper(status: number, body: string, received: string[] = []): Promise<Site & { url: string }> {
  const handler: Handler = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
  };
  const site = await keep(httpSite(handler));
  return Object.assign(site, { url: `http://127.0.0.1:${site.port}/` });
}

async function deadUrl(): Promise<string> {
  const s = await httpSite(pageHandler);
  await s.close();
  return `http://127.0.0.1:${s.port}/`;
}

let helper: RunningHelper;
let site: Site;
beforeAll(async () => {
  helper = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, timeoutMs: 3000 }));
  site = await keep(httpSite(pageHandler));
});

describe('queryControl with rasad\'s helper', () => {
  it('gets the control measurement of a loopback site', async () => {
    const url = `http://localhost:${site.port}/`;
    const res = await queryControl([helper.url], { url, tcpConnect: [`127.0.0.1:${site.port}`] }, AbortSignal.timeout(20_000));
    expect(res.failures).toEqual([]);
    expect(res.helper).toBe(helper.url);
    expect(res.answer).not.toBeNull();
    expect(res.answer!.dns.addrs).toContain('127.0.0.1');
    expect(res.answer!.tcp_connect[`127.0.0.1:${site.port}`]).toEqual({ status: true, failure: null });
    expect(res.answer!.http_request).toMatchObject({ status_code: 200, title: 'Rasad Test Page', body_length: Buffer.byteLength(PAGE), failure: null });
  });

  it('falls back from a dead helper to a live one, recording why', async () => {
    const dead = await deadUrl();
    const res = await queryControl([dead, helper.url], { url: `http://127.0.0.1:${site.port}/`, tcpConnect: [] }, AbortSignal.timeout(20_000));
    expect(res.failures).toEqual([{ helper: dead, failure: 'connection_refused' }]);
    expect(res.helper).toBe(helper.url);
    expect(res.answer?.http_request.status_code).toBe(200);
  });

  it('treats a helper that refuses the URL (403) as a failure', async () => {
    const strict = await keep(startHelper({ listen: '127.0.0.1:0' }));
    const res = await queryControl([strict.url], { url: `http://127.0.0.1:${site.port}/`, tcpConnect: [] }, AbortSignal.timeout(20_000));
    expect(res).toEqual({ answer: null, helper: null, failures: [{ helper: strict.url, failure: 'http_status_403' }], health: [{ url: strict.url, up: false, failure: 'http_status_403' }] });
  });
});

describe('queryControl with helpers that lie or hang', () => {
  it('records each malformed answer as that helper\'s failure and moves on', async () => {
    const notJson = await fakeHelper(200, 'hello, I am not JSON');
    const wrongShape = await fakeHelper(200, JSON.stringify({ dns: {}, tcp_connect: {} }));
    const wrongTypes = await fakeHelper(200, JSON.stringify({ dns: { failure: null, addrs: [] }, tcp_connect: { '1.2.3.4:80': { status: 'yes' } }, http_request: {} }));
    const serverError = await fakeHelper(500, '{"error":"boom"}');
    const huge = await fakeHelper(200, JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }));
    const res = await queryControl(
      ['not a url', 'ftp://127.0.0.1/', notJson.url, wrongShape.url, wrongTypes.url, serverError.url, huge.url, helper.url],
      { url: `http://127.0.0.1:${site.port}/`, tcpConnect: [] },
      AbortSignal.timeout(20_000),
    );
    expect(res.failures.map((f) => f.failure)).toEqual([
      'malformed_answer: not a helper URL',
      'malformed_answer: unsupported helper scheme ftp:',
      'malformed_answer: the answer is not JSON',
      'malformed_answer: http_request is not an object',
      'malformed_answer: tcp_connect["1.2.3.4:80"].status is not a boolean',
      'http_status_500',
      'malformed_answer: the answer is larger than 1048576 bytes',
    ]);
    expect(res.helper).toBe(helper.url);
    expect(res.answer?.http_request.title).toBe('Rasad Test Page');
  });

  it('gives up on a helper that hangs, after its timeout', async () => {
    const hanging = await keep(httpSite(() => {}));
    const url = `http://127.0.0.1:${hanging.port}/`;
    const res = await queryControl([url], { url: 'http://news.example/', tcpConnect: [] }, AbortSignal.timeout(20_000), { timeoutMs: 300 });
    expect(res).toEqual({ answer: null, helper: null, failures: [{ helper: url, failure: 'generic_timeout_error' }], health: [{ url, up: false, failure: 'generic_timeout_error' }] });
  });

  it('stops when the caller aborts', async () => {
    const hanging = await keep(httpSite(() => {}));
    const url = `http://127.0.0.1:${hanging.port}/`;
    const controller = new AbortController();
    const pending = queryControl([url, helper.url], { url: 'http://news.example/', tcpConnect: [] }, controller.signal);
    setTimeout(() => controller.abort(), 100);
    const res = await pending;
    expect(res.answer).toBeNull();
    expect(res.failures).toEqual([
      { helper: url, failure: 'interrupted' },
      { helper: helper.url, failure: 'interrupted' },
    ]);
  });

  it('sends the OONI request shape', async () => {
    const received: string[] = [];
    const served = JSON.parse(readFileSync(join(fixtureDir, 'nxdomain.json'), 'utf8')).served;
    const fake = await fakeHelper(200, JSON.stringify(served), received);
    await queryControl([fake.url], { url: 'https://news.example/path?q=1', tcpConnect: ['151.101.1.69:443', '[2a04:4e42::81]:443'] }, AbortSignal.timeout(20_000));
    const sent = JSON.parse(received[0]!);
    expect(sent).toEqual({
      http_request: 'https://news.example/path?q=1',
      http_request_headers: { 'User-Agent': [expect.stringContaining('Mozilla/5.0')], Accept: [expect.any(String)], 'Accept-Language': [expect.any(String)] },
      tcp_connect: ['151.101.1.69:443', '[2a04:4e42::81]:443'],
    });
  });

  it('talks to an https helper when given its CA, and fails like a browser without it', async () => {
    const pki = makePki('rasad client test CA');
    const answer = JSON.parse(readFileSync(join(fixtureDir, 'spec-example.json'), 'utf8')).served;
    const secure = await keep(
      httpsSite((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      }, pki.leaf(['localhost'], { ips: ['127.0.0.1'] })),
    );
    const url = `https://127.0.0.1:${secure.port}/`;
    const trusted = await queryControl([url], { url: 'https://news.example/', tcpConnect: [] }, AbortSignal.timeout(20_000), { extraCaPem: pki.ca.cert });
    expect(trusted.answer?.http_request.title).toBe('Example Domain');
    const untrusted = await queryControl([url], { url: 'https://news.example/', tcpConnect: [] }, AbortSignal.timeout(20_000));
    expect(untrusted.failures).toEqual([{ helper: url, failure: 'ssl_unknown_authority' }]);
  });
});

describe('recorded OONI helper answers (hand-written from ts-017)', () => {
  const files = readdirSync(fixtureDir).filter((f) => f.endsWith('.json')).sort();
  it('exist', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });
  for (const file of files) {
    const fixture = JSON.parse(readFileSync(join(fixtureDir, file), 'utf8')) as { description: string; served: unknown; expected?: unknown; expected_failure?: string };
    it(`${file}: ${fixture.description}`, async () => {
      const fake = await fakeHelper(200, JSON.stringify(fixture.served));
      const res = await queryControl([fake.url], { url: 'https://news.example/', tcpConnect: [] }, AbortSignal.timeout(20_000));
      if (fixture.expected_failure) {
        expect(res).toMatchObject({ answer: null, helper: null, failures: [{ helper: fake.url, failure: fixture.expected_failure }] });
      } else {
        expect(res.failures).toEqual([]);
        expect(res.answer).toEqual(fixture.expected);
      }
    });
  }
});

describe('parseControlAnswer', () => {
  it('accepts header lists and a missing title, and rejects non-objects', () => {
    const parsed = parseControlAnswer({
      dns: { failure: null, addrs: [] },
      tcp_connect: {},
      http_request: { body_length: 3, failure: null, headers: { 'Set-Cookie': ['a=1', 'b=2'] }, status_code: 200 },
    });
    expect(parsed.http_request).toEqual({ body_length: 3, failure: null, title: '', headers: { 'Set-Cookie': 'a=1, b=2' }, status_code: 200 });
    expect(() => parseControlAnswer(null)).toThrow(MalformedAnswerError);
    expect(() => parseControlAnswer([])).toThrow(/the answer is not an object/);
    expect(() => parseControlAnswer({ dns: { failure: 3, addrs: [] }, http_request: {} })).toThrow(/dns.failure is not a string or null/);
  });
});
