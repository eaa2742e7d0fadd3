// The dashboard in a real browser (Debian's chromium, driven by
// playwright-core): a server holding a week of fixture sweeps, the page
// showing the targets by category, a verdict timeline per target, the events
// and the uPlot charts; no request leaves 127.0.0.1 and the CSP holds
// (no console errors). A screenshot goes to test-artifacts/dashboard.png.
// A second database has the control down: a banner says so, the event feed
// sits near the top, an input down on every sweep is not "pending", and an
// inconclusive long-lived probe does not colour an ok site's timeline.
// A third has messaging apps and circumvention tools: each is its own group
// (Websites, Messaging apps, Circumvention tools) with its own counts, and an
// app's timeline takes its own experiment's colours.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { Metrics } from '../../src/http/metrics.js';
import { EVENT_COLORS, VERDICT_COLORS } from '../../src/http/assets/palette.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import { Store } from '../../src/store/store.js';
import { SCENARIO_URLS, seedScenario, silentLogger, storeSweep, testConfig, type UnitSpec } from '../alerts/helpers.js';

const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

let dir: string;
let store: Store;
let server: RunningHttpServer;
let context: BrowserContext;
let controlDown: { store: Store; server: RunningHttpServer; downSince: string };
let groups: { store: Store; server: RunningHttpServer };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-dashboard-'));
  store = Store.open(join(dir, 'rasad.db'));
  const config = testConfig({ confirmSweeps: 2 });
  const metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics });
  await seedScenario(store, pipeline);
  await pipeline.stop();
  server = await startHttpServer({ store, config: { http: { ...config.http, port: 0 } }, metrics, logger: silentLogger() });
  controlDown = await startControlDownServer();
  groups = await startGroupsServer();
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
  await controlDown?.server.close();
  controlDown?.store.close();
  await groups?.server.close();
  groups?.store.close();
  rmSync(dir, { recursive: true, force: true });
});

const DOWN_URLS = { open: 'https://open.example.test/', gone: 'https://gone.example.test/', slow: 'https://slow.example.test/' };

/** Six hourly web sweeps ending now, a long sweep every third hour, the control unreachable in the last two. */
async function startControlDownServer(): Promise<{ store: Store; server: RunningHttpServer; downSince: string }> {
  const db = Store.open(join(dir, 'control-down.db'));
  const config = testConfig({ confirmSweeps: 2 });
  const metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store: db, config, logger: silentLogger(), metrics });
  const hours = 6;
  const at = (h: number) => new Date(Date.now() - (hours - h) * 3600_000).toISOString();
  for (let h = 0; h < hours; h++) {
    const down = h >= hours - 2;
    const units: UnitSpec[] = [
      { url: DOWN_URLS.open, category: 'NEWS', verdict: 'ok' },
      { url: DOWN_URLS.gone, category: 'NEWS', verdict: 'down' },
      { url: DOWN_URLS.slow, category: 'MMED', verdict: 'ok' },
    ];
    const control = down
      ? { asked: 3, answered: 0, helpers: [{ url: 'https://0.th.example.test/', up: false, failure: 'connection_reset' }] }
      : { asked: 3, answered: 3, helpers: [{ url: 'https://0.th.example.test/', up: true, failure: null }] };
    const observation = storeSweep(db, `web-${h}`, at(h), units);
    db.finishRun(`web-${h}`, 'complete', { units: units.length, control }, at(h));
    await pipeline.onSweep({ ...observation, control });
    if (h % 3 === 1) {
      const long = storeSweep(db, `long-${h}`, new Date(Date.parse(at(h)) + 60_000).toISOString(), [{ url: DOWN_URLS.slow, category: 'MMED', kind: 'throughput', verdict: 'inconclusive' }]);
      await pipeline.onSweep(long);
    }
  }
  await pipeline.stop();
  const running = await startHttpServer({ store: db, config: { http: { ...config.http, port: 0 } }, metrics, logger: silentLogger() });
  return { store: db, server: running, downSince: at(hours - 2) };
}

const GROUP_URLS = {
  news: 'https://news.example.test/',
  torSite: 'https://www.torproject.example.test/',
  telegram: 'app://telegram',
  whatsapp: 'app://whatsapp',
  tor: 'tor://192.0.2.10:9001?fingerprint=9695DFC35FFEB861329B9F1AB04C46397020CE31',
  openvpn: 'openvpn+udp://vpn.example.test:1194',
};

