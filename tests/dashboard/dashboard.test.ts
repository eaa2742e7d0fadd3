// The dashboard in a real browser (Debian's chromium, driven by
// playwright-core): a server holding a week of fixture sweeps, the page
// showing the targets by category, a verdict timeline per target, the events
// and the uPlot charts; no request leaves 127.0.0.1 and the CSP holds
// (no console errors). A screenshot goes to test-artifacts/dashboard.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { Metrics } from '../../src/http/metrics.js';
import { VERDICT_COLORS } from '../../src/http/assets/palette.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import { Store } from '../../src/store/store.js';
import { SCENARIO_URLS, seedScenario, silentLogger, testConfig } from '../alerts/helpers.js';

const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

let dir: string;
let store: Store;
let server: RunningHttpServer;
let context: BrowserContext;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-dashboard-'));
  store = Store.open(join(dir, 'rasad.db'));
  const config = testConfig({ confirmSweeps: 2 });
  const metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics });
  await seedScenario(store, pipeline);
  await pipeline.stop();
  server = await startHttpServer({ store, config: { http: { ...config.http, port: 0 } }, metrics, logger: silentLogger() });
  context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    timezoneId: 'UTC',
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

describe('dashboard in chromium', () => {
  it('shows targets by category, a timeline per target, events and charts, loading nothing from outside 127.0.0.1', async () => {
    const origin = new URL(server.url).origin;
    const requested: string[] = [];
    const refused: string[] = [];
    // Belt and braces: anything not for this server is aborted before it is sent, and recorded.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`)) return route.continue();
      refused.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));

    await page.goto(server.url);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });

    // Targets, grouped by category, each with its state.
    const categories = await page.$$eval('#targets section.category', (els) => els.map((e) => e.getAttribute('data-category')));
    expect(categories).toEqual(['COMT', 'GRP', 'HOST', 'MMED', 'NEWS', 'REFE', 'SRCH']);
    const rows = await page.$$eval('tr.target-row', (els) =>
      els.map((e) => ({ url: e.getAttribute('data-url'), state: e.querySelector('td.state .badge')?.textContent })),
    );
    expect(new Map(rows.map((r) => [r.url, r.state]))).toEqual(
      new Map([
        [SCENARIO_URLS.bazaar, 'ok'],
        [SCENARIO_URLS.fbHttp, 'http.blockpage'],
        [SCENARIO_URLS.fbHttps, 'ok'],
        [SCENARIO_URLS.instagram, 'ok'],
        [SCENARIO_URLS.github, 'ok'],
        [SCENARIO_URLS.youtube, 'tls.reset'],
        [SCENARIO_URLS.aparat, 'ok'],
        [SCENARIO_URLS.bbc, 'dns.injected'],
        [SCENARIO_URLS.wikipedia, 'ok'],
        [SCENARIO_URLS.google, 'ok'],
      ]),
    );
    expect(await page.textContent('#network')).toBe('network: normal');
    expect(await page.textContent('#summary')).toContain('Blocked3');

    // The timeline: youtube's canvas is green early in the week and a blocking colour later.
    const pixels = await page.$eval(`tr.target-row[data-url="${SCENARIO_URLS.youtube}"] canvas`, (canvas) => {
      const c = canvas as HTMLCanvasElement;
      const ctx = c.getContext('2d')!;
      const ratio = c.width / parseFloat(c.style.width);
      const row = ctx.getImageData(0, Math.floor(8 * ratio), c.width, 1).data; // one read of the middle pixel row
      const at = (slot: number) => {
        const x = Math.floor((slot * 3 + 1) * ratio);
        return Array.from(row.slice(x * 4, x * 4 + 3));
      };
      return { early: at(12), late: at(80), cssWidth: c.style.width };
    });
    expect(pixels.cssWidth).toBe(`${168 * 3}px`);
    expect(pixels.early).toEqual(hexToRgb(VERDICT_COLORS.ok));
    expect([VERDICT_COLORS['tls.reset'], VERDICT_COLORS.throttled, VERDICT_COLORS['tls.session_cut']].map(hexToRgb)).toContainEqual(pixels.late);

    // Events.
    const https = await page.textContent('#events li[data-kind="https_unblocked"] .what');
    expect(https).toContain('HTTPS unblocked for facebook.com');
    expect(await page.$$eval('#events li.event', (els) => els.length)).toBe(11);
    expect(await page.textContent('#events li[data-kind="shutdown"] .what')).toMatch(/SHUTDOWN suspected: 5 of 5 foreign inputs/);

    // uPlot charts drawn from the daemon's own copy of uPlot.
    expect(await page.$$eval('#chart-throughput .uplot canvas, #chart-tls .uplot canvas', (els) => els.length)).toBe(2);
    expect(await page.textContent('#chart-throughput .u-legend')).toContain('domestic');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    expect(refused).toEqual([]);
    expect(requested.length).toBeGreaterThanOrEqual(9);
    for (const url of requested) expect(url.startsWith(`${origin}/`), url).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
