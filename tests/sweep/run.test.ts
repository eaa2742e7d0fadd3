// The sweep runner's own logic (caps, deadlines, retries, storage), driven by
// stand-in probes: what they measure is not the point here, the bookkeeping is.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Probe, ProbeKind, ProbeResult, Target } from '../../probes/types.js';
import { PROBE_KINDS, type ProbeRegistry } from '../../src/experiments/registry.js';
import { defaultConfig } from '../../src/config/schema.js';
import { IN_FLIGHT_SHOWN, PROVISIONAL_REASON, runSweep, type SweepDeps, type SweepProgress } from '../../src/sweep/run.js';
import { planSweep } from '../../src/sweep/plan.js';
import { Store } from '../../src/store/store.js';
import type { VerdictResult } from '../../src/model.js';
import { batchJudge, type JudgeOptions, type SweepJudge } from '../../src/analysis/verdict.js';

const logger = pino({ level: 'silent' });

function target(raw: string, tags: string[] = []): Target {
  const inputs = raw.includes('://') ? [raw] : [`http://${raw}/`, `https://${raw}/`];
  return { raw, category: 'NEWS', tags, inputs };
}

interface Behaviour {
  delayMs?: number;
  failure?: (url: string, call: number) => string | null;
}

function standInProbes(behaviour: Behaviour, stats: { active: number; peak: number; perHostPeak: Map<string, number>; perHostActive: Map<string, number>; calls: Map<string, number> }): ProbeRegistry {
  const make = (kind: ProbeKind): Probe => ({
    kind,
    async run(input, signal): Promise<ProbeResult> {
      const host = new URL(input.url).hostname;
      const key = `${kind} ${input.url}`;
      const call = (stats.calls.get(key) ?? 0) + 1;
      stats.calls.set(key, call);
      stats.active++;
      stats.peak = Math.max(stats.peak, stats.active);
      stats.perHostActive.set(host, (stats.perHostActive.get(host) ?? 0) + 1);
      stats.perHostPeak.set(host, Math.max(stats.perHostPeak.get(host) ?? 0, stats.perHostActive.get(host)!));
      const started = Date.now();
      let aborted = false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, behaviour.delayMs ?? 5);
        signal.addEventListener('abort', () => { aborted = true; clearTimeout(t); resolve(); }, { once: true });
      });
      stats.active--;
      stats.perHostActive.set(host, stats.perHostActive.get(host)! - 1);
      const failure = aborted ? 'generic_timeout_error' : (behaviour.failure?.(input.url, call) ?? null);
      return {
        probe: kind,
        started_at: new Date(started).toISOString(),
        runtime_ms: Date.now() - started,
        failure,
        failed_operation: failure ? 'connect' : null,
        details: kind === 'dns' ? { hostname: host, resolutions: [], addresses: ['192.0.2.7'] } : {},
      };
    },
  });
  return Object.fromEntries(PROBE_KINDS.map((k) => [k, make(k)])) as ProbeRegistry;
}

function newStats() {
  return { active: 0, peak: 0, perHostPeak: new Map<string, number>(), perHostActive: new Map<string, number>(), calls: new Map<string, number>() };
}

function deps(store: Store, probes: ProbeRegistry, overrides: Partial<SweepDeps> = {}, configure?: (c: ReturnType<typeof defaultConfig>) => void): SweepDeps {
  const config = defaultConfig();
  config.retries = 0;
  configure?.(config);
  return {
    store,
    config,
    probes,
    logger,
    judge: batchJudge((units) => units.map((u): VerdictResult => {
      const last = u.attempts[u.attempts.length - 1]!;
      const failed = Object.values(last).some((r) => r?.failure);
      return { verdict: failed ? 'tcp.blocked' : 'ok', verdict_reason: failed ? 'failed' : 'fine', evidence: { attempts: u.attempts.length } };
    })),
    needsRetry: (attempt) => Object.values(attempt).some((r) => r?.failure),
    judgeOptions: { fingerprints: { dns: [], http: [] } as never },
    ...overrides,
  };
}

const newStore = () => Store.open(join(mkdtempSync(join(tmpdir(), 'rasad-sweep-')), 'db.sqlite'));