/** Six hourly web sweeps (a website, a circumvention-tagged website, two apps, telegram blocked from the fourth), a long sweep every third hour (tor, openvpn). */
async function startGroupsServer(): Promise<{ store: Store; server: RunningHttpServer }> {
  const db = Store.open(join(dir, 'groups.db'));
  const config = testConfig({ confirmSweeps: 2 });
  const metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store: db, config, logger: silentLogger(), metrics });
  const hours = 6;
  const at = (h: number) => new Date(Date.now() - (hours - h) * 3600_000).toISOString();
  for (let h = 0; h < hours; h++) {
    const units: UnitSpec[] = [
      { url: GROUP_URLS.news, category: 'NEWS', verdict: 'ok' },
      { url: GROUP_URLS.torSite, category: 'ANON', tags: ['circumvention'], verdict: 'ok' },
      { url: GROUP_URLS.telegram, category: 'COMT', kind: 'telegram', verdict: h < 3 ? 'ok' : 'tcp.blocked' },
      { url: GROUP_URLS.whatsapp, category: 'COMT', kind: 'whatsapp', verdict: 'ok' },
    ];
    await pipeline.onSweep(storeSweep(db, `web-${h}`, at(h), units));
    if (h % 3 === 1) {
      const long: UnitSpec[] = [
        { url: GROUP_URLS.tor, category: 'ANON', kind: 'tor', verdict: 'tcp.blocked' },
        { url: GROUP_URLS.openvpn, category: 'ANON', kind: 'openvpn', verdict: 'ok' },
      ];
      await pipeline.onSweep(storeSweep(db, `long-${h}`, new Date(Date.parse(at(h)) + 60_000).toISOString(), long));
    }
  }
  await pipeline.stop();
  const running = await startHttpServer({ store: db, config: { http: { ...config.http, port: 0 } }, metrics, logger: silentLogger() });
  return { store: db, server: running };
}

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

    // Only websites in this scenario: one group, the others left out.
    expect(await page.$$eval('#targets section.group', (els) => els.map((e) => e.getAttribute('data-group')))).toEqual(['websites']);
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

  it('with the control down: a banner says so, events near the top, no "pending" for an input down every sweep, ok cells stay green', async () => {
    const origin = new URL(controlDown.server.url).origin;
    const refused: string[] = [];
    // The newest route wins: only this server's origin is let through.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`)) return route.continue();
      refused.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(controlDown.server.url);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });

    // The banner, visible, in the first screen.
    const banner = page.locator('#control-banner');
    expect(await banner.isVisible()).toBe(true);
    const since = controlDown.downSince.slice(0, 16).replace('T', ' ');
    expect(await banner.textContent()).toContain(`No control answers since ${since} UTC: verdicts that need it are inconclusive.`);
    expect(await banner.textContent()).toContain('https://0.th.example.test/ connection_reset');
    expect((await banner.boundingBox())!.y).toBeLessThan(300);
    expect(await page.textContent('#control')).toBe('control: DOWN');

    // The event feed comes before the targets, within the first screen.
    const feed = (await page.locator('#events-panel').boundingBox())!;
    const targets = (await page.locator('#targets').boundingBox())!;
    expect(feed.y).toBeLessThan(targets.y);
    expect(feed.y).toBeLessThan(900);
    expect(await page.textContent('#events li[data-kind="control.down"] .what')).toMatch(/no control helper answers since/);

    // Legends: every verdict (site.geoblocked included) and every event kind (control.down/up included).
    const legend = await page.textContent('#legend');
    expect(legend).toContain('site.geoblocked');
    const eventLegend = await page.$$eval('#event-legend .badge', (els) => els.map((e) => e.textContent));
    expect(eventLegend).toEqual(expect.arrayContaining(['control.down', 'control.up', 'shutdown', 'blocked']));
    const controlDownColour = await page.$eval('#event-legend .k-control-down', (e) => getComputedStyle(e).backgroundColor);
    expect(controlDownColour).toBe(`rgb(${hexToRgb(EVENT_COLORS['control.down']).join(', ')})`);

    // Down on every sweep: "down", and counted as other.
    expect(await page.textContent(`tr.target-row[data-url="${DOWN_URLS.gone}"] td.state .badge`)).toBe('down');
    expect(await page.textContent('#summary .card[data-count="pending"] .value')).toBe('0');
    expect(await page.textContent('#summary .card[data-count="other"] .value')).toBe('1');
    // What the numbers count.
    expect(await page.textContent('#summary .card[data-count="targets"] .value')).toBe('3');
    expect(await page.textContent('#summary .card[data-count="units"] .value')).toBe('4');
    expect(await page.textContent('#counts')).toMatch(/circumvention-tagged ones are skipped unless probeCircumvention is on/);

    // web ok + throughput inconclusive in the same hours: every measured cell is ok green.
    const colours = await page.$eval(`tr.target-row[data-url="${DOWN_URLS.slow}"] canvas`, (canvas) => {
      const c = canvas as HTMLCanvasElement;
      const ratio = c.width / parseFloat(c.style.width);
      const row = c.getContext('2d')!.getImageData(0, Math.floor(8 * ratio), c.width, 1).data;
      const seen = new Set<string>();
      for (let slot = 0; slot < 168; slot++) {
        const x = Math.floor((slot * 3 + 1) * ratio);
        seen.add(Array.from(row.slice(x * 4, x * 4 + 3)).join(','));
      }
      return [...seen];
    });
    expect(colours).toContain(hexToRgb(VERDICT_COLORS.ok).join(','));
    expect(colours).not.toContain(hexToRgb(VERDICT_COLORS.inconclusive).join(','));

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-control-down.png'), fullPage: false });
    expect(refused).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows websites, messaging apps and circumvention tools as their own groups, each with its counts and its targets', async () => {
    const origin = new URL(groups.server.url).origin;
    const refused: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`)) return route.continue();
      refused.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(groups.server.url);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });

    // The three groups, in order, with their headings.
    const sections = await page.$$eval('#targets section.group', (els) =>
      els.map((e) => ({
        group: e.getAttribute('data-group'),
        title: e.querySelector('h3.group-title')?.firstChild?.textContent,
        count: e.querySelector('h3.group-title .count')?.textContent,
        urls: [...e.querySelectorAll('tr.target-row')].map((r) => r.getAttribute('data-url')).sort(),
      })),
    );
    expect(sections.map((s) => [s.group, s.title])).toEqual([
      ['websites', 'Websites'],
      ['apps', 'Messaging apps'],
      ['tools', 'Circumvention tools'],
    ]);
    // Each with the right targets: app:// inputs in apps; tor, openvpn and the circumvention-tagged site in tools.
    expect(sections.map((s) => s.urls)).toEqual([
      [GROUP_URLS.news],
      [GROUP_URLS.telegram, GROUP_URLS.whatsapp],
      [GROUP_URLS.openvpn, GROUP_URLS.tor, GROUP_URLS.torSite].sort(),
    ]);
    // Each with its own counts.
    expect(sections[0]!.count).toMatch(/^1 input of 1 target · 0 blocked · 1 ok/);
    expect(sections[1]!.count).toMatch(/^2 inputs of 2 targets · 1 blocked · 1 ok · 0 pending · 0 other · units: (telegram 1, whatsapp 1|whatsapp 1, telegram 1)$/);
    expect(sections[2]!.count).toMatch(/^3 inputs of 3 targets · 1 blocked · 2 ok/);
    expect(await page.textContent(`tr.target-row[data-url="${GROUP_URLS.telegram}"] td.state .badge`)).toBe('tcp.blocked');
    expect(await page.textContent(`tr.target-row[data-url="${GROUP_URLS.tor}"] td.state .badge`)).toBe('tcp.blocked');
    // The badge is the tool's own experiment's state: not repeated as a per-experiment line.
    expect(await page.$$eval(`tr.target-row[data-url="${GROUP_URLS.tor}"] .kinds`, (els) => els.length)).toBe(0);

    // telegram's timeline: its own experiment's ok, then its tcp.blocked; tor's only tcp.blocked.
    const seen = (url: string) =>
      page.$eval(`tr.target-row[data-url="${url}"] canvas`, (canvas) => {
        const c = canvas as HTMLCanvasElement;
        const ratio = c.width / parseFloat(c.style.width);
        const row = c.getContext('2d')!.getImageData(0, Math.floor(8 * ratio), c.width, 1).data;
        const colours = new Set<string>();
        for (let slot = 0; slot < 168; slot++) {
          const x = Math.floor((slot * 3 + 1) * ratio);
          colours.add(Array.from(row.slice(x * 4, x * 4 + 3)).join(','));
        }
        return [...colours];
      });
    const telegram = await seen(GROUP_URLS.telegram);
    expect(telegram).toContain(hexToRgb(VERDICT_COLORS.ok).join(','));
    expect(telegram).toContain(hexToRgb(VERDICT_COLORS['tcp.blocked']).join(','));
    const tor = await seen(GROUP_URLS.tor);
    expect(tor).toContain(hexToRgb(VERDICT_COLORS['tcp.blocked']).join(','));
    expect(tor).not.toContain(hexToRgb(VERDICT_COLORS.ok).join(','));

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-groups.png'), fullPage: true });
    expect(refused).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
