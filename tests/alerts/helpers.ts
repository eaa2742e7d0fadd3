// Builders for the alert, HTTP, status and dashboard tests: sweeps stored as
// real rows (runs + measurements), a real webhook receiver on 127.0.0.1, a
// config, loggers, and a week-long scenario with every kind of event.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { SweepObservation, UnitKind } from '../../src/analysis/changes.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import type { Measurement, Verdict } from '../../src/model.js';
import type { Store } from '../../src/store/store.js';
import type { ChangePipeline } from '../../src/alerts/pipeline.js';

export interface UnitSpec {
  url: string;
  verdict: Verdict;
  target?: string;
  tags?: string[];
  category?: string;
  kind?: UnitKind;
  /** Probe details for long-lived kinds (throughput, tls_duration). */
  details?: Record<string, unknown>;
}

const WEB_PROBES = ['dns', 'tcp', 'tls', 'http'] as const;

/** Stores one sweep as the daemon would (a run and its measurements) and returns its observation. */
export function storeSweep(store: Store, runId: string, at: string, units: UnitSpec[]): SweepObservation {
  const kinds = [...new Set(units.flatMap((u) => ((u.kind ?? 'web') === 'web' ? [...WEB_PROBES] : [u.kind as string])))];
  store.beginRun({ run_id: runId, started_at: at, probes: kinds, inputs_total: units.length });
  const measurements: Measurement[] = [];
  const observation: SweepObservation = { run_id: runId, at, units: [] };
  units.forEach((u, i) => {
    const kind = u.kind ?? 'web';
    const probes = kind === 'web' ? WEB_PROBES : [kind];
    const ids: string[] = [];
    probes.forEach((probe, j) => {
      const id = randomUUID();
      ids.push(id);
      measurements.push({
        measurement_id: id,
        run_id: runId,
        target: u.target ?? u.url,
        url: u.url,
        category: u.category ?? 'MISC',
        tags: u.tags ?? [],
        probe: probe as Measurement['probe'],
        started_at: new Date(Date.parse(at) + i * 1000 + j * 100).toISOString(),
        runtime_ms: 42,
        failure: u.verdict === 'ok' ? null : 'connection_reset',
        failed_operation: u.verdict === 'ok' ? null : 'tls_handshake',
        details: u.details ?? {},
        verdict: u.verdict,
        verdict_reason: u.verdict === 'ok' ? 'consistent with the control' : `test: ${u.verdict}`,
        control: null,
        evidence: {},
      });
    });
    observation.units.push({ target: u.target ?? u.url, url: u.url, tags: u.tags ?? [], kind, verdict: u.verdict, measurement_ids: ids, category: u.category });
  });
  store.insertMeasurements(measurements);
  store.finishRun(runId, 'complete', { units: units.length }, at);
  return observation;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...defaultConfig(), db: ':memory:', ...overrides };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A logger whose JSON lines are kept, to check what is (and is not) logged. */
export function capturingLogger(): { logger: Logger; text(): string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), text: () => chunks.join('') };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Resolves when `n` requests have arrived. */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real webhook receiver on 127.0.0.1. `respond(n)` gives the status for the
 * n-th request (1-based), or 'hang' to never answer.
 */
