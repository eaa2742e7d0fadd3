// The HTTP server over a store holding a week of sweeps: each route's JSON,
// /metrics, the static assets (uPlot from node_modules), the security
// headers, bounded and validated query values, the loopback Host rule, and
// the token when one is set.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { Metrics } from '../../src/http/metrics.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import { Store } from '../../src/store/store.js';
import { SCENARIO, SCENARIO_URLS, seedScenario, silentLogger, testConfig } from '../alerts/helpers.js';
import { parseExposition } from './exposition.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET (or other method) with any headers, Host included, to the loopback server. */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: url.port, path: url.pathname + url.search, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
const json = async (base: string, path: string, headers: Record<string, string> = {}) => {
  const r = await get(base, path, headers);
  expect(r.status, `${path}: ${r.body.slice(0, 200)}`).toBe(200);
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
  return JSON.parse(r.body);
};

const END = new Date();
const START = END.getTime() - SCENARIO.hours * 3600_000;
const hourIso = (h: number) => new Date(START + h * 3600_000).toISOString();

let dir: string;
let store: Store;
let metrics: Metrics;
let server: RunningHttpServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-http-'));
  store = Store.open(join(dir, 'rasad.db'));
  const config = testConfig({ confirmSweeps: 2 });
  metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics });
  await seedScenario(store, pipeline, END);
  await pipeline.stop();
  server = await startHttpServer({ store, config: { http: { ...config.http, port: 0 } }, metrics, logger: silentLogger() });
});