describe('planSweep', () => {
  it('gives a bare domain web units for http and https, and TLS where TLS is or where it checks an http:// name\'s DNS answer', () => {
    const units = planSweep([target('news.test'), target('tcp://192.0.2.1:443'), target('tcp://192.0.2.1:22'), target('http://192.0.2.7/')], ['dns', 'tcp', 'tls', 'http']);
    expect(units.map((u) => [u.url, u.probes.join(',')])).toEqual([
      ['http://news.test/', 'dns,tcp,tls,http'],
      ['https://news.test/', 'dns,tcp,tls,http'],
      ['tcp://192.0.2.1:443', 'dns,tcp,tls'],
      ['tcp://192.0.2.1:22', 'dns,tcp'],
      // An address has no name whose answer TLS could check.
      ['http://192.0.2.7/', 'dns,tcp,http'],
    ]);
  });

  it('gives long-lived probes the inputs they can measure', () => {
    const units = planSweep([target('news.test'), target('http://plain.test/')], ['tls_duration', 'throughput', 'protocol']);
    expect(units.map((u) => `${u.kind} ${u.url}`)).toEqual([
      'tls_duration https://news.test/',
      'throughput https://news.test/',
      'protocol http://news.test/',
      'throughput http://plain.test/',
      'protocol http://plain.test/',
    ]);
  });
});

