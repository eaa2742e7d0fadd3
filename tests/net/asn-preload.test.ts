// preloadAsnTable loads the bundled IP-to-AS table in slices, so probes in
// flight beside it are not held for the whole load; a lookup made while it
// runs still answers (the table is loaded at once), and both ways give the
// same table. Each test takes a fresh copy of the module: the table is
// loaded once per process.
import { beforeEach, describe, expect, it, vi } from 'vitest';

type AsnModule = typeof import('../../src/net/asn.js');
const fresh = async (): Promise<AsnModule> => import('../../src/net/asn.js');

/** Counts the event loop's turns (setImmediate) until stopped. */
function turns() {
  let count = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    count++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { stop: () => ((running = false), count) };
}

describe('parseAsnCsvInSlices', () => {
  it('yields to the event loop at least every 4,096 rows, and gives the table parseAsnCsv gives', async () => {
    const { parseAsnCsv, parseAsnCsvInSlices } = await fresh();
    const rows = 100_000;
    const text = Array.from({ length: rows }, (_, i) => `${i * 256},${i * 256 + 255},${(i % 5000) + 1},"AS org, ${i}"`).join('\n');
    const counter = turns();
    const sliced = await parseAsnCsvInSlices(Buffer.from(text, 'latin1'), '', 0);
    const seen = counter.stop();
    // Counting the lines, then parsing them: each at most 4,096 rows between turns.
    expect(seen).toBeGreaterThanOrEqual(Math.floor((2 * rows) / 4096) - 2);
    const whole = parseAsnCsv(Buffer.from(text, 'latin1'), '');
    expect(Array.from(sliced!.v4.starts)).toEqual(Array.from(whole.v4.starts));
    expect(Array.from(sliced!.v4.asns)).toEqual(Array.from(whole.v4.asns));
    expect(sliced!.v4.starts.length).toBe(rows);
    expect(await parseAsnCsvInSlices(Buffer.from(text, 'latin1'), '', 0, () => true)).toBeNull();
  });
});

describe('preloadAsnTable', () => {
  beforeEach(() => vi.resetModules());

  it('gives the event loop turns while it loads, and the same table the synchronous load gives', async () => {
    const asn = await fresh();
    const counter = turns();
    const table = await asn.preloadAsnTable(1);
    const seen = counter.stop();
    expect(table).not.toBeNull();
    // A load that held the loop would let the counter run once or not at all.
    expect(seen).toBeGreaterThan(10);
    expect(asn.bundledAsnTable()).toBe(table);
    expect(asn.lookupAsn('1.1.1.1')).toBe(13335);

    vi.resetModules();
    const other = await fresh();
    const sync = other.bundledAsnTable()!;
    expect(Array.from(sync.v4.starts)).toEqual(Array.from(table!.v4.starts));
    expect(Array.from(sync.v4.ends)).toEqual(Array.from(table!.v4.ends));
    expect(Array.from(sync.v4.asns)).toEqual(Array.from(table!.v4.asns));
    expect(Array.from(sync.v6.asns)).toEqual(Array.from(table!.v6.asns));
  });

  it('answers a lookup made while the preload runs, and the preload ends with that table', async () => {
    const asn = await fresh();
    const preload = asn.preloadAsnTable(1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(asn.lookupAsn('8.8.8.8')).toBe(15169);
    const table = asn.bundledAsnTable();
    expect(await preload).toBe(table);
    // Once loaded, a second preload is the same table at once.
    expect(await asn.preloadAsnTable()).toBe(table);
  });
});

describe('needsAsnTable', () => {
  it('loads the table for Messenger, and for web units only when a control can answer with other addresses', async () => {
    const { needsAsnTable } = await import('../../src/runtime.js');
    const helper = ['https://helper.example/'];
    expect(needsAsnTable(['facebook_messenger'], { controls: [] })).toBe(true);
    expect(needsAsnTable(['dns', 'tcp', 'tls', 'http'], { controls: helper })).toBe(true);
    expect(needsAsnTable(['dns', 'tcp', 'tls', 'http'], { controls: [] })).toBe(false);
    expect(needsAsnTable(['tls_duration', 'throughput'], { controls: helper })).toBe(false);
  });
});
