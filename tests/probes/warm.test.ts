// Probe.warm builds, before a sweep, the TLS trust a probe's first run would
// otherwise build mid-sweep (tens of ms with ~140 roots, while every probe in
// flight waits). After a probe's warm-up its run builds no secure context;
// Signal's own CA is a trust set of its own and is warmed too. Counted, as in
// sharedSecureContext's own count of the trusts it built, and by
// tls.createSecureContext calls (which catch a context tls.connect would
// build itself, as tls_context.test.ts does), against real loopback
// handshakes.
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signalProbe } from '../../probes/app_signal.js';
import { httpProbe } from '../../probes/http.js';
import { ProbeInputError, sharedTrustBuilds } from '../../probes/net.js';
import { tlsProbe } from '../../probes/tls.js';
import type { Probe, ProbeKind } from '../../probes/types.js';
import { DEFAULT_PROBE_OPTIONS } from '../../src/config/schema.js';
import { PROBES } from '../../src/experiments/registry.js';
import { warmProbes } from '../../src/runtime.js';
import { answeringHttpsServer, appInput, cleanups } from '../apps/loopback.js';
import { makePki } from '../helpers/certs.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { rawHttpsServer, respond } from '../helpers/loopback/http.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { tlsServer } from '../helpers/loopback/tls.js';

const keep = closeAfterEach();
afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanups.length) await cleanups.pop()!();
});

describe('Probe.warm', () => {
  it('the tls probe: warm builds the trust of its extra CA once; the run after builds none', async () => {
    const pki = makePki('rasad warm tls CA');
    const options = noDnsOptions({ extraCaPem: pki.ca.cert, innocuousSni: 'example.org', timeoutMs: 2_000 });
    const before = sharedTrustBuilds();
    tlsProbe.warm!(options);
    expect(sharedTrustBuilds()).toBe(before + 1);
    tlsProbe.warm!(options);
    expect(sharedTrustBuilds()).toBe(before + 1);
    const server = await keep(tlsServer(pki.leaf(['blocked.test'])));
    const spy = vi.spyOn(tls, 'createSecureContext');
    const result = await tlsProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(result.details.handshakes).toHaveLength(2);
    expect(sharedTrustBuilds()).toBe(before + 1);
    expect(spy).not.toHaveBeenCalled();
  });

  it('the http probe: the same for an HTTPS fetch', async () => {
    const pki = makePki('rasad warm http CA');
    const options = noDnsOptions({ extraCaPem: pki.ca.cert, timeoutMs: 2_000 });
    const before = sharedTrustBuilds();
    httpProbe.warm!(options);
    expect(sharedTrustBuilds()).toBe(before + 1);
    const server = await keep(rawHttpsServer(pki.leaf(['blocked.test']), (_req, socket) => respond(socket, 200, {}, 'ok')));
    const spy = vi.spyOn(tls, 'createSecureContext');
    const result = await httpProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBeNull();
    expect(sharedTrustBuilds()).toBe(before + 1);
    expect(spy).not.toHaveBeenCalled();
  });

  it("signal: warm builds the roots plus Signal's own CA, which its fetches then use", async () => {
    const signalCa = makePki('stand-in Signal CA for warm');
    const chat = await answeringHttpsServer(signalCa.leaf(['chat.signal.org']), 404);
    const input = appInput('signal', { signal: { backends: [`https://chat.signal.org:${chat.port}/`], caPem: signalCa.ca.cert }, hosts: { 'chat.signal.org': ['127.0.0.1'] } });
    // The default trust (the http probe's own) exists already, as in a sweep: only Signal's is left to warm.
    httpProbe.warm!(input.options);
    const before = sharedTrustBuilds();
    signalProbe.warm!(input.options);
    expect(sharedTrustBuilds()).toBe(before + 1);
    const spy = vi.spyOn(tls, 'createSecureContext');
    const result = await signalProbe.run(input, never());
    expect(result.details.backends.map((b) => [b.failure, b.status_code])).toEqual([[null, 404]]);
    expect(sharedTrustBuilds()).toBe(before + 1);
    expect(spy).not.toHaveBeenCalled();
  });

  // A list, not a proof: a new TLS probe without a warm-up passes this; the
  // run-after-warm tests above are what show a warm-up works.
  it('the probes that build a TLS trust store are the ones with a warm-up', () => {
    const warmed = (Object.entries(PROBES) as [ProbeKind, Probe][]).filter(([, p]) => typeof p.warm === 'function').map(([k]) => k);
    expect(warmed.sort()).toEqual(['dns', 'http', 'signal', 'telegram', 'throughput', 'tls', 'tls_duration', 'whatsapp']);
  });
});

describe('warmProbes (before each sweep)', () => {
  const fake = (kind: ProbeKind, warm?: Probe['warm']): Probe => ({ kind, run: () => Promise.reject(new Error('not run')), ...(warm ? { warm } : {}) });

  it("warms each requested kind once, skips kinds that are not requested or have no warm-up, and goes on past one that throws", () => {
    const calls: string[] = [];
    const registry: Partial<Record<ProbeKind, Probe>> = {
      tls: fake('tls', () => void calls.push('tls')),
      http: fake('http', () => {
        calls.push('http');
        throw new ProbeInputError('http: options.extraCaPem is not a usable PEM certificate');
      }),
      dns: fake('dns'),
      signal: fake('signal', () => void calls.push('signal')),
    };
    const failures: [string, string][] = [];
    warmProbes(registry, ['http', 'tls', 'dns', 'tls', 'tcp'], DEFAULT_PROBE_OPTIONS, (kind, err) => failures.push([kind, (err as Error).message]));
    expect(calls).toEqual(['http', 'tls']);
    expect(failures).toEqual([['http', 'http: options.extraCaPem is not a usable PEM certificate']]);
  });
});
