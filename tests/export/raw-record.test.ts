// The JSONL/CSV fast path (records rearranged as text) must give the very
// bytes of the full path (parse, scrub, stringify), or step aside (null).
// Checked on the fixtures and on generated records full of traps: error
// strings with addresses, address keys, array-index keys, escapes, odd times.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvRecord } from '../../src/export/csv.js';
import { csvFromMembers, exportMembers, jsonlFromMembers, topLevelMembers } from '../../src/export/raw-record.js';
import { MEASUREMENT_FIELDS, measurementRecord } from '../../src/export/records.js';
import type { Measurement } from '../../src/model.js';
import { fixtureMeasurements } from './helpers.js';

function fullJsonl(text: string, includeIp: boolean): string {
  return JSON.stringify(measurementRecord(JSON.parse(text) as Measurement, { includeIp })) + '\n';
}

function fullCsv(text: string, includeIp: boolean): string {
  return csvRecord(MEASUREMENT_FIELDS, measurementRecord(JSON.parse(text) as Measurement, { includeIp }));
}

/** The fast path's JSONL and CSV, or null when it steps aside; throws if it disagrees with the full path. */
function compare(text: string, includeIp: boolean): boolean {
  const members = exportMembers(text, MEASUREMENT_FIELDS, 'started_at', includeIp);
  if (members === null) return false;
  expect(jsonlFromMembers(members)).toBe(fullJsonl(text, includeIp));
  expect(csvFromMembers(members, MEASUREMENT_FIELDS)).toBe(fullCsv(text, includeIp));
  return true;
}

describe('the fast path', () => {
  it('gives the full path\'s bytes for the fixtures, scrubbing included, and handles nearly all of them', () => {
    let fast = 0;
    const texts = fixtureMeasurements().map((m) => JSON.stringify(m));
    for (const text of texts) for (const includeIp of [false, true]) if (compare(text, includeIp)) fast++;
    // All but one: the TCP measurement with a local_address, which only the full path drops.
    expect(fast).toBe(2 * texts.length - 1);
  });

  it('steps aside for what only the full path can do', () => {
    const m = fixtureMeasurements().find((x) => x.probe === 'dns')!;
    const variants: [string, string][] = [
      ['whitespace', JSON.stringify(m, null, 1)],
      ['a local time', JSON.stringify({ ...m, started_at: '2025-06-01T13:30:00+03:30' })],
      ['an impossible date', JSON.stringify({ ...m, started_at: '2025-02-30T00:00:00.000Z' })],
      ['an address key', JSON.stringify({ ...m, details: { probe_ip: '192.0.2.9' } })],
      ['an array of error strings', JSON.stringify({ ...m, evidence: { errors: ['from 192.0.2.9'] } })],
      ['an escaped error string with an address', JSON.stringify({ ...m, failure: 'unknown_failure: "quoted" 192.0.2.9' })],
      ['an array-index key', JSON.stringify({ ...m, 7: 'seven' })],
      ['a key a plain object inherits', JSON.stringify({ ...m, toString: 'x' })],
      ['a duplicate key', JSON.stringify(m).replace(/}$/, ',"probe":"tcp"}')],
      ['not an object', JSON.stringify([m])],
      ['truncated', JSON.stringify(m).slice(0, 200)],
    ];
    for (const [what, text] of variants) {
      expect(exportMembers(text, MEASUREMENT_FIELDS, 'started_at', false), what).toBeNull();
    }
    // With --include-ip nothing is scrubbed, so address keys and error arrays are no reason to step aside.
    expect(exportMembers(variants[3]![1], MEASUREMENT_FIELDS, 'started_at', true)).not.toBeNull();
  });

  it('agrees with the full path on generated records', () => {
    const ipText = fc.oneof(fc.ipV4(), fc.ipV6()).map((ip) => `connect ECONNREFUSED ${ip}:443`);
    const trickyKey = fc.constantFrom('failure', 'x_failure', 'control_failure', 'error', 'errors', 'message', 'reason', 'terror', 'failures', 'title', 'ip', 'a"b', 'k\\');
    const leaf = fc.oneof(ipText, fc.string(), fc.constantFrom('generic_timeout_error', 'x "q" 10.0.0.1', 'a\\b 10.0.0.2', '::1'), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.oneof(trickyKey, fc.string()), tie('node'), { maxKeys: 4 })),
    })).node;
    const record = fc.record(
      {
        measurement_id: fc.uuid(),
        run_id: fc.string(),
        target: fc.string(),
        url: fc.webUrl(),
        probe: fc.constantFrom('dns', 'tcp', 'tls', 'http'),
        started_at: fc.oneof(fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()), fc.string(), fc.constant(null)),
        runtime_ms: fc.double({ noNaN: true, noDefaultInfinity: true }),
        failure: fc.oneof(ipText, fc.constant(null), fc.string()),
        verdict: fc.constantFrom('ok', 'dns.injected'),
        verdict_reason: fc.oneof(ipText, fc.string()),
        details: tree,
        evidence: tree,
        control: tree,
        tags: fc.array(fc.string()),
        extra_key: tree,
      },
      { requiredKeys: ['measurement_id', 'probe', 'details'] },
    );
    let fast = 0;
    let runs = 0;
    fc.assert(
      fc.property(record, fc.boolean(), (r, includeIp) => {
        runs++;
        if (compare(JSON.stringify(r), includeIp)) fast++;
      }),
      { numRuns: 400 },
    );
    // The property would hold trivially if the fast path always stepped aside.
    expect(fast).toBeGreaterThan(runs / 4);
  });
});

describe('topLevelMembers', () => {
  it('splits a compact object into its members without parsing them', () => {
    const members = topLevelMembers('{"a":{"b":[1,"}]\\""]},"c":"x,y","d":-1.5e3,"e":null,"f":[]}');
    expect(members).toEqual({ keys: ['a', 'c', 'd', 'e', 'f'], values: ['{"b":[1,"}]\\""]}', '"x,y"', '-1.5e3', 'null', '[]'] });
    expect(topLevelMembers('{}')).toEqual({ keys: [], values: [] });
  });

  it.each(['', '{', '{"a":1', '{"a" :1}', '{"a":}', '{"a":1,}', '[1]', '{"a":"x}', '{"a":1}}', 'null'])('returns null for %j', (text) => {
    expect(topLevelMembers(text)).toBeNull();
  });
});
