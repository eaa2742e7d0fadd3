// Collector upload against a local collector written from ooni/spec bk-003:
// one report per run and test, every measurement submitted once with the
// collector's report_id, reports closed; an outage (503) holds the queue and
// it recovers after the backoff; a run queued twice is sent once; off by default.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/schema.js';
import { Store } from '../../src/store/store.js';
import { CollectorClient, CollectorError, MAX_COLLECTOR_ANSWER_BYTES } from '../../src/upload/collector-client.js';
import { collectorDestination, drainUploads, enqueueRunUploads, MAX_RETRY_AFTER_MS, startUploader, uploadsOfRun } from '../../src/upload/uploader.js';
import { fixtureRuns, makeFixtureDb, type FixtureDb } from '../export/helpers.js';
import { startCollector, type TestCollector } from './collector.js';

let fx: FixtureDb;
let collector: TestCollector;
let store: Store;
const config = { ...defaultConfig(), probeAsn: 'AS64500', probeCc: 'IR' };
const runIds = () => fixtureRuns().map((r) => r.run_id);

beforeEach(async () => {
  fx = makeFixtureDb();
  collector = await startCollector();
  store = Store.open(fx.db);
});
afterEach(async () => {
  store.close();
  await collector.close();
  fx.cleanup();
});

function expectedKeys(): Set<string> {
  return new Set(runIds().flatMap((id) => uploadsOfRun(store, config, id).map((u) => u.measurement_key)));
}

