// The fixture measurement set goes into a real database and comes back out
// through `rasad export` (run in-process) in each format: JSONL fields equal
// the stored ones, CSV parsed by csv-parse equals the JSONL, OONI lines pass
// a JSON Schema written from ooni/spec, and no format shows the probe's own
// address.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import formatsPlugin from 'ajv-formats';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/model.js';
import { MEASUREMENT_FIELDS } from '../../src/export/records.js';
import {
  PROBE_OWN_ADDRESSES,
  SCHEMA_FILE,
  fixtureMeasurements,
  jsonLines,
  makeFixtureDb,
  makeFixtureDbBeforeMigration3,
  runExport,
  type FixtureDb,
} from './helpers.js';

let fx: FixtureDb;
const byTime = () => [...fixtureMeasurements()].sort((a, b) => a.started_at.localeCompare(b.started_at));
const INJECTED_UNIT = 'https://www.facebook.com/';

beforeAll(() => {
  fx = makeFixtureDb();
});
afterAll(() => fx.cleanup());

/** What the export must show of a fixture measurement: the planted addresses in error strings scrubbed, by hand. */
function scrubbedByHand(m: Measurement): Measurement {
  const copy = structuredClone(m) as Measurement & { details: any; evidence: any };
  if (m.probe === 'protocol') copy.evidence.message = 'client [scrubbed] saw no reply';
  if (m.url !== INJECTED_UNIT) return copy;
  copy.verdict_reason = 'the local resolver answered [scrubbed] (fingerprint ir_10dot10_ipv4_1) and the control resolved [scrubbed]';
  if (m.probe === 'dns') copy.evidence.message = 'probe source [scrubbed] on wlan0';
  if (m.probe === 'tcp') delete copy.details.connects[0].local_address;
  if (m.probe === 'tls') {
    copy.failure = 'unknown_failure: socket hang up after local [scrubbed]:51234 connected to [scrubbed]:443';
    copy.details.handshakes[0].failure = copy.failure;
    copy.evidence.error = 'ECONNRESET from [[scrubbed]]:51234';
  }
  if (m.probe === 'http') {
    copy.failure = 'unknown_failure: connect EHOSTUNREACH [scrubbed]';
    copy.details.hops[0].failure = copy.failure;
  }
  return copy;
}

function expectNoProbeAddress(text: string): void {
  for (const ip of PROBE_OWN_ADDRESSES) expect(text).not.toContain(ip);
  expect(text).not.toContain('local_address');
}

describe('jsonl', () => {
  it('writes every measurement, oldest first, contract fields first and equal to what was stored', async () => {
    const { code, stdout, stderr } = await runExport(['--db', fx.db, '--format', 'jsonl']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = jsonLines(stdout);
    const expected = byTime();
    expect(lines).toHaveLength(expected.length);
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual([...MEASUREMENT_FIELDS]);
      expect(line).toEqual(scrubbedByHand(expected[i]!));
    });
    expectNoProbeAddress(stdout);
    // Target addresses in structured fields are the measurement itself and stay.
    expect(stdout).toContain('"value":"10.10.34.34"');
    expect(stdout).toContain('"ip":"10.10.34.34"');
  });

  it('keeps the addresses in error strings with --include-ip, in rows stored before the scrub at storage', async () => {
    // Schema version 2, opened read-only as it is (not migrated), and the same rows after the upgrade.
    for (const upgrade of [false, true]) {
      const legacy = makeFixtureDbBeforeMigration3(fixtureMeasurements(), { upgrade });
      try {
        const { code, stdout } = await runExport(['--db', legacy.db, '--format', 'jsonl', '--include-ip']);
        expect(code).toBe(0);
        const lines = jsonLines(stdout);
        const expected = byTime();
        expect(lines).toHaveLength(expected.length);
        lines.forEach((line, i) => expect(line).toEqual(expected[i]));
        expect(stdout).toContain('192.168.1.23');
        // Without the flag the same old rows are scrubbed by the export.
        const scrubbed = await runExport(['--db', legacy.db, '--format', 'jsonl']);
        jsonLines(scrubbed.stdout).forEach((line, i) => expect(line).toEqual(scrubbedByHand(expected[i]!)));
        expectNoProbeAddress(scrubbed.stdout);
      } finally {
        legacy.cleanup();
      }
    }
  });

  it('cannot bring back with --include-ip what the store scrubbed', async () => {
    const { code, stdout } = await runExport(['--db', fx.db, '--format', 'jsonl', '--include-ip']);
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    const expected = byTime();
    lines.forEach((line, i) => expect(line).toEqual(scrubbedByHand(expected[i]!)));
    expectNoProbeAddress(stdout);
  });
});

