// The change detector over golden verdict sequences (tests/fixtures/changes),
// straight through and with a save/load (restart) between every sweep; the
// rebuild by replaying stored rows; and properties over random sequences.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectChanges,
  initialState,
  observationsFromRows,
  replay,
  streamObservations,
  type DetectorState,
  type SweepObservation,
  type UnitKind,
} from '../../src/analysis/changes.js';
import { BLOCKING_VERDICTS, type StoredEvent, type Verdict } from '../../src/model.js';

interface FixtureInput {
  url: string;
  target?: string;
  tags: string[];
  kind?: UnitKind;
}
interface ExpectedEvent {
  sweep: number;
  kind: string;
  input: string | null;
  verdict?: string;
  confirmed_by?: number[] | { sweeps: number[]; inputs: string[]; failing_only?: boolean };
  details?: Record<string, unknown>;
}
interface Fixture {
  description: string;
  confirmSweeps: number;
  inputs: Record<string, FixtureInput>;
  sweeps: Record<string, Verdict>[];
  expected: ExpectedEvent[];
}

const FIXTURES = join(import.meta.dirname, '../fixtures/changes');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Fixture] as const);

const BASE = Date.parse('2026-11-01T00:00:00.000Z');
const atOf = (i: number) => new Date(BASE + i * 3600_000).toISOString();

function sweepsOf(fx: Fixture): SweepObservation[] {
  return fx.sweeps.map((verdicts, idx) => {
    const i = idx + 1;
    return {
      run_id: `run-${i}`,
      at: atOf(i),
      units: Object.entries(verdicts).map(([name, verdict]) => {
        const input = fx.inputs[name];
        return { target: input.target ?? input.url, url: input.url, tags: input.tags, kind: input.kind ?? 'web', verdict, measurement_ids: [`${name}@${i}`] };
      }),
    };
  });
}

/** Runs the sweeps; with `restart`, the state goes through JSON (saved and loaded) between every two sweeps. */
function run(fx: Fixture, restart: boolean): { events: (StoredEvent & { sweep: number })[]; state: DetectorState } {
  let state = initialState();
  const events: (StoredEvent & { sweep: number })[] = [];
  sweepsOf(fx).forEach((sweep, idx) => {
    const result = detectChanges(state, sweep, { confirmSweeps: fx.confirmSweeps });
    events.push(...result.events.map((e) => ({ ...e, sweep: idx + 1 })));
    state = restart ? (JSON.parse(JSON.stringify(result.state)) as DetectorState) : result.state;
  });
  return { events, state };
}

function expectedIds(fx: Fixture, e: ExpectedEvent): string[] | undefined {
  const by = e.confirmed_by;
  if (!by) return undefined;
  if (Array.isArray(by)) return by.map((s) => `${e.input}@${s}`);
  return by.sweeps.flatMap((s) =>
    by.inputs.filter((name) => {
      const v = fx.sweeps[s - 1][name];
      return v !== undefined && (!by.failing_only || v !== 'ok');
    }).map((name) => `${name}@${s}`),
  );
}

describe('change detector golden fixtures', () => {
  it('has the fixtures the issue asks for', () => {
    expect(fixtures.map(([name]) => name).sort()).toEqual(['captive', 'debounce-k2', 'debounce-k3', 'flapping', 'https-unblocked', 'mostly-blocked-is-not-shutdown', 'offline', 'shutdown']);
  });

  for (const [name, fx] of fixtures) {
    describe(name, () => {
      const urlToName = new Map(Object.entries(fx.inputs).map(([n, i]) => [i.url, n]));

      for (const restart of [false, true]) {
        it(`${fx.description} (${restart ? 'state saved and reloaded between sweeps' : 'one process'})`, () => {
          const { events } = run(fx, restart);
          expect(events.map((e) => ({ sweep: e.sweep, kind: e.kind, input: e.url ? urlToName.get(e.url) : null }))).toEqual(
            fx.expected.map((x) => ({ sweep: x.sweep, kind: x.kind, input: x.input })),
          );
          events.forEach((e, i) => {
            const x = fx.expected[i];
            if (x.verdict !== undefined) expect(e.verdict, `event ${i} verdict`).toBe(x.verdict);
            const ids = expectedIds(fx, x);
            if (ids) expect(e.measurement_ids, `event ${i} measurement ids`).toEqual(ids);
            if (x.details) expect(e.details, `event ${i} details`).toMatchObject(x.details);
            expect(e.at).toBe(atOf(x.sweep));
            expect(e.event_id).toMatch(/^[0-9a-f]{32}$/);
          });
          expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
        });
      }

      it('gives the same event ids with and without restarts', () => {
        expect(run(fx, true).events.map((e) => e.event_id)).toEqual(run(fx, false).events.map((e) => e.event_id));
      });
    });
  }
});