export async function startReceiver(respond: (n: number) => number | 'hang' = () => 200, port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve();
      const status = respond(requests.length);
      if (status === 'hang') return;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/hooks/secret-path-token`,
    port: actual,
    requests,
    waitFor: (n) => (requests.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port that nothing listens on right now (a receiver that is down). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// --- a week of sweeps --------------------------------------------------------

export const SCENARIO_URLS = {
  youtube: 'https://www.youtube.com/',
  fbHttp: 'http://facebook.com/',
  fbHttps: 'https://facebook.com/',
  instagram: 'https://www.instagram.com/',
  bbc: 'https://www.bbc.com/persian',
  wikipedia: 'https://fa.wikipedia.org/',
  github: 'https://github.com/',
  google: 'https://www.google.com/',
  aparat: 'https://www.aparat.com/',
  bazaar: 'https://cafebazaar.ir/',
} as const;

/** Hours of the scenario (hour 0 is `hours` before `end`). */
export const SCENARIO = {
  hours: 168,
  youtubeBlockedFrom: 30,
  fbHttpsOpensAt: 90,
  shutdown: [120, 125] as const,
  offline: [140, 141] as const,
};

function webUnits(h: number): UnitSpec[] {
  const U = SCENARIO_URLS;
  const inShutdown = h >= SCENARIO.shutdown[0] && h <= SCENARIO.shutdown[1];
  const offline = h >= SCENARIO.offline[0] && h <= SCENARIO.offline[1];
  const foreign = (v: Verdict): Verdict => (offline ? 'network.offline' : inShutdown ? 'tcp.blocked' : v);
  const domestic: Verdict = offline ? 'network.offline' : 'ok';
  return [
    { url: U.youtube, category: 'MMED', verdict: foreign(h >= SCENARIO.youtubeBlockedFrom ? 'tls.reset' : 'ok') },
    { url: U.fbHttp, target: 'facebook.com', category: 'GRP', verdict: foreign('http.blockpage') },
    { url: U.fbHttps, target: 'facebook.com', category: 'GRP', verdict: foreign(h >= SCENARIO.fbHttpsOpensAt ? 'ok' : 'tls.reset') },
    { url: U.instagram, category: 'GRP', verdict: foreign(h < 10 || h % 2 === 0 ? 'ok' : 'tls.reset') },
    { url: U.bbc, category: 'NEWS', verdict: foreign('dns.injected') },
    { url: U.wikipedia, category: 'REFE', verdict: foreign('ok') },
    { url: U.github, category: 'HOST', verdict: foreign('ok') },
    { url: U.google, category: 'SRCH', verdict: foreign('ok') },
    { url: U.aparat, category: 'MMED', tags: ['domestic'], verdict: domestic },
    { url: U.bazaar, category: 'COMT', tags: ['domestic'], verdict: domestic },
  ];
}

function longUnits(h: number): UnitSpec[] {
  const U = SCENARIO_URLS;
  const cut = h >= SCENARIO.youtubeBlockedFrom;
  const wobble = 1 + 0.1 * Math.sin(h);
  const offline = h >= SCENARIO.offline[0] && h <= SCENARIO.offline[1];
  const units: UnitSpec[] = [
    { url: U.aparat, category: 'MMED', tags: ['domestic'], kind: 'throughput', verdict: 'ok', details: { steady_rate_bps: 2_400_000 * wobble, domestic: true, bytes: 1_048_576, duration_s: 0.5 } },
    { url: U.youtube, category: 'MMED', kind: 'throughput', verdict: cut ? 'throttled' : 'ok', details: { steady_rate_bps: (cut ? 140_000 : 1_900_000) * wobble, domestic: false, bytes: 1_048_576, duration_s: 5 } },
    { url: U.youtube, category: 'MMED', kind: 'tls_duration', verdict: cut ? 'tls.session_cut' : 'ok', details: { horizon_s: 150, tls: { died_after_s: cut ? 60 + (h % 3) : null, end: cut ? 'reset' : 'horizon' }, plain: null } },
    { url: U.bbc, category: 'NEWS', kind: 'tls_duration', verdict: 'ok', details: { horizon_s: 150, tls: { died_after_s: null, end: 'horizon' }, plain: null } },
  ];
  return offline ? units.map((u) => ({ ...u, verdict: 'network.offline' as const })) : units;
}

/** Stores a week of hourly web sweeps and 6-hourly long sweeps ending at `end`, feeding each to the pipeline. */
export async function seedScenario(store: Store, pipeline: ChangePipeline, end: Date = new Date()): Promise<void> {
  const start = end.getTime() - SCENARIO.hours * 3600_000;
  for (let h = 0; h < SCENARIO.hours; h++) {
    const at = new Date(start + h * 3600_000).toISOString();
    await pipeline.onSweep(storeSweep(store, `web-${h}`, at, webUnits(h)));
    if (h % 6 === 3) await pipeline.onSweep(storeSweep(store, `long-${h}`, new Date(start + h * 3600_000 + 600_000).toISOString(), longUnits(h)));
  }
}
