// The verdict rows the change detector replays (Store.iterateVerdictRows):
// runs still running, provisional rows and the runs it is told to skip are
// left out by SQLite, so a rebuild after a large sweep does not read that
// sweep's rows only to drop them.
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { fakeMeasurement } from '../helpers/measurements.js';

function storeWithRuns(): Store {
  const store = Store.open(':memory:');
  for (const [run, at] of [['run-a', '2026-11-01T10:00:00.000Z'], ['run-b', '2026-11-01T11:00:00.000Z'], ['run-c', '2026-11-01T12:00:00.000Z']] as const) {
    store.beginRun({ run_id: run, started_at: at, probes: ['dns'], inputs_total: 2 });
    store.insertMeasurements([
      fakeMeasurement({ run_id: run, started_at: at, url: 'https://one.test/', verdict: 'ok', verdict_reason: 'fine', tags: ['x'] }),
      fakeMeasurement({ run_id: run, started_at: at, url: 'https://two.test/', verdict: 'dns.injected', verdict_reason: run === 'run-b' ? 'provisional' : 'injected' }),
    ]);
    if (run !== 'run-c') store.settleRun(run, { interrupted: false, measured: 2, summary: {} });
  }
  return store;
}

describe('iterateVerdictRows', () => {
  it('leaves out running runs, the excluded reason and the excluded runs, oldest run first', () => {
    const store = storeWithRuns();
    const rows = (filter: Parameters<Store['iterateVerdictRows']>[0]) => [...store.iterateVerdictRows(filter)].map((r) => `${r.run_id} ${r.url} ${r.verdict}`);
    expect(rows({})).toEqual(['run-a https://one.test/ ok', 'run-a https://two.test/ dns.injected', 'run-b https://one.test/ ok', 'run-b https://two.test/ dns.injected']);
    expect(rows({ excludeReason: 'provisional' })).toEqual(['run-a https://one.test/ ok', 'run-a https://two.test/ dns.injected', 'run-b https://one.test/ ok']);
    expect(rows({ excludeRunIds: ['run-a'] })).toEqual(['run-b https://one.test/ ok', 'run-b https://two.test/ dns.injected']);
    expect(rows({ excludeRunIds: ['run-a', 'run-b'] })).toEqual([]);
    expect(rows({ excludeRunIds: [] })).toHaveLength(4);
    // A run id is a value, never SQL.
    expect(rows({ excludeRunIds: ["run-a') OR ('1'='1"] })).toHaveLength(4);
    expect([...store.iterateVerdictRows({ since: '2026-11-01T10:30:00.000Z' })][0]).toMatchObject({ run_id: 'run-b', tags: ['x'] });
    store.close();
  });
});
