// The control's health, end to end on loopback: real probes, the real control
// client and a real `rasad helper`. An unreachable control gives honest
// `inconclusive` verdicts and one control.down event, never an error; when it
// answers again for K sweeps, one control.up.
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { detectChanges, initialState, type DetectorState } from '../../src/analysis/changes.js';
import { needsRetry, startSweepJudgement } from '../../src/analysis/verdict.js';
import { defaultConfig } from '../../src/config/schema.js';
import { queryControl } from '../../src/control/client.js';
import { startHelper } from '../../src/control/helper.js';
import { PROBES } from '../../src/experiments/registry.js';
import { toObservation } from '../../src/runtime.js';
import { Store } from '../../src/store/store.js';
import { runSweep } from '../../src/sweep/run.js';
import { idTimeMs, V7_ID } from '../helpers/ids.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { rawHttpServer, respond } from '../helpers/loopback/http.js';

const keep = closeAfterEach();
const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function sweep(controls: string[], url: string | string[], state: DetectorState, logger = pino({ level: 'silent' })) {
  const config = defaultConfig();
  config.controls = controls;
  config.retries = 0;
  config.probe = { ...config.probe, timeoutMs: 2000, resolver: '127.0.0.1:9', dnsListenWindowMs: 0 };
  const store = Store.open(join(mkdtempSync(join(tmpdir(), 'rasad-control-')), 'db.sqlite'));
  stores.push(store);
  const targets = (Array.isArray(url) ? url : [url]).map((u) => ({ raw: u, category: 'NEWS', tags: [], inputs: [u] }));
  const outcome = await runSweep(
    { store, config, probes: PROBES, logger, judge: startSweepJudgement, needsRetry, judgeOptions: { fingerprints: defaultFingerprints() }, queryControl },
    { schedule: 'test', probes: ['dns', 'tcp', 'http'], targets, concurrency: 2 },
  );
  return { outcome, ...detectChanges(state, toObservation(outcome), { confirmSweeps: 2 }) };
}

describe('control health', () => {
  it('an unreachable control gives inconclusive and one control.down; answering again for 2 sweeps gives one control.up', async () => {
    const site = await keep(rawHttpServer((_req, socket) => respond(socket, 200, { 'Content-Type': 'text/html' }, '<html><title>News today</title><body>hello</body></html>')));
    const url = `http://127.0.0.1:${site.port}/`;
    const dead = `http://127.0.0.1:${await closedPort()}/`;

    const down = await sweep([dead], url, initialState());
    expect(down.outcome.status).toBe('complete');
    const verdict = down.outcome.units[0]!.verdict;
    expect(verdict.verdict).toBe('inconclusive');
    expect(verdict.evidence.control_failed).toBe(true);
    expect(down.outcome.control).toMatchObject({ asked: 1, answered: 0, helpers: [{ url: dead, up: false }] });
    expect(down.events.map((e) => e.kind)).toEqual(['control.down']);

    // Still down: no second alert.
    const still = await sweep([dead], url, down.state);
    expect(still.events).toEqual([]);

    const helper = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, timeoutMs: 2000 }));
    const first = await sweep([dead, helper.url], url, still.state);
    // The helper answered (after failover from the dead one): the verdict rests on it.
    expect(first.outcome.units[0]!.verdict.verdict).toBe('ok');
    expect(first.events).toEqual([]);
    const second = await sweep([dead, helper.url], url, first.state);
    expect(second.events.map((e) => e.kind)).toEqual(['control.up']);
    expect(second.events[0]!.details).toMatchObject({ helper: helper.url });
  });

  it('warns of an unanswered control once per sweep, and the sweep summary counts the rest', async () => {
    const site = await keep(rawHttpServer((_req, socket) => respond(socket, 200, { 'Content-Type': 'text/html' }, '<html><title>x</title></html>')));
    const urls = [1, 2, 3, 4].map((n) => `http://127.0.0.1:${site.port}/page${n}`);
    const dead = `http://127.0.0.1:${await closedPort()}/`;
    const lines: { level: number; msg: string; url?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const before = Date.now();
    const down = await sweep([dead], urls, initialState(), logger);
    expect(down.outcome.control).toMatchObject({ asked: 4, answered: 0 });
    // The ids the sweep gave are time-ordered (version 7), made within it (src/records/ids.ts).
    const idTimes = [down.outcome.runId, ...down.outcome.measurements.map((m) => m.measurement_id)].map((id) => {
      expect(id).toMatch(V7_ID);
      return idTimeMs(id);
    });
    expect(Math.min(...idTimes)).toBeGreaterThanOrEqual(before);
    expect(Math.max(...idTimes)).toBeLessThanOrEqual(Date.now());
    const unanswered = lines.filter((l) => l.msg.startsWith('no control helper answered'));
    // Every unit is still logged, three of them at debug (20), one at warn (40).
    expect(unanswered.map((l) => l.url).sort()).toEqual(urls);
    expect(unanswered.filter((l) => l.level === 40)).toHaveLength(1);
    expect(lines.find((l) => l.msg.startsWith('sweep complete'))?.msg).toMatch(/; the control answered 0\/4$/);

    // The next sweep warns again: it is a new sweep's news.
    lines.length = 0;
    await sweep([dead], urls.slice(0, 2), down.state, logger);
    expect(lines.filter((l) => l.level === 40 && l.msg.startsWith('no control helper answered'))).toHaveLength(1);
  });

  it('asks no control at all with none configured, and says nothing about one', async () => {
    const site = await keep(rawHttpServer((_req, socket) => respond(socket, 200, { 'Content-Type': 'text/html' }, '<html><title>x</title></html>')));
    const none = await sweep([], `http://127.0.0.1:${site.port}/`, initialState());
    expect(none.outcome.control).toBeNull();
    expect(none.events).toEqual([]);
  });
});
