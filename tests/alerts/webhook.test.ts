// Webhook delivery against a real HTTP receiver on 127.0.0.1: the signature
// verifies, a 500 is retried after its backoff, a burst over the rate limit
// goes as one summary, nothing is lost across a restart, a hanging receiver
// never blocks a sweep, and no secret reaches the logs.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retryDelayMs, retryAfterMs } from '../../src/alerts/backoff.js';
import { createChangePipeline } from '../../src/alerts/pipeline.js';
import { TokenBucket } from '../../src/alerts/rate-limit.js';
import { Metrics } from '../../src/http/metrics.js';
import { Store } from '../../src/store/store.js';
import type { WebhookConfig } from '../../src/config/schema.js';
import { capturingLogger, freePort, silentLogger, startReceiver, storeSweep, testConfig, type Receiver, type UnitSpec } from './helpers.js';

const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const at = (h: number) => new Date(T0 + h * 3600_000).toISOString();

let dir: string;
let receivers: Receiver[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-webhook-'));
  receivers = [];
});
afterEach(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function receiver(respond?: (n: number) => number | 'hang', port?: number): Promise<Receiver> {
  const r = await startReceiver(respond, port);
  receivers.push(r);
  return r;
}

/** A pipeline on a file store whose clock the test moves. */
function setup(webhooks: WebhookConfig[], opts: { confirmSweeps?: number; file?: string; logger?: ReturnType<typeof silentLogger>; stopTimeoutMs?: number } = {}) {
  const clock = { now: T0 + 10 * 3600_000 };
  const store = Store.open(opts.file ?? join(dir, 'rasad.db'));
  const config = testConfig({ confirmSweeps: opts.confirmSweeps ?? 1, webhooks });
  const metrics = new Metrics(config);
  const pipeline = createChangePipeline({
    store,
    config,
    logger: opts.logger ?? silentLogger(),
    metrics,
    now: () => new Date(clock.now),
    random: () => 0.5,
    stopTimeoutMs: opts.stopTimeoutMs,
  });
  return { store, metrics, pipeline, clock };
}

const blockedUnits = (n: number): UnitSpec[] =>
  Array.from({ length: n }, (_, i) => ({ url: `https://blocked-${i}.example/`, category: 'NEWS', verdict: 'dns.injected' as const }));

function outboxRows(store: Store) {
  return store.db.prepare('SELECT alert_id, kind, status, attempts, last_error FROM alert_outbox ORDER BY id').all() as {
    alert_id: string;
    kind: string;
    status: string;
    attempts: number;
    last_error: string | null;
  }[];
}

describe('webhook alerts', () => {
  it('POSTs the event with a text line, its id, and an HMAC-SHA256 signature of the raw body that verifies', async () => {
    const r = await receiver();
    const plain = await receiver();
    const secret = 'correct horse battery staple';
    const { store, pipeline } = setup([{ url: r.url, secret }, { url: plain.url }]);
    const [event] = await pipeline.onSweep(storeSweep(store, 'r1', at(1), blockedUnits(1)));
    expect(event.kind).toBe('blocked');
    await pipeline.flush();

    expect(r.requests).toHaveLength(1);
    const req = r.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hooks/secret-path-token');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-rasad-event-id']).toBe(event.event_id);
    const expected = `sha256=${createHmac('sha256', secret).update(req.body).digest('hex')}`;
    expect(req.headers['x-rasad-signature']).toBe(expected);
    // A different secret does not verify: the header is a real MAC of this body.
    expect(req.headers['x-rasad-signature']).not.toBe(`sha256=${createHmac('sha256', 'wrong').update(req.body).digest('hex')}`);
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ event_id: event.event_id, kind: 'blocked', url: 'https://blocked-0.example/', verdict: 'dns.injected', at: at(1), measurement_ids: event.measurement_ids });
    expect(body.text).toBe(`rasad: BLOCKED https://blocked-0.example/ (dns.injected) [NEWS], since 2026-11-01 01:00 UTC`);

    // No secret: no signature header, same body.
    expect(plain.requests).toHaveLength(1);
    expect(plain.requests[0].headers['x-rasad-signature']).toBeUndefined();
    expect(plain.requests[0].body).toBe(req.body);
    expect(outboxRows(store).map((x) => x.status)).toEqual(['delivered', 'delivered']);
    await pipeline.stop();
    store.close();
  });

  it('delivers at once a retry that a clock since set back had scheduled days ahead', async () => {
    const r = await receiver((n) => (n === 1 ? 500 : 200));
    const { store, pipeline, clock } = setup([{ url: r.url }]);
    // The clock ran ten days ahead when the first attempt failed.
    const right = clock.now;
    clock.now = right + 10 * 86400_000;
    await pipeline.onSweep(storeSweep(store, 'r1', at(1), blockedUnits(1)));
    await pipeline.flush();
    expect(outboxRows(store)[0]).toMatchObject({ status: 'pending', attempts: 1 });
    // NTP sets it right: the retry, "due in ten days", goes now.
    clock.now = right;
    await pipeline.flush();
    expect(r.requests).toHaveLength(2);
    expect(outboxRows(store)[0]).toMatchObject({ status: 'delivered', attempts: 2 });
    await pipeline.stop();
    store.close();
  });

  it('retries after a 500 with backoff, then delivers the same body once on a 200', async () => {
    const r = await receiver((n) => (n === 1 ? 500 : 200));
    const { store, metrics, pipeline, clock } = setup([{ url: r.url, secret: 's' }]);
    const [event] = await pipeline.onSweep(storeSweep(store, 'r1', at(1), blockedUnits(1)));
    await pipeline.flush();
    expect(r.requests).toHaveLength(1);
    expect(outboxRows(store)).toEqual([{ alert_id: event.event_id, kind: 'blocked', status: 'pending', attempts: 1, last_error: 'http_status_500' }]);
    expect(metrics.alertFailures.get({ destination_index: '0' })).toBe(1);

    // Not due yet: the backoff holds it back.
    await pipeline.flush();
    expect(r.requests).toHaveLength(1);

    clock.now += retryDelayMs(1, () => 0.5) + 1;
    await pipeline.flush();
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1].body).toBe(r.requests[0].body);
    expect(r.requests[1].headers['x-rasad-event-id']).toBe(event.event_id);
    expect(outboxRows(store)[0]).toMatchObject({ status: 'delivered', attempts: 2, last_error: null });

    clock.now += 3600_000;
    await pipeline.flush();
    expect(r.requests).toHaveLength(2);
    expect(metrics.alertFailures.get({ destination_index: '0' })).toBe(1);
    await pipeline.stop();
    store.close();
  });

  it('a 4xx answer is a rejection: counted, kept in the outbox, not retried', async () => {
    const r = await receiver(() => 404);
    const { store, metrics, pipeline, clock } = setup([{ url: r.url }]);
    await pipeline.onSweep(storeSweep(store, 'r1', at(1), blockedUnits(1)));
    await pipeline.flush();
    clock.now += 24 * 3600_000;
    await pipeline.flush();
    expect(r.requests).toHaveLength(1);
    expect(outboxRows(store)[0]).toMatchObject({ status: 'rejected', attempts: 1, last_error: 'http_status_404' });
    expect(metrics.alertFailures.get({ destination_index: '0' })).toBe(1);
    await pipeline.stop();
    store.close();
  });

  it('rate limiting: a burst over the limit goes as ONE summary alert carrying every event', async () => {
    const r = await receiver();
    const { store, pipeline, clock } = setup([{ url: r.url, maxPerMinute: 5 }]);
    const events = await pipeline.onSweep(storeSweep(store, 'r1', at(1), blockedUnits(30)));
    expect(events).toHaveLength(30); // no domestic canary: not a shutdown, 30 separate blocks
    await pipeline.flush();

    expect(r.requests).toHaveLength(1);
    const summary = JSON.parse(r.requests[0].body);
    expect(summary.kind).toBe('summary');
    expect(summary.details.count).toBe(30);
    expect(summary.details.counts_by_kind).toEqual({ blocked: 30 });
    expect(new Set(summary.details.event_ids)).toEqual(new Set(events.map((e) => e.event_id)));
    expect(summary.text).toMatch(/^rasad: 30 alerts at once \(rate limit\): 30 BLOCKED — https:\/\/blocked-0\.example\/.* and 25 more$/);
    expect(r.requests[0].headers['x-rasad-event-id']).toBe(summary.event_id);
    const rows = outboxRows(store);
    expect(rows.filter((x) => x.status === 'coalesced')).toHaveLength(30);
    expect(rows.filter((x) => x.kind === 'summary').map((x) => x.status)).toEqual(['delivered']);

    // Within the limit, alerts go one by one: two unblocked events a minute later.
    clock.now += 60_000;
    await pipeline.onSweep(storeSweep(store, 'r2', at(2), blockedUnits(2).map((u) => ({ ...u, verdict: 'ok' as const }))));
    await pipeline.flush();
    expect(r.requests.slice(1).map((q) => JSON.parse(q.body).kind)).toEqual(['unblocked', 'unblocked']);
    expect(outboxRows(store).filter((x) => x.status === 'pending')).toEqual([]);
    await pipeline.stop();
    store.close();
  });

  it('nothing is lost across a restart: queued while the receiver is down, delivered exactly once after reopening', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const file = join(dir, 'restart.db');
    const first = setup([{ url, secret: 'k' }], { file });
    const [event] = await first.pipeline.onSweep(storeSweep(first.store, 'r1', at(1), blockedUnits(1)));
    await first.pipeline.flush();
    expect(outboxRows(first.store)[0]).toMatchObject({ status: 'pending', attempts: 1, last_error: 'connection_refused' });
    await first.pipeline.stop();
    first.store.close();

    const r = await receiver(() => 200, port);
    const second = setup([{ url, secret: 'k' }], { file });
    second.clock.now = first.clock.now + 3600_000; // past any backoff
    await second.pipeline.flush();
    await second.pipeline.flush();
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0].headers['x-rasad-event-id']).toBe(event.event_id);
    expect(r.requests[0].headers['x-rasad-signature']).toBe(`sha256=${createHmac('sha256', 'k').update(r.requests[0].body).digest('hex')}`);
    expect(outboxRows(second.store)).toEqual([{ alert_id: event.event_id, kind: 'blocked', status: 'delivered', attempts: 2, last_error: null }]);
    await second.pipeline.stop();
    second.store.close();
  });

  it('a hanging receiver never blocks a sweep; stop() gives up in bounded time and keeps the alert for later', async () => {
    const r = await receiver(() => 'hang');
    const { store, pipeline } = setup([{ url: r.url }], { stopTimeoutMs: 200 });
    pipeline.start();
    const events = await pipeline.onSweep(storeSweep(store, 'r1', at(1), blockedUnits(1)));
    expect(events).toHaveLength(1);
    // onSweep has returned, and only now does the receiver see the (unanswered) POST.
    await r.waitFor(1);
    expect(outboxRows(store)[0].status).toBe('pending');
    await pipeline.stop();
    const row = outboxRows(store)[0];
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.last_error).not.toBeNull();
    store.close();
  });

  it('logs neither the secret nor the URL path (which may hold a token)', async () => {
    const r = await receiver((n) => (n === 1 ? 503 : 200));
    const capture = capturingLogger();
    const { store, pipeline, clock } = setup([{ url: r.url, secret: 'hunter2-secret' }], { logger: capture.logger });
    await pipeline.onSweep(storeSweep(store, 'r1', at(1), blockedUnits(1)));
    await pipeline.flush();
    clock.now += 3600_000;
    await pipeline.flush();
    expect(r.requests).toHaveLength(2);
    const logs = capture.text();
    expect(logs).toContain('alert delivery failed; will retry');
    expect(logs).toContain('alert delivered');
    expect(logs).toContain(`127.0.0.1:${r.port}`);
    expect(logs).not.toContain('hunter2-secret');
    expect(logs).not.toContain('secret-path-token');
    await pipeline.stop();
    store.close();
  });
});

