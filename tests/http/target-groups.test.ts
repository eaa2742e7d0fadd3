// The groups of /api/targets (websites, messaging apps, circumvention tools):
// derived from the registry (the experiments that plan an input and their
// circumvention flag), the input's scheme and the circumvention tag; each
// group with its own counts; the timeline of an app or a tool coloured by its
// own experiment's verdict.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { EXPERIMENTS } from '../../src/experiments/registry.js';
import { Metrics } from '../../src/http/metrics.js';
import { readTargets, readTimeline } from '../../src/http/read-model.js';
import { experimentsOfInput, groupOfInput } from '../../src/http/target-groups.js';
import { Store } from '../../src/store/store.js';
import { silentLogger, storeSweep, testConfig, type UnitSpec } from '../alerts/helpers.js';

const TOR = 'tor://192.0.2.10:9001?fingerprint=9695DFC35FFEB861329B9F1AB04C46397020CE31';
const WIREGUARD = 'wireguard://192.0.2.11:51820?pubkey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const OPENVPN = 'openvpn+udp://vpn.example.test:1194';
const U = {
  news: 'https://news.example.test/',
  tcp: 'tcp://192.0.2.12:443',
  telegram: 'app://telegram',
  signal: 'app://signal',
  tor: TOR,
  wireguard: WIREGUARD,
  torSite: 'https://www.torproject.example.test/',
};

describe('groupOfInput', () => {
  it('puts web addresses and tcp endpoints in websites, app:// in apps, circumvention protocols in tools', () => {
    expect(groupOfInput(U.news, [])).toBe('websites');
    expect(groupOfInput('http://news.example.test/', ['domestic'])).toBe('websites');
    expect(groupOfInput(U.tcp, [])).toBe('websites');
    expect(groupOfInput(U.telegram, [])).toBe('apps');
    expect(groupOfInput(U.tor, [])).toBe('tools');
    expect(groupOfInput('obfs4://192.0.2.3:443?cert=x&iat-mode=0', [])).toBe('tools');
    expect(groupOfInput(OPENVPN, [])).toBe('tools');
    expect(groupOfInput(U.wireguard, [])).toBe('tools');
  });

  it('puts a circumvention-tagged target in tools, whatever its scheme', () => {
    expect(groupOfInput(U.torSite, ['circumvention'])).toBe('tools');
    expect(groupOfInput(U.tcp, ['circumvention', 'domestic'])).toBe('tools');
  });

  it('follows the registry: every experiment that plans its own app://<kind> is an app, every circumvention experiment a tool', () => {
    const apps = EXPERIMENTS.filter((e) => experimentsOfInput(`app://${e.kind}`).includes(e));
    expect(apps.length).toBeGreaterThanOrEqual(4);
    for (const e of apps) expect(groupOfInput(`app://${e.kind}`, [])).toBe('apps');
    const tools = EXPERIMENTS.filter((e) => e.circumvention);
    expect(tools.length).toBeGreaterThanOrEqual(3);
    for (const input of [U.tor, OPENVPN, U.wireguard]) expect(experimentsOfInput(input).some((e) => tools.includes(e))).toBe(true);
    // A unit kind the detector recorded for an input decides too (an input no plan picks any more).
    expect(groupOfInput('tor://gone', [], [tools[0]!.kind])).toBe('tools');
  });

  it('gives an address no experiment plans the websites group, without throwing', () => {
    expect(experimentsOfInput('not a url')).toEqual([]);
    expect(groupOfInput('not a url', [])).toBe('websites');
  });
});

const NOW = new Date('2026-03-02T12:00:00.000Z');
const hour = (h: number) => new Date(NOW.getTime() - (10 - h) * 3600_000).toISOString();

