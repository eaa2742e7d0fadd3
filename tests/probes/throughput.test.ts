// throughput against loopback download servers that pace their sending: a
// policer-like fixed rate must read as 'flat' at that rate, a randomly
// wandering rate as 'noisy'; downloads cut short keep what they got.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { summarizeRate, throughputProbe } from '../../probes/throughput.js';
import type { ProbeInput, ProbeOptions, ThroughputSample } from '../../probes/types.js';
import { makePki, type Pem } from '../helpers/certs.js';
import { leakedHandles, liveHandles } from '../helpers/longlived/leaks.js';
import { startPacedServer, type PacedBehaviour, type PacedServer } from '../helpers/longlived/paced_server.js';
import { noDnsOptions } from '../helpers/loopback/options.js';

const HOST = 'cdn.probe.test';
let caPem: string;
let leaf: Pem;

beforeAll(() => {
  const pki = makePki();
  caPem = pki.ca.cert;
  leaf = pki.leaf([HOST]);
});

function options(over: Partial<ProbeOptions> = {}): ProbeOptions {
  return noDnsOptions({ extraCaPem: caPem, throughputBytes: 64 * 1024 * 1024, throughputMaxMs: 3500, ...over });
}

function input(url: string, opts: ProbeOptions, tags: string[] = []): ProbeInput {
  return { target: { raw: url, category: 'MMED', tags, inputs: [url] }, url, addresses: ['127.0.0.1'], options: opts };
}

