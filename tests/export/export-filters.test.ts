// Each filter flag, alone and combined, on a real database; and the change
// events export (--events) in JSONL and CSV.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_FIELDS } from '../../src/export/records.js';
import { fixtureEvents, fixtureMeasurements, jsonLines, makeFixtureDb, runExport, type FixtureDb } from './helpers.js';

let fx: FixtureDb;
beforeAll(() => {
  fx = makeFixtureDb();
});
afterAll(() => fx.cleanup());

async function ids(...flags: string[]): Promise<string[]> {
  const { code, stdout } = await runExport(['--db', fx.db, '--format', 'jsonl', ...flags]);
  expect(code).toBe(0);
  return jsonLines(stdout)
    .map((l) => l.measurement_id as string)
    .sort();
}

function fixtureIds(keep: (m: ReturnType<typeof fixtureMeasurements>[number]) => boolean): string[] {
  return fixtureMeasurements()
    .filter(keep)
    .map((m) => m.measurement_id)
    .sort();
}

describe('measurement filters', () => {
  it('with none, exports all 14', async () => {
    expect(await ids()).toEqual(fixtureIds(() => true));
    expect(await ids()).toHaveLength(14);
  });

  it('--since keeps what started at or after it', async () => {
    expect(await ids('--since', '2025-06-01T12:00:00Z')).toEqual(fixtureIds((m) => m.probe === 'tls_duration' || m.probe === 'throughput' || m.probe === 'protocol'));
    // The same instant written in Tehran's offset.
    expect(await ids('--since', '2025-06-01T15:30:00+03:30')).toHaveLength(3);
    // Inclusive: the tls_duration measurement started at exactly 12:00:01.
    expect(await ids('--since', '2025-06-01T12:00:01Z')).toHaveLength(3);
  });

  it('--until keeps what started before it', async () => {
    expect(await ids('--until', '2025-06-01T10:00:02Z')).toEqual(fixtureIds((m) => m.url === 'http://www.bbc.com/persian'));
    // A date alone is midnight UTC: nothing was measured before 2025-06-01.
    expect(await ids('--until', '2025-06-01')).toEqual([]);
  });

  it('--since and --until together make a window', async () => {
    expect(await ids('--since', '2025-06-01T10:00:05Z', '--until', '2025-06-01T10:00:07Z')).toEqual(fixtureIds((m) => m.url === 'https://www.aparat.com/'));
  });

  it('--target matches the target as written or the input URL', async () => {
    const facebook = fixtureIds((m) => m.target === 'facebook.com');
    expect(facebook).toHaveLength(4);
    expect(await ids('--target', 'facebook.com')).toEqual(facebook);
    expect(await ids('--target', 'https://www.facebook.com/')).toEqual(facebook);
    expect(await ids('--target', 'nowhere.example')).toEqual([]);
  });

  it('--probe keeps the listed kinds', async () => {
    expect(await ids('--probe', 'dns,http')).toEqual(fixtureIds((m) => m.probe === 'dns' || m.probe === 'http'));
    expect(await ids('--probe', 'throughput')).toEqual(fixtureIds((m) => m.probe === 'throughput'));
  });

  it('--verdict keeps the listed verdicts', async () => {
    expect(await ids('--verdict', 'dns.injected,throttled')).toEqual(fixtureIds((m) => m.verdict === 'dns.injected' || m.verdict === 'throttled'));
  });

  it('--anomalies-only drops the ok measurements', async () => {
    const anomalies = fixtureIds((m) => m.verdict !== 'ok');
    expect(anomalies).toHaveLength(10);
    expect(await ids('--anomalies-only')).toEqual(anomalies);
  });

  it('combines filters, and applies them to the OONI and CSV exports too', async () => {
    expect(await ids('--anomalies-only', '--probe', 'http', '--until', '2025-06-01T11:00:00Z')).toEqual(
      fixtureIds((m) => m.verdict !== 'ok' && m.probe === 'http'),
    );
    const ooni = jsonLines((await runExport(['--db', fx.db, '--format', 'ooni', '--probe', 'dns'])).stdout);
    expect(ooni.map((l) => l.test_name)).toEqual(['web_connectivity', 'web_connectivity', 'web_connectivity']);
    for (const l of ooni) {
      const keys = l.test_keys as { queries: unknown[]; requests: unknown[]; tcp_connect: unknown[] };
      expect(keys.queries.length).toBeGreaterThan(0);
      expect(keys.requests).toEqual([]);
      expect(keys.tcp_connect).toEqual([]);
    }
    const csv = (await runExport(['--db', fx.db, '--format', 'csv', '--verdict', 'tls.session_cut'])).stdout;
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.probe)).toEqual(['tls_duration']);
  });
});

describe('--events', () => {
  it('exports the change events as JSONL, fields in order, error strings scrubbed', async () => {
    const { code, stdout } = await runExport(['--db', fx.db, '--format', 'jsonl', '--events']);
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    const expected = fixtureEvents();
    expected[0]!.details.message = 'resolver gave [scrubbed] to [scrubbed]';
    expect(lines).toEqual(expected);
    for (const line of lines) expect(Object.keys(line)).toEqual([...EVENT_FIELDS]);
  });

  it('exports them as CSV, and filters them by time and target', async () => {
    const { stdout } = await runExport(['--db', fx.db, '--format', 'csv', '--events', '--since', '2025-06-01T11:00:00Z']);
    const rows = parse(stdout, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
    expect(rows.map((r) => r.kind)).toEqual(['https_unblocked', 'shutdown']);
    expect(Object.keys(rows[0]!)).toEqual([...EVENT_FIELDS]);
    expect(JSON.parse(rows[0]!.details!)).toEqual({ http_verdict: 'http.blockpage', note: 'http, still blocked; https, "ok"' });
    expect(rows[1]!.target).toBe('');
    expect(JSON.parse(rows[1]!.measurement_ids!)).toEqual([]);

    const forTarget = jsonLines((await runExport(['--db', fx.db, '--format', 'jsonl', '--events', '--target', 'facebook.com'])).stdout);
    expect(forTarget.map((e) => e.event_id)).toEqual(['ev-0001-blocked-facebook']);
  });
});
