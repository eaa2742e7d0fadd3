// Golden fixtures: every file in tests/fixtures/verdicts/ is a sweep (a list
// of UnitObservations with the records of probes/types.ts) and the verdict
// expected for each unit. Regenerate them with
// `npx tsx tests/fixtures/verdicts/build-fixtures.ts`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { judgeSweep, type UnitObservation } from '../../src/analysis/verdict.js';
import { VERDICTS, type Verdict } from '../../src/model.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'verdicts');

interface Fixture {
  description: string;
  options?: { throttleRatio?: number; cutToleranceS?: number; minCutSessions?: number; probeTimeoutMs?: number; asnTable?: Record<string, number>; throughputHistory?: Record<string, number[]>; nonexistentName?: { name: string; addresses: string[] } };
  units: UnitObservation[];
  expected: { verdict: Verdict; evidence?: Record<string, unknown> }[];
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const fixtures = files.map((file) => ({ file, fixture: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Fixture }));

// The keys of each record in probes/types.ts: a fixture that drifts from the
// real shapes fails here rather than testing something the probes never emit.
const ENVELOPE = ['probe', 'started_at', 'runtime_ms', 'failure', 'failed_operation', 'details'];
const DETAILS: Record<string, string[]> = {
  dns: ['hostname', 'resolutions', 'addresses'],
  tcp: ['connects'],
  tls: ['handshakes'],
  http: ['hops'],
  tls_duration: ['horizon_s', 'tls', 'plain'],
  throughput: ['url', 'bytes', 'duration_s', 'time_to_first_byte_ms', 'samples', 'steady_rate_bps', 'rate_cv', 'shape', 'domestic'],
  protocol: ['ip', 'flows'],
};
// Optional keys newer probes record (probes/types.ts marks them with `?`).
const OPTIONAL: Record<string, string[]> = {
  throughput: ['status_code', 'requested_url', 'redirects', 'resource_choice', 'candidates', 'complete'],
};
const NESTED: Record<string, [field: string, keys: string[]]> = {
  dns: ['resolutions', ['engine', 'resolver', 'query_type', 't0', 't', 'failure', 'rcode', 'answers', 'responses', 'bogons', 'injection_suspected']],
  tcp: ['connects', ['ip', 'port', 't0', 't', 'failure', 'connect_ms']],
  tls: ['handshakes', ['ip', 'port', 'server_name', 'innocuous', 't0', 't', 'failure', 'cert_validation', 'tls_version', 'alpn', 'handshake_ms', 'peer_certificate']],
  http: ['hops', ['url', 'ip', 't0', 't', 'failure', 'failed_operation', 'status_code', 'headers', 'title', 'body_length', 'body_truncated', 'body_sample', 'body_sha256', 'timings']],
  protocol: ['flows', ['kind', 'port', 'failure', 'later_data_flows', 'bytes_sent', 'bytes_received']],
};

describe('golden verdict fixtures', () => {
  it('cover every verdict of the vocabulary (with the app and circumvention experiments\' own golden files)', () => {
    const seen = new Set(fixtures.flatMap(({ fixture }) => fixture.expected.map((e) => e.verdict)));
    for (const other of ['apps', 'circumvention']) {
      const otherDir = join(dir, '..', other);
      for (const file of readdirSync(otherDir).filter((f) => f.endsWith('.json'))) {
        for (const m of readFileSync(join(otherDir, file), 'utf8').matchAll(/"verdict":\s*"([a-z_.]+)"/g)) seen.add(m[1] as Verdict);
      }
    }
    expect([...VERDICTS].filter((v) => !seen.has(v))).toEqual([]);
  });

  for (const { file, fixture } of fixtures) {
    describe(file, () => {
      it('holds records with the shapes of probes/types.ts', () => {
        expect(fixture.units.length).toBe(fixture.expected.length);
        for (const unit of fixture.units) {
          expect(Object.keys(unit).filter((k) => k !== 'longControl').sort()).toEqual(['attempts', 'control', 'controlFailed', 'kind', 'target', 'url']);
          expect(Object.keys(unit.target).sort()).toEqual(['category', 'inputs', 'raw', 'tags']);
          for (const attempt of unit.attempts) {
            for (const [kind, result] of Object.entries(attempt)) {
              expect(result!.probe).toBe(kind);
              expect(Object.keys(result!).sort()).toEqual([...ENVELOPE].sort());
              expect(Object.keys(result!.details as object).filter((k) => !OPTIONAL[kind]?.includes(k)).sort()).toEqual([...DETAILS[kind]!].sort());
              const nested = NESTED[kind];
              if (nested) {
                for (const item of (result!.details as unknown as Record<string, unknown[]>)[nested[0]]!) {
                  expect(Object.keys(item as object).sort()).toEqual([...nested[1]].sort());
                }
              }
            }
          }
          if (unit.control) expect(Object.keys(unit.control)).toEqual(expect.arrayContaining(['dns', 'tcp_connect', 'http_request']));
        }
      });

      it(`judges: ${fixture.description}`, () => {
        const { asnTable, throughputHistory, ...options } = fixture.options ?? {};
        // A fixture's own small IP-to-ASN table stands in for the bundled data: the judge is pure.
        const asnOf = asnTable ? (ip: string) => asnTable[ip] ?? null : undefined;
        // And its past throughput ratios (newest first) for the store's history.
        const history = throughputHistory ? (url: string) => ({ throughputRatios: throughputHistory[url] ?? [] }) : undefined;
        const results = judgeSweep(fixture.units, { fingerprints: defaultFingerprints(), ...options, asnOf, ...(history ? { history } : {}) });
        expect(results).toHaveLength(fixture.units.length);
        results.forEach((result, i) => {
          const want = fixture.expected[i]!;
          expect({ unit: i, verdict: result.verdict, reason: result.verdict_reason }).toMatchObject({ unit: i, verdict: want.verdict });
          expect(result.verdict_reason.length).toBeGreaterThan(10);
          if (want.evidence) expect(result.evidence).toMatchObject(want.evidence);
        });
      });
    });
  }
});