describe('runSweep', () => {
  it('awaits beforeJudging before each unit is judged: what it puts in the judge options reaches the judge', async () => {
    const store = newStore();
    const seen: (string | undefined)[] = [];
    const judgeOptions = { fingerprints: { dns: [], http: [] } as never } as JudgeOptions;
    const judge: SweepJudge = (options) => ({
      add: () => {
        seen.push(options.nonexistentName?.name);
        return { index: seen.length - 1, failed: false };
      },
      finish: () => seen.map((): VerdictResult => ({ verdict: 'ok', verdict_reason: 'fine', evidence: {} })),
    });
    let asked = 0;
    const beforeJudging = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      judgeOptions.nonexistentName = { name: `n${++asked}.com`, addresses: [] };
    };
    const targets = [target('http://a.test/'), target('http://b.test/')];
    await runSweep(deps(store, standInProbes({}, newStats()), { judge, judgeOptions, beforeJudging }), { schedule: 'test', probes: ['dns'], targets, concurrency: 1 });
    expect(seen).toEqual(['n1.com', 'n2.com']);
    store.close();
  });

  it('never exceeds the global or the per-host concurrency cap', async () => {
    const store = newStore();
    const stats = newStats();
    const targets = Array.from({ length: 30 }, (_, i) => target(`http://h${i % 3}.test/p${i}`));
    const d = deps(store, standInProbes({ delayMs: 10 }, stats), {}, (c) => (c.perHostConcurrency = 2));
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns', 'tcp', 'http'], targets, concurrency: 5 });
    expect(outcome.units).toHaveLength(30);
    expect(stats.peak).toBeLessThanOrEqual(5);
    expect(stats.peak).toBeGreaterThanOrEqual(2);
    for (const peak of stats.perHostPeak.values()) expect(peak).toBeLessThanOrEqual(2);
    expect(store.countMeasurements()).toBe(90);
    store.close();
  });

  it('reports progress with the count in flight and a few of their inputs, ending at done = total', async () => {
    const store = newStore();
    const d = deps(store, standInProbes({ delayMs: 5 }, newStats()));
    const reports: SweepProgress[] = [];
    const targets = Array.from({ length: 40 }, (_, i) => target(`http://p${i}.test/`));
    await runSweep(d, { schedule: 'test', probes: ['dns', 'tcp'], targets, concurrency: 12, onProgress: (p) => reports.push(p) });
    expect(Math.max(...reports.map((r) => r.inFlightCount))).toBe(12);
    for (const r of reports) {
      expect(r.inFlight.length).toBe(Math.min(r.inFlightCount, IN_FLIGHT_SHOWN));
      for (const url of r.inFlight) expect(url).toMatch(/^http:\/\/p\d+\.test\/$/);
    }
    expect(reports.at(-1)).toMatchObject({ done: 40, total: 40, inFlightCount: 0, inFlight: [] });
    store.close();
  });

  it('stores every measurement with its final verdict and the run as complete', async () => {
    const store = newStore();
    const d = deps(store, standInProbes({ failure: (url) => (url.includes('blocked') ? 'connection_reset' : null) }, newStats()));
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns', 'tcp', 'tls', 'http'], targets: [target('blocked.test'), target('fine.test')], concurrency: 4 });
    const rows = [...store.iterateMeasurements()];
    // Two bare domains: http:// (dns, tcp, tls for the DNS check, http) and https:// (dns, tcp, tls, http).
    expect(rows).toHaveLength(16);
    expect(rows.every((m) => m.verdict_reason !== PROVISIONAL_REASON)).toBe(true);
    expect(new Set(rows.filter((m) => m.target === 'blocked.test').map((m) => m.verdict))).toEqual(new Set(['tcp.blocked']));
    expect(new Set(rows.filter((m) => m.target === 'fine.test').map((m) => m.verdict))).toEqual(new Set(['ok']));
    expect(store.getRun(outcome.runId)?.status).toBe('complete');
    expect(outcome.countsByVerdict).toEqual({ 'tcp.blocked': 8, ok: 8 });
    store.close();
  });

  it('retries a failing web unit, and a success clears it', async () => {
    const store = newStore();
    const stats = newStats();
    // Fails on the first call only: the retry succeeds.
    const d = deps(store, standInProbes({ failure: (_url, call) => (call === 1 ? 'generic_timeout_error' : null) }, stats), {}, (c) => (c.retries = 2));
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns', 'tcp'], targets: [target('http://flaky.test/')], concurrency: 1 });
    expect(stats.calls.get('dns http://flaky.test/')).toBe(2);
    expect(outcome.units[0]!.verdict.verdict).toBe('ok');
    expect(outcome.units[0]!.verdict.evidence).toEqual({ attempts: 2 });
    store.close();
  });

  it('gives up after the configured retries', async () => {
    const store = newStore();
    const stats = newStats();
    const d = deps(store, standInProbes({ failure: () => 'connection_reset' }, stats), {}, (c) => (c.retries = 2));
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns'], targets: [target('http://down.test/')], concurrency: 1 });
    expect(stats.calls.get('dns http://down.test/')).toBe(3);
    expect(outcome.units[0]!.verdict.verdict).toBe('tcp.blocked');
    // Only the last attempt's measurements are stored; the attempts are in the evidence.
    expect(store.countMeasurements()).toBe(1);
    store.close();
  });

  it('ends a hung probe at the measurement deadline', async () => {
    const store = newStore();
    const d = deps(store, standInProbes({ delayMs: 60_000 }, newStats()), {}, (c) => (c.measurementDeadlineMs = 100));
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns'], targets: [target('http://hang.test/')], concurrency: 1 });
    expect(outcome.measurements[0]!.failure).toBe('generic_timeout_error');
    expect(outcome.measurements[0]!.runtime_ms).toBeLessThan(30_000);
    store.close();
  });

  it('skips circumvention targets unless the volunteer opted in', async () => {
    const store = newStore();
    const targets = [target('http://news.test/'), target('http://vpn.test/', ['circumvention'])];
    const off = await runSweep(deps(store, standInProbes({}, newStats())), { schedule: 't', probes: ['dns'], targets, concurrency: 2 });
    expect(off.units.map((u) => u.url)).toEqual(['http://news.test/']);
    const on = await runSweep(deps(store, standInProbes({}, newStats()), {}, (c) => (c.probeCircumvention = true)), { schedule: 't', probes: ['dns'], targets, concurrency: 2 });
    expect(on.units.map((u) => u.url).sort()).toEqual(['http://news.test/', 'http://vpn.test/']);
    store.close();
  });

  it('marks an aborted sweep interrupted and keeps what it measured', async () => {
    const store = newStore();
    const stop = new AbortController();
    const d = deps(store, standInProbes({ delayMs: 50 }, newStats()));
    const targets = Array.from({ length: 20 }, (_, i) => target(`http://t${i}.test/`));
    setTimeout(() => stop.abort(), 120);
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns'], targets, concurrency: 2, signal: stop.signal });
    expect(outcome.status).toBe('interrupted');
    expect(store.getRun(outcome.runId)?.status).toBe('interrupted');
    expect(outcome.units.length).toBeGreaterThan(0);
    expect(outcome.units.length).toBeLessThan(20);
    expect(store.countMeasurements()).toBe(outcome.measurements.length);
    store.close();
  });

  it('keeps sweeping when the database refuses measurements, counts them as dropped, and never calls the run complete', async () => {
    const store = newStore();
    const d = deps(store, standInProbes({}, newStats()));
    // The database stops taking writes mid-life, as a full disk does (the disk-full test with a real tmpfs is in tests/reliability).
    store.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON measurements BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns', 'tcp'], targets: [target('http://a.test/'), target('http://b.test/')], concurrency: 2 });
    expect(outcome.dropped).toBe(4);
    expect(outcome.units).toHaveLength(2);
    // Nothing of the sweep reached the database: the run failed (issue 16: a full disk once said "complete").
    expect(outcome.status).toBe('failed');
    expect(outcome.stored).toBe(0);
    expect(store.getRun(outcome.runId)?.status).toBe('failed');
    store.close();
  });

  it('calls a run partial when the database takes only some of its measurements', async () => {
    const store = newStore();
    const d = deps(store, standInProbes({}, newStats()));
    // Refuse the measurements of one input only, as a disk that fills up mid-sweep does.
    store.db.exec(`CREATE TRIGGER refuse_b BEFORE INSERT ON measurements WHEN NEW.url LIKE '%b.test%' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
    const outcome = await runSweep(d, { schedule: 'test', probes: ['dns', 'tcp'], targets: [target('http://a.test/'), target('http://b.test/')], concurrency: 1 });
    expect(outcome.status).toBe('partial');
    expect(outcome.stored).toBe(2);
    expect(store.getRun(outcome.runId)?.status).toBe('partial');
    store.close();
  });
});