// The long-lived control endpoint (POST /rasad/v1/long) end to end: a real
// http.createServer on loopback with longControlRoute mounted as the helper
// mounts it, loopback targets (a TLS keep-alive server, a site, an echo
// server), and the client trying helpers in turn (404: no endpoint, 503:
// busy, a malformed answer).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { longControlRoute, noLongControl, queryLongControl, type LongRouteOptions } from '../../src/control/long/index.js';
import { makePki, type Pem } from '../helpers/certs.js';
import { startKeepAliveServer, type KeepAliveServer } from '../helpers/longlived/keepalive_server.js';
import { startEchoServer } from '../helpers/longlived/protocol_servers.js';
import { SITE_SIZES, startSiteServer } from '../helpers/longlived/site_server.js';

const HOST = 'probe.test';
let caPem: string;
let leaf: Pem;
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  const pki = makePki();
  caPem = pki.ca.cert;
  leaf = pki.leaf([HOST]);
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A helper-like server: the long route first, then 404 for anything else (as OONI's helper answers that path). */
async function helperWith(opts: LongRouteOptions | null, fallback: (res: import('node:http').ServerResponse) => void = (res) => res.writeHead(404).end()): Promise<string> {
  const route = opts ? longControlRoute(opts) : null;
  const server: Server = createServer((req, res) => {
    if (route?.(req, res)) return;
    req.resume();
    fallback(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function post(helper: string, body: unknown, method = 'POST'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(new URL('rasad/v1/long', helper), { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const never = () => new AbortController().signal;
const lab: LongRouteOptions = { allowPrivate: true, timeoutMs: 2_000 };

describe('long-lived control endpoint', () => {
  let tlsServer: KeepAliveServer;
  beforeAll(async () => {
    tlsServer = await startKeepAliveServer({ tls: leaf });
  });
  afterAll(async () => {
    await tlsServer.close();
  });

  it('holds the same TLS session for the horizon and answers with the probe record', async () => {
    const helper = await helperWith({ ...lab, extraCaPem: caPem });
    const result = await queryLongControl(
      [helper],
      { kind: 'tls_duration', url: `https://${HOST}:${tlsServer.port}/`, ip: '127.0.0.1', horizon_ms: 1500, interval_ms: 1000, plain_port: 0 },
      never(),
    );
    expect(result.failures).toEqual([]);
    expect(result.helper).toBe(helper);
    const answer = result.answer!;
    expect(answer).toMatchObject({ version: 1, kind: 'tls_duration' });
    if (answer.kind !== 'tls_duration') throw new Error('kind');
    expect(answer.result.probe).toBe('tls_duration');
    expect(answer.result.details.tls).toMatchObject({ end: 'horizon', died_after_s: null, ip: '127.0.0.1', abrupt: false });
    expect(answer.result.details.tls.requests_completed).toBeGreaterThanOrEqual(2);
    expect(answer.result.details.horizon_s).toBe(1.5);
    expect(answer.result.details.plain).toBeNull();
  });

  it('downloads the same resource, as it is, and reports its rate', async () => {
    const site = await startSiteServer();
    closers.push(() => site.close());
    const helper = await helperWith(lab);
    const { answer } = await queryLongControl([helper], { kind: 'throughput', url: `http://127.0.0.1:${site.port}/bulk.bin` }, never());
    if (answer?.kind !== 'throughput') throw new Error(`no throughput answer`);
    expect(answer.result.details.bytes).toBe(SITE_SIZES['/bulk.bin']);
    expect(answer.result.details.resource_choice).toBe('tag');
    expect(answer.result.details.status_code).toBe(200);
    expect(site.requests).toEqual(['GET /bulk.bin']);
  });

  it('sends the same junk-first flow and reports whether later data flows', async () => {
    const echo = await startEchoServer();
    closers.push(() => echo.close());
    const helper = await helperWith(lab);
    const { answer } = await queryLongControl([helper], { kind: 'protocol', endpoint: `127.0.0.1:${echo.port}` }, never());
    if (answer?.kind !== 'protocol') throw new Error('no protocol answer');
    expect(answer.result.details.ip).toBe('127.0.0.1');
    const junk = answer.result.details.flows.find((f) => f.kind === 'junk_first')!;
    expect(junk.later_data_flows).toBe(true);
    expect(junk.port).toBe(echo.port);
  });

  it('refuses loopback and private targets unless allowPrivate is set', async () => {
    const helper = await helperWith({ timeoutMs: 1_000 });
    for (const body of [
      { kind: 'protocol', endpoint: '127.0.0.1:443' },
      { kind: 'throughput', url: 'http://10.1.2.3/x' },
      { kind: 'tls_duration', url: 'https://probe.test/', ip: '::ffff:127.0.0.1', horizon_ms: 2000 },
      { kind: 'tls_duration', url: 'https://[::1]/', horizon_ms: 2000 },
    ]) {
      const { status, json } = await post(helper, body);
      expect(status, JSON.stringify(body)).toBe(403);
      expect(json.error).toMatch(/private, loopback or reserved/);
    }
  });

  it('validates every field and caps what it will hold', async () => {
    const helper = await helperWith(lab);
    const cases: [unknown, RegExp][] = [
      ['not json', /not JSON/],
      [[1], /not a JSON object/],
      [{ kind: 'dns' }, /kind must be/],
      [{ kind: 'protocol', endpoint: 'example.org:443' }, /endpoint must be/],
      [{ kind: 'protocol', endpoint: '127.0.0.1:443', extra: 1 }, /unknown field "extra"/],
      [{ kind: 'tls_duration', url: 'https://a.test/' }, /horizon_ms must be/],
      [{ kind: 'tls_duration', url: 'https://a.test/', horizon_ms: 3_600_000 }, /horizon_ms must be an integer from 1000 to 300000/],
      [{ kind: 'tls_duration', url: 'https://a.test/', horizon_ms: 5000, interval_ms: 10 }, /interval_ms/],
      [{ kind: 'tls_duration', url: 'ftp://a.test/', horizon_ms: 5000 }, /unsupported scheme/],
      [{ kind: 'tls_duration', url: 'https://a.test/', horizon_ms: 5000, path: 'x y' }, /path must be/],
      [{ kind: 'throughput', url: 'https://a.test/', max_bytes: 1e12 }, /max_bytes/],
      [{ kind: 'throughput', url: 'https://u:p@a.test/' }, /credentials/],
      [{ kind: 'throughput', url: 'https://a.test/', ip: 'a.test' }, /ip must be/],
    ];
    for (const [body, error] of cases) {
      const { status, json } = await post(helper, body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(json.error).toMatch(error);
    }
    expect((await post(helper, null, 'GET')).status).toBe(405);
    const huge = await fetch(new URL('rasad/v1/long', helper), { method: 'POST', body: 'x'.repeat(8 * 1024) });
    expect(huge.status).toBe(413);
  });

  it('answers 503 when its sessions are all taken', async () => {
    const helper = await helperWith({ ...lab, extraCaPem: caPem, maxLongSessions: 1 });
    const holding = queryLongControl([helper], { kind: 'tls_duration', url: `https://${HOST}:${tlsServer.port}/`, ip: '127.0.0.1', horizon_ms: 1500, plain_port: 0 }, never());
    await new Promise((r) => setTimeout(r, 200));
    const second = await queryLongControl([helper], { kind: 'protocol', endpoint: '127.0.0.1:1' }, never());
    expect(second.failures).toEqual([{ helper, failure: 'busy' }]);
    expect((await holding).answer).not.toBeNull();
  });
});

describe('queryLongControl', () => {
  it('skips a helper without the endpoint (404) and a busy one (503), and says why', async () => {
    const echo = await startEchoServer();
    closers.push(() => echo.close());
    const ooni = await helperWith(null);
    const busy = await helperWith(null, (res) => res.writeHead(503, { 'retry-after': '5' }).end());
    const rasad = await helperWith(lab);
    const result = await queryLongControl([ooni, busy, rasad], { kind: 'protocol', endpoint: `127.0.0.1:${echo.port}` }, never());
    expect(result.helper).toBe(rasad);
    expect(result.answer?.kind).toBe('protocol');
    expect(result.failures).toEqual([
      { helper: ooni, failure: 'no_long_endpoint' },
      { helper: busy, failure: 'busy' },
    ]);
    expect(noLongControl(result)).toBe(false);
  });

  it('says "no long-lived control" when no helper has the endpoint, and counts a malformed answer as a failure', async () => {
    const ooni = await helperWith(null);
    const liar = await helperWith(null, (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: 2, kind: 'protocol' })));
    const none = await queryLongControl([ooni], { kind: 'protocol', endpoint: '127.0.0.1:1' }, never());
    expect(none).toMatchObject({ answer: null, helper: null });
    expect(noLongControl(none)).toBe(true);
    const lied = await queryLongControl([liar, ooni], { kind: 'protocol', endpoint: '127.0.0.1:1' }, never());
    expect(lied.answer).toBeNull();
    expect(lied.failures[0]!.failure).toMatch(/^malformed_answer: version 2/);
    expect(noLongControl(lied)).toBe(false);
  });

  it('records an unreachable helper with an OONI failure string', async () => {
    const result = await queryLongControl(['http://127.0.0.1:1/'], { kind: 'protocol', endpoint: '127.0.0.1:1' }, never());
    expect(result.failures).toEqual([{ helper: 'http://127.0.0.1:1/', failure: 'connection_refused' }]);
  });
});
