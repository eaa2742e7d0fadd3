// The change pipeline over a real SQLite store: events and target states are
// stored after each sweep, a restarted pipeline continues without duplicate
// events or alerts (from the saved state, from a rebuild by replay, and after
// a crash between storing a sweep and detecting on it), and the metrics follow.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { Metrics } from '../../src/http/metrics.js';
import { Store } from '../../src/store/store.js';
import { silentLogger, storeSweep, testConfig, type UnitSpec } from './helpers.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-pipeline-'));
  file = join(dir, 'rasad.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (h: number) => new Date(Date.parse('2026-11-01T00:00:00.000Z') + h * 3600_000).toISOString();
const units = (yt: UnitSpec['verdict']): UnitSpec[] => [
  { url: 'https://www.youtube.com/', category: 'MMED', verdict: yt },
  { url: 'https://www.aparat.com/', category: 'MMED', tags: ['domestic'], verdict: 'ok' },
];
// A destination that is never contacted in these tests: nothing is flushed.
const config = testConfig({ confirmSweeps: 2, webhooks: [{ url: 'http://127.0.0.1:9/never-flushed' }] });

function open() {
  const store = Store.open(file);
  const metrics = new Metrics(config);
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics, now: () => new Date(at(100)) });
  return { store, metrics, pipeline };
}

function counts(store: Store) {
  return {
    events: (store.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n,
    alerts: (store.db.prepare('SELECT count(*) AS n FROM alert_outbox').get() as { n: number }).n,
  };
}

describe('change pipeline with a store', () => {
  it('stores events, queues one alert per event and destination, saves the state and the per-input view', async () => {
    const { store, metrics, pipeline } = open();
    expect(await pipeline.onSweep(storeSweep(store, 'r1', at(1), units('ok')))).toEqual([]);
    expect(await pipeline.onSweep(storeSweep(store, 'r2', at(2), units('ok')))).toEqual([]);
    expect(await pipeline.onSweep(storeSweep(store, 'r3', at(3), units('tls.reset')))).toEqual([]);
    const events = await pipeline.onSweep(storeSweep(store, 'r4', at(4), units('tls.reset')));
    expect(events.map((e) => [e.kind, e.url, e.verdict])).toEqual([['blocked', 'https://www.youtube.com/', 'tls.reset']]);
    expect(events[0].measurement_ids).toHaveLength(8); // 4 web probes x 2 sweeps

    expect([...store.iterateEvents()].map((e) => e.event_id)).toEqual([events[0].event_id]);
    const outbox = store.db.prepare('SELECT alert_id, status, body FROM alert_outbox').all() as { alert_id: string; status: string; body: string }[];
    expect(outbox.map((r) => [r.alert_id, r.status])).toEqual([[events[0].event_id, 'pending']]);
    expect(JSON.parse(outbox[0].body)).toMatchObject({ kind: 'blocked', url: 'https://www.youtube.com/', text: expect.stringContaining('BLOCKED https://www.youtube.com/') });

    const states = store.listTargetStates();
    expect(states.map((s) => [s.url, s.state, s.since, s.category])).toEqual([
      ['https://www.aparat.com/', 'ok', at(1), 'MMED'],
      ['https://www.youtube.com/', 'tls.reset', at(3), 'MMED'],
    ]);
    expect(metrics.events.get({ kind: 'blocked' })).toBe(1);
    expect(metrics.targets.get({ state: 'tls.reset' })).toBe(1);
    expect(metrics.targets.get({ state: 'ok' })).toBe(1);
    await pipeline.stop();
    store.close();
  });

  it('a restarted daemon continues from the saved state: no duplicate event, no second alert', async () => {
    let { store, pipeline } = open();
    for (const [i, v] of (['ok', 'ok', 'tls.reset', 'tls.reset'] as const).entries()) await pipeline.onSweep(storeSweep(store, `r${i + 1}`, at(i + 1), units(v)));
    // Between sweeps 4 and 5 a streak towards ok is half way: the restart must keep it.
    const sweep5 = storeSweep(store, 'r5', at(5), units('ok'));
    await pipeline.onSweep(sweep5);
    const before = counts(store);
    expect(before).toEqual({ events: 1, alerts: 1 });
    await pipeline.stop();
    store.close();

    ({ store, pipeline } = open());
    // The last sweep delivered again (a replay) changes nothing.
    expect(await pipeline.onSweep(sweep5)).toEqual([]);
    const events = await pipeline.onSweep(storeSweep(store, 'r6', at(6), units('ok')));
    // Sweep 6 completes the streak begun before the restart (5, 6).
    expect(events.map((e) => e.kind)).toEqual(['unblocked']);
    expect(counts(store)).toEqual({ events: 2, alerts: 2 });
    await pipeline.stop();
    store.close();
  });

  it('without a saved state, rebuilds it by replaying the stored verdicts: history is stored once, never alerted', async () => {
    let { store, pipeline } = open();
    for (const [i, v] of (['ok', 'ok', 'tls.reset', 'tls.reset', 'tls.reset'] as const).entries()) await pipeline.onSweep(storeSweep(store, `r${i + 1}`, at(i + 1), units(v)));
    const blocked = [...store.iterateEvents()];
    expect(blocked.map((e) => e.kind)).toEqual(['blocked']);
    await pipeline.stop();
    // Lose the snapshot (an older database, or a crash before the first save).
    store.db.exec('DELETE FROM detector_snapshot; DELETE FROM target_states;');
    store.close();

    ({ store, pipeline } = open());
    const events = await pipeline.onSweep(storeSweep(store, 'r6', at(6), units('tls.reset')));
    expect(events).toEqual([]);
    expect([...store.iterateEvents()].map((e) => e.event_id)).toEqual(blocked.map((e) => e.event_id));
    expect(counts(store)).toEqual({ events: 1, alerts: 1 });
    expect(store.listTargetStates().find((s) => s.url === 'https://www.youtube.com/')?.state).toBe('tls.reset');
    expect(store.loadDetectorSnapshot()?.run_id).toBe('r6');
    await pipeline.stop();
    store.close();
  });

  it('catches up on a sweep stored before a crash but never detected on, and alerts its event once', async () => {
    let { store, pipeline } = open();
    for (const [i, v] of (['ok', 'ok', 'tls.reset'] as const).entries()) await pipeline.onSweep(storeSweep(store, `r${i + 1}`, at(i + 1), units(v)));
    // The daemon stored sweep 4 and died before the pipeline saw it.
    storeSweep(store, 'r4', at(4), units('tls.reset'));
    await pipeline.stop();
    store.close();

    ({ store, pipeline } = open());
    const events = await pipeline.onSweep(storeSweep(store, 'r5', at(5), units('tls.reset')));
    expect(events).toEqual([]); // sweep 5 agrees with the state confirmed by the catch-up
    const stored = [...store.iterateEvents()];
    expect(stored.map((e) => [e.kind, e.at])).toEqual([['blocked', at(4)]]);
    expect(counts(store)).toEqual({ events: 1, alerts: 1 });
    await pipeline.stop();
    store.close();
  });

  it('an invalid sweep is a clear error and changes nothing stored', async () => {
    const { store, pipeline } = open();
    await expect(pipeline.onSweep({ run_id: 'x', at: 'not a time', units: [] })).rejects.toThrow(/"at" time/);
    expect(counts(store)).toEqual({ events: 0, alerts: 0 });
    await pipeline.stop();
    store.close();
  });
});