describe('backoff and rate-limit arithmetic', () => {
  it('retry delays double from 10 s, stay within [d/2, d], and never exceed the 30 min cap', () => {
    expect(retryDelayMs(1, () => 0)).toBe(5_000);
    expect(retryDelayMs(1, () => 1)).toBe(10_000);
    expect(retryDelayMs(3, () => 1)).toBe(40_000);
    for (let n = 1; n < 80; n++) {
      for (const r of [0, 0.3, 1]) {
        const d = retryDelayMs(n, () => r);
        expect(d).toBeGreaterThanOrEqual(5_000);
        expect(d).toBeLessThanOrEqual(30 * 60_000);
      }
    }
    expect(retryAfterMs('120', 0)).toBe(120_000);
    expect(retryAfterMs('Sun, 01 Nov 2026 00:01:00 GMT', T0)).toBe(60_000);
    expect(retryAfterMs('soon', 0)).toBeNull();
  });

  it('the token bucket allows a burst of maxPerMinute, then refills at maxPerMinute per minute', () => {
    const b = new TokenBucket(6, 0);
    for (let i = 0; i < 6; i++) expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.available(9_999)).toBe(0);
    expect(b.available(10_000)).toBe(1);
    expect(b.available(10 * 60_000)).toBe(6);
    expect(() => new TokenBucket(0, 0)).toThrow(RangeError);
  });
});