describe('collector upload', () => {
  it('opens a report per run and test with the spec\'s metadata, submits each measurement into it, and closes it', async () => {
    const outbox = store.uploadOutbox(collectorDestination(collector.url));
    for (const id of runIds()) enqueueRunUploads(store, config, outbox, id);
    const result = await drainUploads(outbox, new CollectorClient(collector.url), config);
    const expected = expectedKeys();
    expect(expected.size).toBe(6);
    expect(result).toMatchObject({ delivered: 6, rejected: 0, retried: 0, pending: 0 });
    expect(new Set(collector.unique().keys())).toEqual(expected);
    expect(collector.submissions.length).toBe(6);
    for (const [id, report] of collector.reports) {
      expect(report.closed).toBe(true);
      expect(report.meta).toMatchObject({ software_name: 'rasad', probe_asn: 'AS64500', probe_cc: 'IR', data_format_version: '0.2.0', format: 'json' });
      for (const m of report.measurements) expect(m).toMatchObject({ report_id: id, test_name: report.meta.test_name, probe_asn: 'AS64500', probe_cc: 'IR', probe_ip: '127.0.0.1' });
    }
    // One report per (run, test name) among what was sent.
    const pairs = new Set(collector.submissions.map((m) => `${(m.test_keys as any).x_rasad_measurement_ids[0]}`));
    expect(pairs.size).toBe(6);
    expect(collector.reports.size).toBe(new Set(collector.submissions.map((m) => `${m.report_id}`)).size);
  });

  it('holds everything through a 503 outage and delivers each once after the backoff', async () => {
    const outbox = store.uploadOutbox(collectorDestination(collector.url));
    for (const id of runIds()) enqueueRunUploads(store, config, outbox, id);
    let now = Date.now() + 1000;
    const options = { now: () => now, random: () => 1, backoff: { baseMs: 10_000, capMs: 60_000 } };
    const client = new CollectorClient(collector.url);
    collector.failNext(2, 503);
    const first = await drainUploads(outbox, client, config, options);
    expect(first).toMatchObject({ delivered: 0, retried: 1, pending: 6 });
    // Nothing is due before the backoff has passed.
    expect(await drainUploads(outbox, client, config, options)).toMatchObject({ delivered: 0, retried: 0, pending: 6 });
    now += 10_000;
    const second = await drainUploads(outbox, client, config, options);
    expect(second.retried).toBe(1);
    now += 20_000;
    const third = await drainUploads(outbox, client, config, options);
    expect(third).toMatchObject({ pending: 0, retried: 0 });
    expect(first.delivered + second.delivered + third.delivered).toBe(6);
    expect(collector.submissions.length).toBe(6);
    expect(new Set(collector.unique().keys())).toEqual(expectedKeys());
  });

  it('sends at once what a retry left scheduled by a clock that has since been set back', async () => {
    const outbox = store.uploadOutbox(collectorDestination(collector.url));
    for (const id of runIds()) enqueueRunUploads(store, config, outbox, id);
    const right = Date.now() + 1000;
    // The Pi booted ten days ahead; the collector was down at its first try.
    let now = right + 10 * 86400_000;
    const options = { now: () => now, random: () => 1 };
    const client = new CollectorClient(collector.url);
    collector.failNext(1, 503);
    expect(await drainUploads(outbox, client, config, options)).toMatchObject({ delivered: 0, retried: 1, pending: 6 });
    // NTP sets the clock right: the retries, due "in ten days", are due now.
    now = right;
    expect(await drainUploads(outbox, client, config, options)).toMatchObject({ delivered: 6, pending: 0 });
  });

  it('obeys a Retry-After up to MAX_RETRY_AFTER_MS, not a year', async () => {
    const outbox = store.uploadOutbox(collectorDestination(collector.url));
    for (const id of runIds()) enqueueRunUploads(store, config, outbox, id);
    let now = Date.now() + 1000;
    const options = { now: () => now, random: () => 1 };
    const client = new CollectorClient(collector.url);
    collector.failNext(1, 503, String(365 * 86400));
    expect(await drainUploads(outbox, client, config, options)).toMatchObject({ delivered: 0, retried: 1 });
    now += MAX_RETRY_AFTER_MS - 60_000;
    expect(await drainUploads(outbox, client, config, options)).toMatchObject({ delivered: 0, retried: 0, pending: 6 });
    now += 60_000;
    expect(await drainUploads(outbox, client, config, options)).toMatchObject({ delivered: 6, pending: 0 });
  });

  it('rejects what the collector refuses for good, and keeps going', async () => {
    const outbox = store.uploadOutbox(collectorDestination(collector.url));
    for (const id of runIds()) enqueueRunUploads(store, config, outbox, id);
    collector.failNext(1, 400);
    const result = await drainUploads(outbox, new CollectorClient(collector.url), config);
    expect(result).toMatchObject({ rejected: 1, delivered: 5, pending: 0 });
    expect(outbox.counts()).toEqual({ pending: 0, delivered: 5, rejected: 1 });
  });

  it('sends a run queued twice once (dedup by measurement id)', async () => {
    const outbox = store.uploadOutbox(collectorDestination(collector.url));
    const [run] = runIds();
    const added = enqueueRunUploads(store, config, outbox, run!);
    expect(added).toBeGreaterThan(0);
    expect(enqueueRunUploads(store, config, outbox, run!)).toBe(0);
    await drainUploads(outbox, new CollectorClient(collector.url), config);
    expect(enqueueRunUploads(store, config, outbox, run!)).toBe(0);
    await drainUploads(outbox, new CollectorClient(collector.url), config);
    expect(collector.submissions.length).toBe(added);
  });

  it('does nothing when the collector is off (the default)', async () => {
    const uploader = startUploader({ store, config: defaultConfig(), logger: { info() {}, warn() {}, error() {} } });
    expect(uploader.enqueueRun(runIds()[0]!)).toBe(0);
    await uploader.stop();
    expect(collector.submissions.length).toBe(0);
  });

  it('the daemon\'s uploader queues a finished run and delivers it', async () => {
    const uploader = startUploader({ store, config: { ...config, collector: { url: collector.url, enabled: true } }, logger: { info() {}, warn() {}, error() {} } });
    let added = 0;
    for (const id of runIds()) added += uploader.enqueueRun(id);
    await uploader.drain();
    await uploader.drain();
    await uploader.stop();
    expect(added).toBe(6);
    expect(new Set(collector.unique().keys())).toEqual(expectedKeys());
  });

  it('refuses collector.enabled without a URL in one line', () => {
    expect(() => startUploader({ store, config: { ...config, collector: { url: '', enabled: true } }, logger: { info() {}, warn() {}, error() {} } })).toThrow(/collector\.url is empty/);
  });
});

describe('a collector that answers with an endless body', () => {
  it('is cut off at MAX_COLLECTOR_ANSWER_BYTES: a retryable failure, not a heap filled with its answer', async () => {
    // A real socket: 200 OK, then JSON-looking bytes for as long as the client reads.
    const chunk = Buffer.from(`{"report_id":"${'x'.repeat(64 * 1024)}`);
    let sent = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = () => {
        while (!res.destroyed && sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed && sent < 64 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const client = new CollectorClient(`http://127.0.0.1:${port}`, 20_000);
      const err = await client.openReport({ software_name: 'rasad', software_version: '0', probe_asn: 'AS0', probe_cc: 'ZZ', test_name: 'web_connectivity', test_version: '0.5', data_format_version: '0.2.0' }).then(
        () => null,
        (e: unknown) => e as CollectorError,
      );
      expect(err).toBeInstanceOf(CollectorError);
      expect(err!.message).toBe(`collector answered POST /report with more than ${MAX_COLLECTOR_ANSWER_BYTES} bytes`);
      expect(err!.retryable).toBe(true);
      // It stopped reading near the limit: far less than the 64 MiB the server had to give.
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