function webUnits(h: number): UnitSpec[] {
  return [
    { url: U.news, target: 'news.example.test', category: 'NEWS', verdict: 'ok' },
    { url: U.torSite, target: 'www.torproject.example.test', category: 'ANON', tags: ['circumvention'], verdict: 'ok' },
    { url: U.telegram, category: 'COMT', kind: 'telegram', verdict: h < 5 ? 'ok' : 'tcp.blocked' },
    { url: U.signal, category: 'COMT', kind: 'signal', verdict: 'ok' },
  ];
}

function longUnits(): UnitSpec[] {
  return [
    { url: U.news, target: 'news.example.test', category: 'NEWS', kind: 'throughput', verdict: 'ok' },
    { url: U.tor, category: 'ANON', kind: 'tor', verdict: 'tcp.blocked' },
    { url: U.wireguard, category: 'ANON', kind: 'wireguard', verdict: 'inconclusive' },
  ];
}

let dir: string;
let store: Store;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `rasad-groups-${process.pid}-`));
  store = Store.open(join(dir, 'rasad.db'));
  const config = testConfig({ confirmSweeps: 2 });
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics: new Metrics(config), now: () => NOW });
  for (let h = 0; h < 9; h++) {
    await pipeline.onSweep(storeSweep(store, `web-${h}`, hour(h), webUnits(h)));
    if (h % 3 === 2) await pipeline.onSweep(storeSweep(store, `long-${h}`, new Date(Date.parse(hour(h)) + 600_000).toISOString(), longUnits()));
  }
  await pipeline.stop();
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('/api/targets groups', () => {
  it('lists websites, messaging apps and circumvention tools, each with its inputs and its own counts', () => {
    const view = readTargets(store, NOW);
    expect(view.groups.map((g) => [g.group, g.label])).toEqual([
      ['websites', 'Websites'],
      ['apps', 'Messaging apps'],
      ['tools', 'Circumvention tools'],
    ]);
    const urls = Object.fromEntries(view.groups.map((g) => [g.group, g.categories.flatMap((c) => c.inputs.map((i) => i.url)).sort()]));
    expect(urls).toEqual({
      websites: [U.news],
      apps: [U.signal, U.telegram],
      tools: [U.torSite, U.tor, U.wireguard].sort(),
    });
    const [websites, apps, tools] = view.groups;
    expect(websites!.counts).toEqual({ targets: 1, inputs: 1, units: { web: 1, throughput: 1 } });
    expect(apps!.counts).toEqual({ targets: 2, inputs: 2, units: { telegram: 1, signal: 1 } });
    expect(apps!.totals).toEqual({ inputs: 2, ok: 1, blocked: 1, pending: 0, other: 0 });
    expect(tools!.counts).toEqual({ targets: 3, inputs: 3, units: { web: 1, tor: 1, wireguard: 1 } });
    expect(tools!.totals).toEqual({ inputs: 3, ok: 1, blocked: 1, pending: 0, other: 1 });
    // The page-wide numbers are the sum of the groups'; every input says its group.
    expect(view.totals.inputs).toBe(6);
    expect(view.categories.flatMap((c) => c.inputs).find((i) => i.url === U.telegram)).toMatchObject({ group: 'apps', state: 'tcp.blocked', status: 'blocked' });
  });
});

describe('timeline of apps and tools', () => {
  it("colours an app's and a tool's cells with its own experiment's verdicts", () => {
    const timeline = readTimeline(store, 1, NOW);
    const cells = (url: string) => timeline.inputs.find((i) => i.url === url)!.cells.filter((c) => c >= 0).map((c) => timeline.verdicts[c]);
    expect(cells(U.telegram)).toEqual([...Array<string>(5).fill('ok'), ...Array<string>(4).fill('tcp.blocked')]);
    expect(new Set(cells(U.signal))).toEqual(new Set(['ok']));
    expect(new Set(cells(U.tor))).toEqual(new Set(['tcp.blocked']));
    expect(new Set(cells(U.wireguard))).toEqual(new Set(['inconclusive']));
    // A circumvention-tagged website is still led by its web verdict.
    expect(new Set(cells(U.torSite))).toEqual(new Set(['ok']));
  });
});
