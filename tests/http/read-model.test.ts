// The read model that /api/targets, the dashboard and `rasad status` share:
// an input down on every sweep is "other" (down), not "pending", everywhere
// including /metrics; the web verdict colours a timeline cell and a
// long-lived verdict only when it is blocking; last_run is the web sweep and
// last_long_run the long one; the counts say what they count.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { Metrics } from '../../src/http/metrics.js';
import { readTargets, readTimeline, type TargetView } from '../../src/http/read-model.js';
import { Store } from '../../src/store/store.js';
import { silentLogger, storeSweep, testConfig, type UnitSpec } from '../alerts/helpers.js';
import { parseExposition } from './exposition.js';

const U = {
  open: 'https://open.example.test/',
  gone: 'https://gone.example.test/',
  turning: 'https://turning.example.test/',
  slow: 'https://slow.example.test/',
  throttledSite: 'https://throttled.example.test/',
  tcp: 'tcp://vpn.example.test:1194',
};

const NOW = new Date('2026-03-02T12:00:00.000Z');
const hour = (h: number) => new Date(NOW.getTime() - (10 - h) * 3600_000).toISOString();

function webUnits(h: number): UnitSpec[] {
  return [
    { url: U.open, target: 'open.example.test', category: 'NEWS', verdict: 'ok' },
    { url: U.gone, target: 'gone.example.test', category: 'NEWS', verdict: 'down' },
    { url: U.turning, target: 'turning.example.test', category: 'NEWS', verdict: h < 8 ? 'ok' : 'tls.reset' },
    { url: U.slow, target: 'slow.example.test', category: 'MMED', verdict: 'ok' },
    { url: U.throttledSite, target: 'throttled.example.test', category: 'MMED', verdict: 'ok' },
  ];
}

function longUnits(): UnitSpec[] {
  return [
    { url: U.slow, target: 'slow.example.test', category: 'MMED', kind: 'throughput', verdict: 'inconclusive' },
    { url: U.throttledSite, target: 'throttled.example.test', category: 'MMED', kind: 'throughput', verdict: 'throttled' },
    { url: U.tcp, target: 'vpn.example.test', category: 'ANON', kind: 'protocol', verdict: 'inconclusive' },
  ];
}

let dir: string;
let store: Store;
let metrics: Metrics;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-read-model-'));
  store = Store.open(join(dir, 'rasad.db'));
  const config = testConfig({ confirmSweeps: 2 });
  metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics, now: () => NOW });
  // Hourly web sweeps; the last long sweep starts after the last web sweep (so "the latest run" is the long one).
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

const byUrl = (view: ReturnType<typeof readTargets>) => new Map<string, TargetView>(view.categories.flatMap((c) => c.inputs.map((i) => [i.url, i])));

describe('target states', () => {
  it('an input down on every sweep is "other" with its verdict, not "pending"; a change being confirmed is pending', () => {
    const view = readTargets(store, NOW);
    const inputs = byUrl(view);
    expect(inputs.get(U.gone)).toMatchObject({ state: 'down', status: 'other' });
    expect(inputs.get(U.open)).toMatchObject({ state: 'ok', status: 'ok' });
    // tls.reset on the last sweep only: one sweep of K=2, the confirmed ok stands.
    expect(inputs.get(U.turning)).toMatchObject({ state: 'ok', status: 'ok' });
    expect(inputs.get(U.turning)!.kinds.web.pending).toMatchObject({ verdict: 'tls.reset', count: 1 });
    // Measured by the protocol experiment only, inconclusive every time.
    expect(inputs.get(U.tcp)).toMatchObject({ state: 'inconclusive', status: 'other' });
    expect(view.totals).toEqual({ inputs: 6, ok: 3, blocked: 1, pending: 0, other: 2 });
  });

  it('/metrics agrees: rasad_targets counts the never-confirmed down input as down, not pending', () => {
    const samples = parseExposition(metrics.render()).samples.filter((s) => s.name === 'rasad_targets');
    const byState = Object.fromEntries(samples.map((s) => [s.labels.state, s.value]));
    // Units: 5 web + 2 throughput + 1 protocol. ok: open, turning (confirmed ok), slow, throttled web = 4.
    expect(byState).toEqual({ ok: 4, down: 1, inconclusive: 2, throttled: 1 });
    expect(byState.pending).toBeUndefined();
  });

  it('counts say what they count: targets, inputs, and units per experiment', () => {
    expect(readTargets(store, NOW).counts).toEqual({ targets: 6, inputs: 6, units: { web: 5, throughput: 2, protocol: 1 } });
  });
});

describe('last runs', () => {
  it('last_run is the last web sweep even when a long sweep started later; last_long_run is that long sweep', () => {
    const view = readTargets(store, NOW);
    expect(view.last_run).toMatchObject({ run_id: 'web-8', started_at: hour(8), status: 'complete', units: 5 });
    expect(view.last_long_run).toMatchObject({ run_id: 'long-8', status: 'complete', units: 3 });
  });
});

describe('timeline colours', () => {
  it('the web verdict colours the cell; a long-lived verdict only when it is blocking', () => {
    const timeline = readTimeline(store, 1, NOW);
    const cells = (url: string) => timeline.inputs.find((i) => i.url === url)!.cells.filter((c) => c >= 0).map((c) => timeline.verdicts[c]);
    // web ok + throughput inconclusive in the same hour: ok, never the inconclusive yellow.
    expect(new Set(cells(U.slow))).toEqual(new Set(['ok']));
    // web ok + throughput throttled: the blocking verdict shows.
    expect(cells(U.throttledSite)).toContain('throttled');
    expect(cells(U.throttledSite)).toContain('ok');
    // An input no web probe measures is coloured by its own experiment, inconclusive included.
    expect(new Set(cells(U.tcp))).toEqual(new Set(['inconclusive']));
    expect(new Set(cells(U.gone))).toEqual(new Set(['down']));
  });
});
