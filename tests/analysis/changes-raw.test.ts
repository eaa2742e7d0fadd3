// Shutdowns judged from raw failures (issue 14): with the control abroad cut
// off, every foreign verdict is inconclusive, yet the units' probes failing
// while the domestic canaries work is a shutdown.
import { describe, expect, it } from 'vitest';
import { detectChanges, initialState, type SweepUnit } from '../../src/analysis/changes.js';

const unit = (url: string, failed: boolean, extra: Partial<SweepUnit> = {}): SweepUnit => ({
  target: url, url, tags: [], kind: 'web', verdict: 'inconclusive', measurement_ids: [`m-${url}`], failed, ...extra,
});

const sweep = (runId: string, units: SweepUnit[]) => ({ run_id: runId, at: `2026-11-30T0${runId.length}:00:00.000Z`, units });

describe('shutdown from raw failures', () => {
  const foreign = ['https://a.example/', 'https://b.example/', 'https://c.example/', 'http://d.example/'];
  const domestic = [unit('https://www.aparat.example/', false, { tags: ['domestic'], verdict: 'ok' }), unit('http://shop.example.ir/', false, { tags: ['domestic'] })];

  it('confirms a shutdown when the foreign inputs fail while the canaries work, whatever the verdicts say', () => {
    const units = [...foreign.map((u) => unit(u, true)), ...domestic];
    const { events } = detectChanges(initialState(), sweep('r', units), { confirmSweeps: 1 });
    expect(events.map((e) => e.kind)).toEqual(['shutdown']);
    expect(events[0]!.details).toMatchObject({ failing: 4, foreign_inputs: 4, judged_from: 'raw failures', domestic_ok: 2 });
  });

  it('sees no shutdown when the foreign inputs are inconclusive but reached their targets', () => {
    const units = [...foreign.map((u) => unit(u, false)), ...domestic];
    expect(detectChanges(initialState(), sweep('r', units), { confirmSweeps: 1 }).events).toEqual([]);
  });

  it('sees no shutdown when the canaries fail too (that is the probe\'s own network)', () => {
    const units = [...foreign.map((u) => unit(u, true)), unit('https://www.aparat.example/', true, { tags: ['domestic'] })];
    expect(detectChanges(initialState(), sweep('r', units), { confirmSweeps: 1 }).events.map((e) => e.kind)).not.toContain('shutdown');
  });
});

describe('storage health (issue 16: a sweep that loses rows raises an event)', () => {
  const web = [unit('https://a.example/', false, { verdict: 'ok' })];
  const withStorage = (runId: string, status: 'complete' | 'partial' | 'failed' | 'interrupted', stored: number) => ({ ...sweep(runId, web), storage: { status, measured: 4, stored } });

  it('raises storage.failing on the first sweep that lost measurements, once, and storage.ok when one is stored in full', () => {
    const first = detectChanges(initialState(), withStorage('a', 'partial', 1), { confirmSweeps: 2 });
    expect(first.events.map((e) => e.kind)).toEqual(['storage.failing']);
    expect(first.events[0]!.details).toMatchObject({ status: 'partial', measured: 4, stored: 1 });
    const again = detectChanges(first.state, withStorage('bb', 'failed', 0), { confirmSweeps: 2 });
    expect(again.events).toEqual([]);
    const interrupted = detectChanges(again.state, withStorage('ccc', 'interrupted', 2), { confirmSweeps: 2 });
    expect(interrupted.events).toEqual([]);
    const back = detectChanges(interrupted.state, withStorage('dddd', 'complete', 4), { confirmSweeps: 2 });
    expect(back.events.map((e) => e.kind)).toEqual(['storage.ok']);
  });

  it('says nothing while every sweep is stored in full', () => {
    expect(detectChanges(initialState(), withStorage('a', 'complete', 4), { confirmSweeps: 2 }).events).toEqual([]);
  });
});

describe('the control while the probe\'s own network is down', () => {
  it('raises no control.down when the sweep reads as network.offline: no helper could have answered', () => {
    const offline: SweepUnit[] = ['https://a.example/', 'https://b.example/'].map((u) => unit(u, true, { verdict: 'network.offline' }));
    const observed = { ...sweep('r', offline), control: { asked: 2, answered: 0, helpers: [{ url: 'https://0.th.ooni.org/', up: false, failure: 'network_unreachable' }] } };
    const kinds = detectChanges(initialState(), observed, { confirmSweeps: 1 }).events.map((e) => e.kind);
    expect(kinds).toContain('network.offline');
    expect(kinds).not.toContain('control.down');
  });
});