describe('restart recovery', () => {
  const fx = fixtures.find(([n]) => n === 'debounce-k2')![1];
  const sweeps = sweepsOf(fx);
  const opts = { confirmSweeps: fx.confirmSweeps };

  it('a sweep fed twice (a replay after a restart) yields no second event and leaves the state as it was', () => {
    const first = detectChanges(initialState(), sweeps[0], opts);
    const second = detectChanges(first.state, sweeps[1], opts);
    expect(second.events.map((e) => e.kind)).toEqual(['blocked']);
    const again = detectChanges(second.state, sweeps[1], opts);
    expect(again.events).toEqual([]);
    expect(again.state).toEqual(second.state);
  });

  it('rebuilds the state by replaying stored verdict rows, then continues without a duplicate event', () => {
    // Rows as the store holds them: one per web probe, each with the unit's verdict.
    const stored = sweeps.slice(0, 5).flatMap((s) =>
      s.units.flatMap((u) =>
        ['dns', 'tcp', 'tls', 'http'].map((probe, j) => ({
          measurement_id: `${u.measurement_ids[0]}/${probe}`,
          run_id: s.run_id,
          run_started_at: s.at,
          started_at: new Date(Date.parse(s.at) + j * 1000).toISOString(),
          target: u.target,
          url: u.url,
          probe,
          category: 'GRP',
          verdict: u.verdict,
          tags: u.tags,
        })),
      ),
    );
    // Streamed in store order (by run) or grouped from any order: the same sweeps.
    expect([...streamObservations(stored)]).toEqual(observationsFromRows(stored));
    const observations = observationsFromRows(stored.reverse());
    expect(observations.map((o) => o.run_id)).toEqual(['run-1', 'run-2', 'run-3', 'run-4', 'run-5']);
    expect(observations[0].units.find((u) => u.url === 'http://facebook.com/')!.measurement_ids).toHaveLength(4);

    const live = replay(sweeps.slice(0, 5), opts);
    const rebuilt = replay(observations, opts);
    expect(rebuilt.events.map((e) => e.event_id)).toEqual(live.events.map((e) => e.event_id));

    // The daemon restarted with the rebuilt state; sweeps 6 and 7 and a re-delivered sweep 5.
    const seen = new Set(rebuilt.events.map((e) => e.event_id));
    const after = replay([sweeps[4], sweeps[5], sweeps[6]], opts, rebuilt.state);
    expect(after.events.map((e) => `${e.kind} ${e.url}`)).toEqual(['blocked https://x.com/', 'unblocked https://www.youtube.com/']);
    for (const e of after.events) expect(seen.has(e.event_id)).toBe(false);
  });
});

describe('bad input', () => {
  it('a sweep without run_id, time or units is a clear TypeError', () => {
    expect(() => detectChanges(initialState(), { run_id: '', at: atOf(1), units: [] }, { confirmSweeps: 2 })).toThrow(/run_id/);
    expect(() => detectChanges(initialState(), { run_id: 'r', at: 'yesterday', units: [] }, { confirmSweeps: 2 })).toThrow(/"at" time/);
    expect(() => detectChanges(initialState(), { run_id: 'r', at: atOf(1), units: null as never }, { confirmSweeps: 2 })).toThrow(/units/);
    expect(() => detectChanges({ version: 9 } as never, { run_id: 'r', at: atOf(1), units: [] }, { confirmSweeps: 2 })).toThrow(/detector state/);
  });

  it('skips malformed units, and an unknown verdict neither confirms nor resets', () => {
    const unit = (verdict: string, i: number) => ({ target: 't', url: 'https://t.example/', tags: [], kind: 'web' as const, verdict: verdict as Verdict, measurement_ids: [`m${i}`] });
    const junk = [null, { url: 42 }, { url: 'https://x/', kind: 'carrier-pigeon' }] as never[];
    const { events } = replay(
      [
        { run_id: 'a', at: atOf(1), units: [unit('ok', 1), ...junk] },
        { run_id: 'b', at: atOf(2), units: [unit('ok', 2)] },
        { run_id: 'c', at: atOf(3), units: [unit('dns.injected', 3)] },
        { run_id: 'd', at: atOf(4), units: [unit('banana', 4)] },
        { run_id: 'e', at: atOf(5), units: [unit('dns.injected', 5)] },
      ],
      { confirmSweeps: Number.NaN },
    );
    expect(events.map((e) => [e.kind, e.measurement_ids])).toEqual([['blocked', ['m3', 'm5']]]);
  });

  it('does not modify the state it is given', () => {
    const state = detectChanges(initialState(), { run_id: 'a', at: atOf(1), units: [{ target: 't', url: 'https://t/', tags: [], kind: 'web', verdict: 'tls.reset', measurement_ids: ['m'] }] }, { confirmSweeps: 2 }).state;
    const copy = structuredClone(state);
    detectChanges(state, { run_id: 'b', at: atOf(2), units: [{ target: 't', url: 'https://t/', tags: [], kind: 'web', verdict: 'tls.reset', measurement_ids: ['n'] }] }, { confirmSweeps: 2 });
    expect(state).toEqual(copy);
  });
});

describe('properties over random verdict sequences', () => {
  const verdicts: Verdict[] = ['ok', 'ok', 'tls.reset', 'dns.injected', 'down', 'inconclusive'];

  it('events of an input alternate blocked/unblocked, each confirmed by exactly K agreeing sweeps, and a restart changes nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.constantFrom(...verdicts), { maxLength: 40 }), (k, seq) => {
        const sweeps: SweepObservation[] = seq.map((verdict, i) => ({
          run_id: `r${i}`,
          at: atOf(i),
          units: [{ target: 't', url: 'https://t.example/', tags: [], kind: 'web', verdict, measurement_ids: [`m${i}`] }],
        }));
        const straight = replay(sweeps, { confirmSweeps: k });
        let state = initialState();
        const restarted: string[] = [];
        for (const s of sweeps) {
          const r = detectChanges(JSON.parse(JSON.stringify(state)) as DetectorState, s, { confirmSweeps: k });
          restarted.push(...r.events.map((e) => e.event_id));
          state = r.state;
        }
        expect(restarted).toEqual(straight.events.map((e) => e.event_id));

        let last: string | null = null;
        for (const e of straight.events) {
          expect(e.kind).not.toBe(last);
          last = e.kind;
          expect(e.measurement_ids).toHaveLength(k);
          const agreeing = e.measurement_ids.map((id) => seq[Number(id.slice(1))]);
          for (const v of agreeing) expect(e.kind === 'blocked' ? BLOCKING_VERDICTS.has(v) : v === 'ok').toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
