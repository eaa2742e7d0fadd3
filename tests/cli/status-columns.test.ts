// `rasad status` labels its columns, and says "pending" only for an input
// whose state is still being confirmed: one that is down on every sweep (a
// verdict the change detector never confirms) shows what it is.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { inputLine } from '../../src/cli/commands/status.js';
import { Metrics } from '../../src/http/metrics.js';
import type { TargetView } from '../../src/http/read-model.js';
import { Store } from '../../src/store/store.js';
import { silentLogger, storeSweep, testConfig } from '../alerts/helpers.js';
import { rasad } from '../helpers/rasad.js';

const URLS = { ok: 'https://open.example.test/', down: 'https://gone.example.test/', turning: 'https://turning.example.test/' };

let db: string;
beforeAll(async () => {
  db = join(mkdtempSync(join(tmpdir(), 'rasad-status-columns-')), 'rasad.db');
  const store = Store.open(db);
  const config = testConfig({ confirmSweeps: 2 });
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics: new Metrics(config) });
  const sweeps: [string, 'ok' | 'tls.reset'][] = [
    ['2026-03-01T00:00:00.000Z', 'ok'],
    ['2026-03-01T01:00:00.000Z', 'ok'],
    ['2026-03-01T02:00:00.000Z', 'tls.reset'],
  ];
  for (const [i, [at, turning]] of sweeps.entries()) {
    await pipeline.onSweep(
      storeSweep(store, `r${i}`, at, [
        { url: URLS.ok, category: 'NEWS', verdict: 'ok' },
        { url: URLS.down, category: 'NEWS', verdict: 'down' },
        { url: URLS.turning, category: 'NEWS', verdict: turning },
      ]),
    );
  }
  await pipeline.stop();
  store.close();
});

describe('rasad status columns', () => {
  it('labels the columns once, above the inputs', async () => {
    const r = await rasad(['status', '--db', db, '--limit', '0']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.findIndex((l) => l.trimStart().startsWith('STATUS'));
    expect(lines[header]).toMatch(/^ {2}STATUS {3}STATE +INPUT +SINCE$/);
    expect(lines[header + 1]).toBe('NEWS (3)');
    expect(lines.filter((l) => l.includes('STATUS'))).toHaveLength(1);
  });

  it('shows an input that is down on every sweep as down, and pending only while a change is confirmed', async () => {
    const r = await rasad(['status', '--db', db, '--limit', '0']);
    const line = (url: string) => r.stdout.split('\n').find((l) => l.includes(` ${url} `)) ?? '';
    expect(line(URLS.down)).toMatch(/^ {2}other {4}down +https:\/\/gone/);
    // Confirmed ok; one tls.reset is not yet a change: the confirmed state stands.
    expect(line(URLS.turning)).toMatch(/^ {2}ok {7}ok +https:\/\/turning/);
    expect(line(URLS.ok)).toMatch(/^ {2}ok {7}ok +https:\/\/open/);
    expect(r.stdout).not.toMatch(/pending +pending/);
    expect(r.stdout).toMatch(/\n3 inputs: 0 blocked, 2 ok, 0 pending \(a change being confirmed\), 1 other \(down, inconclusive, offline or geoblocked on every sweep\)\n/);
  });
});

describe('inputLine', () => {
  const input = (kinds: TargetView['kinds']): TargetView => ({
    url: 'https://x.test/',
    group: 'websites',
    target: 'x.test',
    category: 'NEWS',
    tags: [],
    state: 'pending',
    status: 'pending',
    since: '2026-03-01T00:00:00.000Z',
    updated_at: '2026-03-01T00:00:00.000Z',
    kinds,
    unconfirmed: false,
  });
  const kind = (last: string | null, pending: { verdict: string; count: number } | null = null) => ({
    confirmed: null,
    since: null,
    last_verdict: last,
    last_at: last ? '2026-03-01T00:00:00.000Z' : null,
    pending: pending ? { ...pending, since: '2026-03-01T00:00:00.000Z' } : null,
  });

  it('says what is being confirmed, what was last seen, or that nothing was measured', () => {
    expect(inputLine(input({ web: kind('tls.reset', { verdict: 'tls.reset', count: 1 }) }))).toEqual({ status: 'pending', state: 'tls.reset? (1×)' });
    expect(inputLine(input({ web: kind('inconclusive') }))).toEqual({ status: 'other', state: 'inconclusive' });
    expect(inputLine(input({}))).toEqual({ status: 'pending', state: 'not measured' });
  });

  it('leaves a confirmed state as the read model gives it', () => {
    expect(inputLine({ ...input({}), state: 'dns.injected', status: 'blocked' })).toEqual({ status: 'blocked', state: 'dns.injected' });
  });
});
