// Control health made visible (issue 14 §6): the read model says whether the
// control answers (from the change detector's control machine and the runs'
// summaries), `rasad status` prints it in text and JSON, and /metrics has
// rasad_control_up{url} per helper asked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlObservation } from '../../src/analysis/changes.js';
import { createChangePipeline, type ChangePipeline } from '../../src/alerts/pipeline.js';
import type { CommandIo } from '../../src/cli/command.js';
import { statusCommand } from '../../src/cli/commands/status.js';
import { Metrics } from '../../src/http/metrics.js';
import { readTargets } from '../../src/http/read-model.js';
import { Store } from '../../src/store/store.js';
import { silentLogger, storeSweep, testConfig } from '../alerts/helpers.js';
import { parseExposition } from './exposition.js';

const A = 'https://0.th.example.test/';
const B = 'https://1.th.example.test/';
const answered: ControlObservation = { asked: 2, answered: 2, helpers: [{ url: A, up: true, failure: null }] };
const unanswered: ControlObservation = {
  asked: 2,
  answered: 0,
  helpers: [
    { url: A, up: false, failure: 'connection_refused' },
    { url: B, up: false, failure: 'generic_timeout_error' },
  ],
};
const at = (h: number) => new Date(Date.UTC(2026, 2, 1, h)).toISOString();

function io(cwd: string): CommandIo & { out(): string } {
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdout.isTTY = false;
  const chunks: string[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stdout, stderr: new PassThrough(), env: {}, cwd, out: () => chunks.join('') };
}

let dir: string;
let file: string;
let store: Store;
let pipeline: ChangePipeline;

/** One web sweep as the runtime stores it: the run's summary keeps the control's health, the detector sees it too. */
async function sweep(h: number, control: ControlObservation | null): Promise<void> {
  const runId = `web-${h}`;
  const observation = storeSweep(store, runId, at(h), [
    { url: 'https://a.example.test/', category: 'NEWS', verdict: control?.answered ? 'ok' : 'inconclusive' },
    { url: 'https://b.example.test/', category: 'NEWS', verdict: 'ok' },
  ]);
  store.finishRun(runId, 'complete', { units: 2, control }, at(h));
  await pipeline.onSweep({ ...observation, control });
}

async function status(args: string[]): Promise<string> {
  const out = io(dir);
  expect(await statusCommand.run(['--db', file, '--limit', '3', ...args], out)).toBe(0);
  return out.out();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-control-'));
  file = join(dir, 'rasad.db');
  store = Store.open(file);
  const config = testConfig({ confirmSweeps: 2 });
  pipeline = createChangePipeline({ store, config, logger: silentLogger(), metrics: new Metrics(config) });
});
afterAll(async () => {
  await pipeline.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('control health in the read model and rasad status', () => {
  it('is unknown before any sweep asked a control', async () => {
    await sweep(0, null);
    expect(readTargets(store).control).toEqual({ state: 'unknown', since: null, recovering: false, last_checked: null, helpers: [] });
    expect(await status([])).toContain('\ncontrol: not asked yet (none configured, or no web sweep since it was)\n');
  });

  it('is up while a helper answers, with the last sweep that asked it', async () => {
    await sweep(1, answered);
    await sweep(2, answered);
    const control = readTargets(store).control;
    expect(control).toMatchObject({ state: 'up', last_checked: { run_id: 'web-2', at: at(2), asked: 2, answered: 2 }, helpers: [{ url: A, up: true, failure: null }] });
    expect(await status([])).toContain(`\ncontrol: answering, 2 of 2 queries answered in the sweep of 2026-03-01 02:00 UTC [${A} up]\n`);
  });

  it('is down from the first sweep no helper answers, with each helper\'s failure, in text and JSON', async () => {
    await sweep(3, unanswered);
    const control = readTargets(store).control;
    expect(control).toMatchObject({ state: 'down', since: at(3), recovering: false, last_checked: { answered: 0, asked: 2 } });
    expect(control.helpers.map((h) => h.failure)).toEqual(['connection_refused', 'generic_timeout_error']);
    const text = await status([]);
    expect(text).toContain(
      `\ncontrol: DOWN, no control answers since 2026-03-01 03:00 UTC: verdicts that need it are inconclusive [${A} connection_refused; ${B} generic_timeout_error]\n`,
    );
    expect(text).toMatch(/control\.down +rasad: no control helper answers since 2026-03-01 03:00 UTC/);
    const doc = JSON.parse(await status(['--json']));
    expect(doc.control).toMatchObject({ state: 'down', since: at(3) });
    expect(doc.events[0].kind).toBe('control.down');
  });

  it('stays down, recovering, until K sweeps got answers; then up since the first of them', async () => {
    await sweep(4, answered);
    expect(readTargets(store).control).toMatchObject({ state: 'down', since: at(3), recovering: true });
    expect(await status([])).toContain('(answering again, not yet confirmed)');
    await sweep(5, answered);
    expect(readTargets(store).control).toMatchObject({ state: 'up', since: at(4), recovering: false });
    expect(await status([])).toMatch(/\ncontrol: answering since 2026-03-01 04:00 UTC, 2 of 2 queries/);
  });
});

describe('rasad_control_up', () => {
  const up = (m: Metrics) =>
    Object.fromEntries(
      parseExposition(m.render())
        .samples.filter((s) => s.name === 'rasad_control_up')
        .map((s) => [s.labels.url, s.value]),
    );

  it('is 1 or 0 per helper from the last sweep that asked it; a helper never asked has no series', () => {
    const metrics = new Metrics({}, () => 0);
    expect(parseExposition(metrics.render()).types.get('rasad_control_up')).toBe('gauge');
    expect(up(metrics)).toEqual({});
    metrics.recordControl(answered);
    expect(up(metrics)).toEqual({ [A]: 1 });
    metrics.recordControl(unanswered);
    expect(up(metrics)).toEqual({ [A]: 0, [B]: 0 });
    // A sweep that asked nothing says nothing new.
    metrics.recordControl(null);
    expect(up(metrics)).toEqual({ [A]: 0, [B]: 0 });
    metrics.recordControl(answered);
    expect(up(metrics)).toEqual({ [A]: 1, [B]: 0 });
  });

  it('labels a helper by scheme, host and path only: no credentials or query in the exposition', () => {
    const metrics = new Metrics({}, () => 0);
    metrics.recordControl({ helpers: [{ url: 'https://user:s3cret@th.example.test/api?key=k3y', up: true }, { url: 'not a url', up: true }] });
    const text = metrics.render();
    expect(up(metrics)).toEqual({ 'https://th.example.test/api': 1 });
    expect(text).not.toMatch(/s3cret|k3y/);
  });
});