describe('csv', () => {
  it('is RFC 4180 that csv-parse reads back into the JSONL values, awkward text included', async () => {
    const [csv, jsonl] = await Promise.all([
      runExport(['--db', fx.db, '--format', 'csv']),
      runExport(['--db', fx.db, '--format', 'jsonl']),
    ]);
    expect(csv.code).toBe(0);
    expect(csv.stdout.endsWith('\r\n')).toBe(true);
    expect(csv.stdout.split('\r\n')[0]).toBe(MEASUREMENT_FIELDS.join(','));
    // Quotes inside a field are doubled (the verdict reason quotes the fingerprint name).
    expect(csv.stdout).toContain('""ooni.ir_0""');

    const rows = parse(csv.stdout, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
    const records = jsonLines(jsonl.stdout);
    expect(rows).toHaveLength(records.length);
    const JSON_COLUMNS = new Set(['details', 'control', 'evidence', 'tags']);
    rows.forEach((row, i) => {
      const rec = records[i]!;
      expect(Object.keys(row)).toEqual([...MEASUREMENT_FIELDS]);
      for (const field of MEASUREMENT_FIELDS) {
        const value = rec[field];
        if (value === null) expect(row[field], field).toBe('');
        else if (JSON_COLUMNS.has(field)) expect(JSON.parse(row[field]!), field).toEqual(value);
        else if (typeof value === 'number') expect(Number(row[field]), field).toBe(value);
        else expect(row[field], field).toBe(value);
      }
    });
    const blockpage = rows.find((r) => r.probe === 'http' && r.verdict === 'http.blockpage')!;
    expect(blockpage.verdict_reason).toBe(
      'HTTP 403 matches blockpage fingerprint "ooni.ir_0" (iframe src="http://10.10"), title "صفحه مسدود است"\nwhile the control got 200',
    );
    const ok = rows.find((r) => r.probe === 'http' && r.verdict === 'ok')!;
    expect(JSON.parse(ok.details!).hops[1].title).toBe('آپارات - سرویس اشتراک ویدیو');
    expect(JSON.parse(ok.details!).hops[1].headers['Set-Cookie']).toBe('lang=fa; Path=/, theme=dark');
    expectNoProbeAddress(csv.stdout);
  });
});

describe('ooni', () => {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
  // ajv-formats is CommonJS: under NodeNext its default import is the module, whose `default` is the plugin.
  const addFormats = ((formatsPlugin as unknown as { default?: typeof formatsPlugin }).default ?? formatsPlugin) as unknown as (a: Ajv) => void;
  addFormats(ajv);
  const validate = ajv.compile(schema);

  it('writes one web_connectivity per web unit and one rasad_* per long-lived probe, each valid against the schema', async () => {
    const { code, stdout } = await runExport(['--db', fx.db, '--format', 'ooni']);
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    for (const line of lines) {
      const ok = validate(line);
      expect(ok, JSON.stringify(validate.errors, null, 1)).toBe(true);
    }
    const names = lines.map((l) => `${l.test_name} ${l.input}`).sort();
    expect(names).toEqual([
      'rasad_protocol_filter tcp://203.0.113.5:443',
      'rasad_throughput https://www.youtube.com/',
      'rasad_tls_duration https://www.google.com/',
      'web_connectivity http://www.bbc.com/persian',
      'web_connectivity https://www.aparat.com/',
      'web_connectivity https://www.facebook.com/',
    ]);
    for (const line of lines) {
      expect(line.probe_ip).toBe('127.0.0.1');
      expect(line.probe_asn).toBe('AS0');
      expect(line.probe_cc).toBe('ZZ');
      expect(line.data_format_version).toBe('0.2.0');
      expect(line.software_name).toBe('rasad');
      expect(line.software_version).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    }
    expectNoProbeAddress(stdout);
  });

  it('uses a schema that rejects what the spec forbids', async () => {
    const lines = jsonLines((await runExport(['--db', fx.db, '--format', 'ooni'])).stdout);
    const web = lines.find((l) => l.input === 'https://www.aparat.com/')!;
    expect(validate(web)).toBe(true);
    const broken: [string, (m: any) => void][] = [
      ['ISO time instead of OONI\'s layout', (m) => (m.measurement_start_time = '2025-06-01T10:00:05Z')],
      ['probe_asn without AS', (m) => (m.probe_asn = '58224')],
      ['unknown top-level key', (m) => (m.probe_secret = 1)],
      ['tcp_connect status without success', (m) => delete m.test_keys.tcp_connect[0].status.success],
      ['query with a key df-002 does not define', (m) => (m.test_keys.queries[0].resolver = 'x')],
      ['A answer without ipv4', (m) => delete m.test_keys.queries[0].answers[0].ipv4],
      ['blocking outside ts-017\'s values', (m) => (m.test_keys.blocking = 'maybe')],
      ['negative t', (m) => (m.test_keys.requests[0].t = -1)],
      ['failure that is not a string', (m) => (m.test_keys.tls_handshakes[0].failure = false)],
      ['missing x_rasad_verdict', (m) => delete m.test_keys.x_rasad_verdict],
    ];
    for (const [what, breakIt] of broken) {
      const copy = structuredClone(web);
      breakIt(copy);
      expect(validate(copy), what).toBe(false);
    }
  });

  it('maps verdicts to blocking/accessible and keeps rasad\'s verdict', async () => {
    const lines = jsonLines((await runExport(['--db', fx.db, '--format', 'ooni'])).stdout);
    const keys = (input: string) => lines.find((l) => l.input === input)!.test_keys as Record<string, unknown>;
    expect(keys('https://www.facebook.com/')).toMatchObject({ blocking: 'dns', accessible: false, x_rasad_verdict: 'dns.injected' });
    expect(keys('http://www.bbc.com/persian')).toMatchObject({ blocking: 'http-diff', accessible: false, x_rasad_verdict: 'http.blockpage' });
    expect(keys('https://www.aparat.com/')).toMatchObject({ blocking: false, accessible: true, x_rasad_verdict: 'ok', control_failure: null });
    expect(keys('https://www.google.com/')).toMatchObject({ x_rasad_verdict: 'tls.session_cut', horizon_s: 150 });
    expect((keys('https://www.google.com/').tls as { died_after_s: number }).died_after_s).toBe(60.21);
    expect(keys('https://www.youtube.com/')).toMatchObject({ x_rasad_verdict: 'throttled', steady_rate_bps: 8576, x_rasad_evidence: { ratio: 0.031 } });
    expect(keys('tcp://203.0.113.5:443')).toMatchObject({ x_rasad_verdict: 'protocol.filtered', ip: '203.0.113.5' });
    // The injected unit: its four measurements in one, the injected address kept as data, the error strings scrubbed.
    const fb = keys('https://www.facebook.com/');
    expect(fb.x_rasad_measurement_ids).toHaveLength(4);
    expect(fb.tcp_connect).toEqual([{ ip: '10.10.34.34', port: 443, status: { failure: 'generic_timeout_error', success: false }, t0: 1.0201, t: 11.0221, transaction_id: 3 }]);
    expect(fb.x_rasad_verdict_reason).toBe('the local resolver answered [scrubbed] (fingerprint ir_10dot10_ipv4_1) and the control resolved [scrubbed]');
    expect((fb.tls_handshakes as { failure: string }[])[0]!.failure).toBe('unknown_failure: socket hang up after local [scrubbed]:51234 connected to [scrubbed]:443');
  });

  it('puts the volunteer\'s ASN and country in when given, and in the report id', async () => {
    const lines = jsonLines((await runExport(['--db', fx.db, '--format', 'ooni', '--probe-asn', 'as58224', '--probe-cc', 'ir'])).stdout);
    for (const line of lines) {
      expect(line.probe_asn).toBe('AS58224');
      expect(line.probe_cc).toBe('IR');
      expect(line.report_id).toMatch(/^\d{8}T\d{6}Z_[a-z0-9]+_IR_58224_n1_[A-Za-z0-9]{16}$/);
    }
  });
});
