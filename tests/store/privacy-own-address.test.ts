// Issue 16 #10, as a property: the probe's own address, planted in any
// spelling at random string positions of real measurements (header values,
// titles, body samples, failure strings, nested evidence, a key), is in no
// stored record and in no export (JSONL, CSV, OONI).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/model.js';
import { probeAddresses } from '../../src/privacy/own-addresses.js';
import { storedMeasurement } from '../../src/records/stored-record.js';
import { Store } from '../../src/store/store.js';
import { fixtureMeasurements, makeFixtureDb, runExport } from '../export/helpers.js';
import { httpHop } from '../helpers/measurements.js';
import { holdsSpelling, spellingsOf } from '../privacy/own-address-spellings.js';

const ownIp = fc.oneof(
  fc.ipV4().filter((ip) => !ip.startsWith('127.') && ip !== '0.0.0.0'),
  fc.ipV6().map((ip) => new URL(`http://[${ip}]/`).hostname.slice(1, -1)).filter((ip) => ip !== '::' && ip !== '::1' && !ip.startsWith('::ffff:') && !ip.includes('.')),
);
const prefix = fc.constantFrom('', 'Your IP is ', 'ip=', 'sid=1; ip=', '\n', '(', 'connect ECONNREFUSED ', 'http://');
const suffix = fc.constantFrom('', ':51234', ' ', ').', '; path=/', '\u2028', '/');

/** Paths to every string value in `value`, as key lists. */
function stringPaths(value: unknown, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (typeof value === 'string') out.push(path);
  else if (Array.isArray(value)) value.forEach((v, i) => stringPaths(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) stringPaths(v, [...path, k], out);
  return out;
}

function setAt(root: Record<string, unknown>, path: (string | number)[], text: string): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = text;
}

/** The fixtures, with an echoing HTTP hop added, and `plant` placed at the chosen string positions and as one key. */
function planted(ip: string, picks: { at: number; spelling: number; prefix: string; suffix: string }[]): Measurement[] {
  const spellings = spellingsOf(ip);
  const ms = structuredClone(fixtureMeasurements());
  const http = ms.find((m) => m.probe === 'http')!;
  const text = (p: (typeof picks)[number]) => `${p.prefix}${spellings[p.spelling % spellings.length]}${p.suffix}`;
  (http.details as { hops: unknown[] }).hops.push(
    httpHop({ headers: { 'x-client-ip': text(picks[0]!), 'set-cookie': text(picks[0]!), location: `http://${text(picks[0]!)}` }, title: text(picks[0]!), body_sample: text(picks[0]!), failure: text(picks[0]!) }),
  );
  http.evidence = { ...http.evidence, nested: { deeper: [{ note: text(picks[0]!) }] }, [text(picks[0]!)]: 'as a key' };
  const paths = ms.flatMap((m, i) => stringPaths(m).map((p) => [i, ...p] as (string | number)[]));
  for (const p of picks) {
    const [i, ...path] = paths[p.at % paths.length]!;
    // Not the columns the table indexes and the export groups by: they are the measurement's identity.
    if (['measurement_id', 'run_id', 'started_at', 'probe', 'verdict', 'url', 'target'].includes(String(path[0]))) continue;
    setAt(ms[i as number] as unknown as Record<string, unknown>, path, text(p));
  }
  return ms;
}

const pick = fc.record({ at: fc.nat(), spelling: fc.nat(), prefix, suffix });

afterEach(() => probeAddresses.clear());

describe('the probe\'s own address, planted anywhere', () => {
  it('is in no stored record, in any spelling', () => {
    fc.assert(
      fc.property(ownIp, fc.array(pick, { minLength: 1, maxLength: 12 }), (ip, picks) => {
        probeAddresses.clear();
        expect(probeAddresses.add(ip)).toBe(true);
        for (const m of planted(ip, picks)) {
          const stored = storedMeasurement(m);
          expect(holdsSpelling(stored.record, ip), stored.record).toBeNull();
          for (const column of [stored.failure, stored.verdictReason]) if (typeof column === 'string') expect(holdsSpelling(column, ip)).toBeNull();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is in no export, JSONL, CSV or OONI, after going through the store', async () => {
    await fc.assert(
      fc.asyncProperty(ownIp, fc.array(pick, { minLength: 1, maxLength: 8 }), async (ip, picks) => {
        probeAddresses.clear();
        probeAddresses.add(ip);
        const fx = makeFixtureDb(planted(ip, picks), []);
        try {
          const store = Store.openReadOnly(fx.db);
          const texts = store.db.prepare('SELECT record || coalesce(failure, \'\') || coalesce(verdict_reason, \'\') FROM measurements').pluck().all() as string[];
          store.close();
          for (const t of texts) expect(holdsSpelling(t, ip)).toBeNull();
          for (const format of ['jsonl', 'csv', 'ooni']) {
            const run = await runExport(['--db', fx.db, '--format', format]);
            expect(run.code, run.stderr).toBe(0);
            expect(holdsSpelling(run.stdout, ip), `${format}: ${run.stdout.slice(0, 200)}`).toBeNull();
          }
        } finally {
          fx.cleanup();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('is found by the check the properties use (the property could fail)', () => {
    // Without the own address registered, the echoing hop's Location keeps it.
    const ms = planted('81.2.69.160', [{ at: 0, spelling: 0, prefix: '', suffix: '' }]);
    const records = ms.map((m) => storedMeasurement(m).record).join('\n');
    expect(holdsSpelling(records, '81.2.69.160')).toBe('81.2.69.160');
  });
});
