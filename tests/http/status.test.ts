// `rasad status` over a database holding a week of sweeps: the text output
// (grouped by category, since when, recent events; no terminal codes in a
// pipe), --json, --limit, the read-only open, and bad input.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { UsageError, type CommandIo } from '../../src/cli/command.js';
import { statusCommand } from '../../src/cli/commands/status.js';
import { Metrics } from '../../src/http/metrics.js';
import { Store } from '../../src/store/store.js';
import { SCENARIO_URLS, seedScenario, silentLogger, storeSweep, testConfig } from '../alerts/helpers.js';

function io(cwd: string, tty = false): CommandIo & { out(): string } {
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdout.isTTY = tty;
  const chunks: string[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stdout, stderr: new PassThrough(), env: {}, cwd, out: () => chunks.join('') };
}

let dir: string;
let file: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-status-'));
  file = join(dir, 'rasad.db');
  const store = Store.open(file);
  const config = testConfig({ confirmSweeps: 2 });
  const pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics: new Metrics(config) });
  await seedScenario(store, pipeline);
  await pipeline.stop();
  store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rasad status', () => {
  it('prints each input under its category with state and since, then the recent events, as plain text', async () => {
    const out = io(dir);
    expect(await statusCommand.run(['--db', file], out)).toBe(0);
    const text = out.out();
    expect(text).not.toContain('\x1b[');
    const lines = text.split('\n');
    expect(lines[0]).toBe(`rasad status: ${file}`);
    expect(lines[1]).toMatch(/^network: normal · last web sweep \d{4}-\d\d-\d\d \d\d:\d\d UTC \(complete, 10 units\) · last long sweep \d{4}-.* UTC \(complete, 4 units\)$/);
    expect(lines[2]).toBe('control: not asked yet (none configured, or no web sweep since it was)');
    expect(lines[3]).toBe('counts: 9 targets → 10 inputs (URLs, tcp:// endpoints) → 14 units (input × experiment: web 10, throughput 2, tls_duration 2)');
    expect(lines[4]).toMatch(/^ +targets: lines of the targets file .*circumvention-tagged ones only with probeCircumvention on.*rasad_targets counts units$/);
    expect(lines[5]).toBe('10 inputs: 3 blocked, 7 ok, 0 pending (a change being confirmed)');
    const headers = lines.filter((l) => /^[A-Z]{3,5} \(\d+\)$/.test(l));
    expect(headers).toEqual(['COMT (1)', 'GRP (3)', 'HOST (1)', 'MMED (2)', 'NEWS (1)', 'REFE (1)', 'SRCH (1)']);
    const line = (url: string) => lines.find((l) => l.includes(` ${url} `)) ?? '';
    expect(line(SCENARIO_URLS.fbHttp)).toMatch(/^ {2}BLOCKED {2}http\.blockpage +http:\/\/facebook\.com\/ +since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+ d \d+ h\)$/);
    expect(line(SCENARIO_URLS.youtube)).toMatch(/^ {2}BLOCKED {2}tls\.reset .*since .*\{tls_duration: tls\.session_cut; throughput: throttled\}$/);
    expect(line(SCENARIO_URLS.aparat)).toMatch(/^ {2}ok {7}ok .*\[domestic\] +\{throughput: ok\}$/);
    // The GRP block lists the blocked input first.
    const grp = lines.indexOf('GRP (3)');
    expect(lines[grp + 1]).toContain(SCENARIO_URLS.fbHttp);

    const events = lines.slice(lines.findIndex((l) => l.startsWith('Recent events')));
    expect(events[0]).toBe('Recent events (newest first, 10):');
    expect(events[1]).toMatch(/^ {2}\d{4}-\d\d-\d\d \d\d:\d\d UTC {2}network\.online +rasad: the probe's network is back online/);
    expect(events.some((l) => /https_unblocked +rasad: HTTPS unblocked for facebook\.com: https:\/\/facebook\.com\/ opens while http:\/\/facebook\.com\/ stays blocked \(http\.blockpage\)/.test(l))).toBe(true);
    expect(events.some((l) => /shutdown +rasad: SHUTDOWN suspected: 5 of 5 foreign inputs fail/.test(l))).toBe(true);
  });

  it('--limit bounds the events, --limit 0 shows none', async () => {
    const two = io(dir);
    await statusCommand.run(['--db', file, '--limit', '2'], two);
    expect(two.out().split('\n').filter((l) => /^ {2}\d{4}-.* UTC {2}\S/.test(l))).toHaveLength(2);
    const none = io(dir);
    await statusCommand.run(['--db', file, '--limit', '0'], none);
    expect(none.out()).toContain('No change events.');
  });

  it('--json gives the same data as one document', async () => {
    const out = io(dir);
    expect(await statusCommand.run(['--db', file, '--json', '--limit', '3'], out)).toBe(0);
    const doc = JSON.parse(out.out());
    expect(doc.database).toBe(file);
    expect(doc.totals).toEqual({ inputs: 10, ok: 7, blocked: 3, pending: 0, other: 0 });
    expect(doc.counts).toEqual({ targets: 9, inputs: 10, units: { web: 10, tls_duration: 2, throughput: 2 } });
    expect(doc.control.state).toBe('unknown');
    expect(doc.last_run.run_id).toBe('web-167');
    expect(doc.last_long_run.run_id).toBe('long-165');
    expect(doc.events.map((e: { kind: string }) => e.kind)).toEqual(['network.online', 'network.offline', 'restored']);
    expect(doc.events[0].text).toMatch(/^rasad: /);
  });

  it('colours the state only on a terminal', async () => {
    const out = io(dir, true);
    await statusCommand.run(['--db', file], out);
    expect(out.out()).toContain('\x1b[31mBLOCKED');
  });

  it('opens the database read-only: the file is byte for byte the same afterwards', async () => {
    const hash = () => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = hash();
    await statusCommand.run(['--db', file], io(dir));
    expect(hash()).toBe(before);
  });

  it('resolves a relative --db against the working directory', async () => {
    const out = io(dir);
    expect(await statusCommand.run(['--db', 'rasad.db', '--limit', '0'], out)).toBe(0);
    expect(out.out().split('\n')[0]).toBe(`rasad status: ${file}`);
  });

  it('a missing database, a bad flag or a file that is no rasad database is a one-line usage error', async () => {
    await expect(statusCommand.run(['--db', join(dir, 'nope.db')], io(dir))).rejects.toThrow(UsageError);
    await expect(statusCommand.run(['--db', join(dir, 'nope.db')], io(dir))).rejects.toThrow(/nope\.db: no such database/);
    await expect(statusCommand.run(['--limit', 'many', '--db', file], io(dir))).rejects.toThrow(/--limit/);
    await expect(statusCommand.run(['--bogus'], io(dir))).rejects.toThrow(UsageError);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not sqlite at all, just text '.repeat(200));
    await expect(statusCommand.run(['--db', junk], io(dir))).rejects.toThrow(/junk\.db/);
  });

  it('on a database no change detector has seen, shows the latest verdicts marked unconfirmed', async () => {
    const bare = join(dir, 'bare.db');
    const store = Store.open(bare);
    storeSweep(store, 'r1', '2026-11-01T00:00:00.000Z', [{ url: 'https://x.com/', category: 'GRP', verdict: 'tls.reset' }]);
    store.close();
    const out = io(dir);
    await statusCommand.run(['--db', bare], out);
    expect(out.out()).toContain('no change detection has run on this database');
    expect(out.out()).toMatch(/GRP \(1\)\n {2}BLOCKED {2}tls\.reset +https:\/\/x\.com\//);
  });
});