afterAll(async () => {
  await server?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('JSON API', () => {
  it('/api/targets: the current state of every input, grouped by category, with per-kind states', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const t = await json(server.url, '/api/targets');
    expect(t.network).toEqual({ mode: 'normal', since: null });
    expect(t.categories.map((c: { category: string }) => c.category)).toEqual(['COMT', 'GRP', 'HOST', 'MMED', 'NEWS', 'REFE', 'SRCH']);
    const byUrl = new Map<string, { state: string; status: string; since: string; tags: string[]; kinds: Record<string, { confirmed: string }> }>(
      t.categories.flatMap((c: { inputs: { url: string }[] }) => c.inputs.map((i) => [i.url, i])),
    );
    const U = SCENARIO_URLS;
    expect(Object.fromEntries([...byUrl].map(([u, i]) => [u, i.state]))).toEqual({
      [U.bazaar]: 'ok',
      [U.fbHttp]: 'http.blockpage',
      [U.fbHttps]: 'ok',
      [U.instagram]: 'ok',
      [U.aparat]: 'ok',
      [U.youtube]: 'tls.reset',
      [U.bbc]: 'dns.injected',
      [U.wikipedia]: 'ok',
      [U.github]: 'ok',
      [U.google]: 'ok',
    });
    expect(byUrl.get(U.youtube)!.since).toBe(hourIso(SCENARIO.youtubeBlockedFrom));
    expect(byUrl.get(U.youtube)!.kinds.tls_duration.confirmed).toBe('tls.session_cut');
    expect(byUrl.get(U.youtube)!.kinds.throughput.confirmed).toBe('throttled');
    expect(byUrl.get(U.aparat)!.tags).toEqual(['domestic']);
    // Blocked inputs first within a category.
    const grp = t.categories.find((c: { category: string }) => c.category === 'GRP');
    expect(grp.inputs[0].url).toBe(U.fbHttp);
    expect(t.totals).toEqual({ inputs: 10, ok: 7, blocked: 3, pending: 0, other: 0 });
    expect(t.last_run.status).toBe('complete');
    // Each schedule's last run: the hourly web sweep, and the long-lived one.
    expect(t.last_run).toMatchObject({ run_id: 'web-167', units: 10 });
    expect(t.last_long_run).toMatchObject({ run_id: 'long-165', units: 4 });
    expect(t.counts).toEqual({ targets: 9, inputs: 10, units: { web: 10, tls_duration: 2, throughput: 2 } });
    expect(t.control.state).toBe('unknown');
  });

  it('/api/events: newest first, filtered by since, bounded by limit, each with its text line', async () => {
    const all = await json(server.url, '/api/events');
    expect(all.events.map((e: { kind: string }) => e.kind)).toEqual([
      'network.online',
      'network.offline',
      'restored',
      'shutdown',
      'https_unblocked',
      'blocked',
      'blocked',
      'blocked',
      'blocked',
      'blocked',
      'blocked',
    ]);
    const since = await json(server.url, `/api/events?since=${encodeURIComponent(hourIso(100))}`);
    expect(since.events.map((e: { kind: string }) => e.kind)).toEqual(['network.online', 'network.offline', 'restored', 'shutdown']);
    expect(since.events[3].text).toMatch(/^rasad: SHUTDOWN suspected: 5 of 5 foreign inputs fail while 2\/2 domestic canaries work/);
    const https = all.events.find((e: { kind: string }) => e.kind === 'https_unblocked');
    expect(https).toMatchObject({ url: SCENARIO_URLS.fbHttps, verdict: 'http.blockpage', details: { http_url: SCENARIO_URLS.fbHttp } });
    expect((await json(server.url, '/api/events?limit=2')).events).toHaveLength(2);
  });

  it('/api/measurements: filtered by target and since, newest first, bounded', async () => {
    const r = await json(server.url, `/api/measurements?target=${encodeURIComponent(SCENARIO_URLS.youtube)}&limit=3`);
    expect(r.measurements).toHaveLength(3);
    for (const m of r.measurements) expect(m.url).toBe(SCENARIO_URLS.youtube);
    const times = r.measurements.map((m: { started_at: string }) => m.started_at);
    expect(times).toEqual([...times].sort().reverse());
    expect((await json(server.url, '/api/measurements')).measurements).toHaveLength(100);
    const recent = await json(server.url, `/api/measurements?since=${encodeURIComponent(hourIso(167))}&limit=1000`);
    expect(recent.measurements.length).toBe(10 * 4);
    for (const m of recent.measurements) expect(m.started_at >= hourIso(167)).toBe(true);
  });

  it('rejects bad query values with 400 and a message, never a crash', async () => {
    for (const path of ['/api/events?limit=5000', '/api/events?limit=-1', '/api/events?since=yesterday', '/api/measurements?limit=abc', '/api/timeline?days=365', `/api/measurements?target=${'x'.repeat(3000)}`]) {
      const r = await get(server.url, path);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body).error).toMatch(/limit|since|days|target/);
    }
    expect((await get(server.url, '/api/nothing')).status).toBe(404);
    const post = await get(server.url, '/api/targets', {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('/api/timeline: hourly cells per input, coloured by the worst verdict', async () => {
    const tl = await json(server.url, '/api/timeline?days=7');
    expect(tl.slots).toBe(168);
    expect(tl.slot_s).toBe(3600);
    const yt = tl.inputs.find((i: { url: string }) => i.url === SCENARIO_URLS.youtube).cells.map((c: number) => tl.verdicts[c]);
    expect(yt.slice(5, 25)).toEqual(Array(20).fill('ok'));
    for (const v of yt.slice(40, 110)) expect(['tls.reset', 'throttled', 'tls.session_cut']).toContain(v);
    expect(yt.filter((v: string) => v === 'tcp.blocked').length).toBeGreaterThanOrEqual(5); // the shutdown hours
  });

  it('/api/charts: throughput medians per sweep (domestic fast, foreign throttled) and TLS lifetimes cut at ~60 s', async () => {
    const c = await json(server.url, '/api/charts?days=7');
    expect(c.throughput.t.length).toBe(28);
    expect(c.throughput.t).toEqual([...c.throughput.t].sort((a: number, b: number) => a - b));
    for (const d of c.throughput.domestic) expect(d).toBeGreaterThan(2_000_000);
    expect(c.throughput.foreign.at(-1)).toBeLessThan(200_000);
    expect(c.throughput.foreign[0]).toBeGreaterThan(1_500_000);
    expect(c.tls.horizon_s).toBe(150);
    expect(c.tls.min_s[0]).toBe(150);
    for (const s of c.tls.min_s.slice(6)) expect(s === null || (s >= 60 && s <= 62)).toBe(true);
  });
});

describe('metrics, page and assets', () => {
  it('/metrics is the exposition of the pipeline metrics', async () => {
    const r = await get(server.url, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { samples } = parseExposition(r.body);
    const v = (kind: string) => samples.find((s) => s.name === 'rasad_events_total' && s.labels.kind === kind)?.value;
    expect(v('blocked')).toBe(6);
    expect(v('https_unblocked')).toBe(1);
    expect(v('shutdown')).toBe(1);
    expect(samples.find((s) => s.name === 'rasad_targets' && s.labels.state === 'ok')?.value).toBeGreaterThanOrEqual(4);
  });

  it('serves the page with a strict CSP, and uPlot from node_modules byte for byte', async () => {
    const page = await get(server.url, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toContain('<script src="/static/uPlot.iife.min.js" defer></script>');
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const require = createRequire(import.meta.url);
    const uplot = await get(server.url, '/static/uPlot.iife.min.js');
    expect(uplot.status).toBe(200);
    expect(uplot.body).toBe(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    const js = await get(server.url, '/static/dashboard.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).not.toMatch(/https?:\/\//);
    expect((await get(server.url, '/static/dashboard.css')).body).toContain('.v-tls-reset');
    const head = await get(server.url, '/api/targets', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('without a token, answers loopback Host names only (no DNS rebinding)', async () => {
    const port = new URL(server.url).port;
    expect((await get(server.url, '/api/targets', { host: `localhost:${port}` })).status).toBe(200);
    expect((await get(server.url, '/api/targets', { host: `[::1]:${port}` })).status).toBe(200);
    const evil = await get(server.url, '/api/targets', { host: `rebind.attacker.example:${port}` });
    expect(evil.status).toBe(403);
    expect(evil.body).not.toContain('youtube');
  });
});

describe('token', () => {
  it('refuses to start bound beyond loopback without a token (and listens on nothing)', async () => {
    await expect(
      startHttpServer({ store, config: { http: { enabled: true, bind: '0.0.0.0', port: 0, perTargetMetrics: false } }, metrics, logger: silentLogger() }),
    ).rejects.toThrow(/not loopback: set http\.token/);
  });

  it('when set, is required on every route: bearer header, ?token= (which sets a cookie), or that cookie', async () => {
    const guarded = await startHttpServer({
      store,
      config: { http: { enabled: true, bind: '127.0.0.1', port: 0, token: 'tok-3a9f', perTargetMetrics: false } },
      metrics,
      logger: silentLogger(),
    });
    try {
      for (const path of ['/', '/metrics', '/api/targets', '/api/events', '/api/measurements', '/static/dashboard.js', '/static/uPlot.iife.min.js', '/nothing']) {
        const r = await get(guarded.url, path);
        expect(r.status, path).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer realm="rasad"');
        expect((await get(guarded.url, path, { authorization: 'Bearer wrong' })).status, path).toBe(401);
      }
      expect((await get(guarded.url, '/api/targets', { authorization: 'Bearer tok-3a9f' })).status).toBe(200);
      expect((await get(guarded.url, '/metrics?token=tok-3a9f')).status).toBe(200);
      const page = await get(guarded.url, '/?token=tok-3a9f');
      expect(page.status).toBe(200);
      const cookie = String(page.headers['set-cookie']);
      expect(cookie).toMatch(/^rasad_token=tok-3a9f; HttpOnly; SameSite=Strict; Path=\/$/);
      expect((await get(guarded.url, '/static/dashboard.js', { cookie: 'rasad_token=tok-3a9f' })).status).toBe(200);
      expect((await get(guarded.url, '/api/targets', { cookie: 'rasad_token=nope' })).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });
});