const servers: PacedServer[] = [];
async function serve(behaviour: PacedBehaviour, tls?: Pem): Promise<PacedServer> {
  const server = await startPacedServer(behaviour, tls);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function expectConsistentSamples(samples: ThroughputSample[], total: number): void {
  expect(samples.length).toBeGreaterThan(0);
  for (let i = 1; i < samples.length; i++) {
    expect(samples[i]!.t).toBeGreaterThan(samples[i - 1]!.t);
    expect(samples[i]!.bytes).toBeGreaterThanOrEqual(samples[i - 1]!.bytes);
  }
  expect(samples[samples.length - 1]!.bytes).toBe(total);
}

describe('throughput', () => {
  it('reads a policer-like fixed rate as flat, at that rate, over TLS with the right SNI and Host', async () => {
    const rate = 320 * 1024; // a 16 KiB chunk every 50 ms
    const server = await serve({ kind: 'paced', bytesPerSec: rate, tickMs: 50 }, leaf);
    const baseline = liveHandles();
    const res = await throughputProbe.run(
      input(`https://${HOST}:${server.port}/index.html`, options({ throughputPath: '/big.bin?n=1' })),
      new AbortController().signal,
    );
    const d = res.details;
    expect(res.failure).toBeNull();
    expect(d.shape).toBe('flat');
    expect(d.rate_cv).not.toBeNull();
    expect(d.steady_rate_bps).toBeGreaterThanOrEqual(rate * 0.75);
    expect(d.steady_rate_bps).toBeLessThanOrEqual(rate * 1.25);
    expect(d.status_code).toBe(200);
    expect(d.time_to_first_byte_ms).not.toBeNull();
    expect(d.domestic).toBe(false);
    expect(d.url).toBe(`https://${HOST}:${server.port}/big.bin?n=1`);
    expectConsistentSamples(d.samples, d.bytes);
    // The time cap (3.5 s) ended it, with a sample at least every 250 ms.
    expect(d.samples.length).toBeGreaterThanOrEqual(12);
    expect(server.paths).toEqual(['/big.bin?n=1']);
    expect(server.hosts).toEqual([`${HOST}:${server.port}`]);
    expect(server.servernames).toEqual([HOST]);
    expect(await leakedHandles(baseline)).toEqual({});
  });

  it('reads a randomly wandering rate as noisy', async () => {
    const server = await serve({ kind: 'noisy', meanBytesPerSec: 320 * 1024, seed: 7, changeMs: 400 });
    const res = await throughputProbe.run(
      input(`http://${HOST}:${server.port}/`, options(), ['domestic']),
      new AbortController().signal,
    );
    expect(res.failure).toBeNull();
    expect(res.details.shape).toBe('noisy');
    expect(res.details.rate_cv).toBeGreaterThan(0.3);
    expect(res.details.domestic).toBe(true);
    expect(res.details.steady_rate_bps).toBeGreaterThan(0);
  });

  it('stops at throughputBytes and closes the connection', async () => {
    const server = await serve({ kind: 'fast' });
    const limit = 2 * 1024 * 1024;
    const res = await throughputProbe.run(
      input(`http://${HOST}:${server.port}/`, options({ throughputBytes: limit, throughputMaxMs: 20_000 })),
      new AbortController().signal,
    );
    expect(res.failure).toBeNull();
    expect(res.details.bytes).toBeGreaterThanOrEqual(limit);
    // It stopped reading: at most one socket buffer's worth beyond the limit.
    expect(res.details.bytes).toBeLessThan(limit + 1024 * 1024);
    expectConsistentSamples(res.details.samples, res.details.bytes);
    const deadline = Date.now() + 2000;
    while ((await server.openConnections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await server.openConnections()).toBe(0);
  });

  it('keeps the bytes and samples of a download the server cuts mid-stream, and records the failure', async () => {
    const server = await serve({ kind: 'close_mid_stream', bytes: 300_000, declaredBytes: 10_000_000 }, leaf);
    const res = await throughputProbe.run(input(`https://${HOST}:${server.port}/`, options()), new AbortController().signal);
    expect(res.failure).not.toBeNull();
    expect(['eof_error', 'connection_reset']).toContain(res.failure);
    expect(res.failed_operation).toBe('read');
    expect(res.details.bytes).toBe(300_000);
    expectConsistentSamples(res.details.samples, 300_000);
    expect(res.details.time_to_first_byte_ms).not.toBeNull();
  });

  it('records a server that never answers as a timeout with no bytes and no shape', async () => {
    const server = await serve({ kind: 'never_send' });
    const res = await throughputProbe.run(input(`http://${HOST}:${server.port}/`, options({ timeoutMs: 800 })), new AbortController().signal);
    expect(res.failure).toBe('generic_timeout_error');
    expect(res.failed_operation).toBe('http_round_trip');
    expect(res.details.bytes).toBe(0);
    expect(res.details.time_to_first_byte_ms).toBeNull();
    expect(res.details.status_code).toBeNull();
    expect(res.details.steady_rate_bps).toBeNull();
    expect(res.details.shape).toBe('unknown');
  });

  it('records a refused connection in connect and an unknown authority in tls_handshake', async () => {
    const server = await serve({ kind: 'fast' }, makePki('other CA').leaf([HOST]));
    const [refused, untrusted] = await Promise.all([
      throughputProbe.run(input(`http://${HOST}:1/`, options()), new AbortController().signal),
      throughputProbe.run(input(`https://${HOST}:${server.port}/`, options()), new AbortController().signal),
    ]);
    expect(refused.failure).toBe('connection_refused');
    expect(refused.failed_operation).toBe('connect');
    expect(untrusted.failure).toBe('ssl_unknown_authority');
    expect(untrusted.failed_operation).toBe('tls_handshake');
    expect(untrusted.details.bytes).toBe(0);
  });

  it('honours its AbortSignal, keeping what it got', async () => {
    const server = await serve({ kind: 'paced', bytesPerSec: 200_000 });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 600);
    const res = await throughputProbe.run(input(`http://${HOST}:${server.port}/`, options({ throughputMaxMs: 30_000 })), controller.signal);
    clearTimeout(timer);
    expect(res.failure).toBe('interrupted');
    expect(res.details.bytes).toBeGreaterThan(0);
    expect(res.details.duration_s).toBeLessThan(30);
  });

  it('throws on an input it cannot measure', async () => {
    await expect(throughputProbe.run(input('tcp://127.0.0.1:443', options()), new AbortController().signal)).rejects.toThrow(/http/);
    await expect(
      throughputProbe.run(input('http://x.test/', options({ throughputPath: '//evil.test/x' })), new AbortController().signal),
    ).rejects.toThrow(/throughputPath/);
  });
});

describe('summarizeRate', () => {
  const ramp = (rates: number[], dt = 0.25, firstByte = 0.1): ThroughputSample[] => {
    const out: ThroughputSample[] = [];
    let bytes = 0;
    let t = firstByte;
    for (const r of rates) {
      t += dt;
      bytes += r * dt;
      out.push({ t: Math.round(t * 1000) / 1000, bytes: Math.round(bytes) });
    }
    return out;
  };

  it('ignores the first second: a fast start does not raise the steady rate', () => {
    const samples = ramp([4000, 4000, 4000, 4000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    const s = summarizeRate(samples, 0.1);
    expect(s.steady_rate_bps).toBeGreaterThanOrEqual(990);
    expect(s.steady_rate_bps).toBeLessThanOrEqual(1010);
    expect(s.shape).toBe('flat');
  });

  it('calls too few samples unknown and no bytes unknown without a rate', () => {
    expect(summarizeRate(ramp([1000, 1000, 1000]), 0.1).shape).toBe('unknown');
    expect(summarizeRate([{ t: 0.25, bytes: 0 }], null)).toEqual({ steady_rate_bps: null, rate_cv: null, shape: 'unknown' });
  });

  it('calls an alternating rate noisy', () => {
    const s = summarizeRate(ramp([1000, 1000, 1000, 1000, 200, 3000, 100, 2500, 400, 2000, 300, 1800]), 0.1);
    expect(s.shape).toBe('noisy');
    expect(s.rate_cv).toBeGreaterThan(0.5);
  });
});
