// The OONI mapping in detail: verdict to blocking/accessible, the template
// formats' fields, t0/t moved to the unit's start, redirect chains in
// time-reverse order, report ids, and the streaming grouping of web units.
import { describe, expect, it } from 'vitest';
import { VERDICTS, type Measurement } from '../../src/model.js';
import { reportId } from '../../src/export/ooni/envelope.js';
import { ooniMeasurements, type OoniStats } from '../../src/export/ooni/measurements.js';
import { blockingOf, webConnectivityKeys } from '../../src/experiments/web/ooni.js';
import { fixtureMeasurements } from './helpers.js';

const unitOf = (url: string) => fixtureMeasurements().filter((m) => m.url === url);

describe('blockingOf', () => {
  it('gives every verdict OONI\'s blocking/accessible pair (ts-017)', () => {
    const table = Object.fromEntries(VERDICTS.map((v) => [v, blockingOf(v)]));
    expect(table).toEqual({
      ok: { blocking: false, accessible: true },
      down: { blocking: false, accessible: false },
      'dns.nxdomain': { blocking: 'dns', accessible: false },
      'dns.injected': { blocking: 'dns', accessible: false },
      'dns.timeout': { blocking: 'dns', accessible: false },
      'tcp.blocked': { blocking: 'tcp_ip', accessible: false },
      'tls.reset': { blocking: 'http-failure', accessible: false },
      'http.reset': { blocking: 'http-failure', accessible: false },
      'http.blockpage': { blocking: 'http-diff', accessible: false },
      'http.diff': { blocking: 'http-diff', accessible: false },
      'tls.session_cut': { blocking: null, accessible: null },
      throttled: { blocking: null, accessible: null },
      'protocol.filtered': { blocking: null, accessible: null },
      'network.offline': { blocking: null, accessible: null },
      // A captive portal answered: nothing is known about the target.
      'network.captive': { blocking: null, accessible: null },
      // The site refuses the country itself: no state blocking, and not accessible either.
      'site.geoblocked': { blocking: false, accessible: false },
      'protocol.blocked': { blocking: null, accessible: null },
      inconclusive: { blocking: null, accessible: null },
    });
  });
});

describe('webConnectivityKeys', () => {
  it('writes DNS answers, rcodes and engines the df-002 way, with the late injected-vs-real responses kept', () => {
    const { testKeys } = webConnectivityKeys(unitOf('https://www.facebook.com/'));
    const [system, udp] = testKeys.queries as Record<string, any>[];
    expect(system).toMatchObject({ engine: 'getaddrinfo', resolver_address: '', query_type: 'ANY', answers: [{ answer_type: 'A', ipv4: '10.10.34.34', ttl: null }] });
    expect(system!.rcode).toBeUndefined();
    expect(udp).toMatchObject({ engine: 'udp', resolver_address: '192.0.2.53:53', rcode: 0, x_injection_suspected: true, x_bogons: ['10.10.34.34'] });
    expect(udp!.x_responses[1].answers).toEqual([
      { answer_type: 'CNAME', hostname: 'star-mini.c10r.facebook.com', ttl: 3600 },
      { answer_type: 'A', ipv4: '157.240.1.35', ttl: 60 },
    ]);
    const ok = webConnectivityKeys(unitOf('https://www.aparat.com/')).testKeys.queries as Record<string, any>[];
    expect(ok[1]).toMatchObject({ engine: 'doh', query_type: 'AAAA', failure: 'dns_no_answer', answers: [] });
  });

  it('measures t0/t from the unit\'s start and the runtime to its last probe\'s end', () => {
    const { testKeys, startMs, runtimeS } = webConnectivityKeys(unitOf('https://www.aparat.com/'));
    expect(new Date(startMs).toISOString()).toBe('2025-06-01T10:00:05.000Z');
    // The TLS probe started 1.03 s after the DNS probe; its first handshake ended 0.0301 s into it.
    expect((testKeys.tls_handshakes as { t0: number; t: number }[])[0]).toMatchObject({ t0: 1.03, t: 1.0601 });
    // The HTTP probe started at +1.1 s and ran 412.5 ms.
    expect(runtimeS).toBe(1.5125);
  });

  it('lists the redirect chain final response first, each hop tagged with its depth', () => {
    const requests = webConnectivityKeys(unitOf('https://www.aparat.com/')).testKeys.requests as Record<string, any>[];
    expect(requests.map((r) => [r.request.url, r.response.code, r.tags])).toEqual([
      ['https://www.aparat.com/fa/', 200, ['depth=1']],
      ['https://www.aparat.com/', 302, ['depth=0']],
    ]);
    expect(requests[0]).toMatchObject({ address: '185.147.178.13:443', t0: 1.1713, t: 1.5121 });
    expect(requests[0]!.response.headers_list).toContainEqual(['Set-Cookie', 'lang=fa; Path=/, theme=dark']);
    // The sample was stripped (an ok page keeps only its hash and length): the body is marked truncated.
    expect(requests[0]!.response).toMatchObject({ body: '', body_is_truncated: true, x_body_length: 94210 });
  });

  it('gives a failed request a null body and code 0, and records the helper\'s absence', () => {
    const fb = unitOf('https://www.facebook.com/').filter((m) => m.probe !== 'dns' && m.probe !== 'http');
    const { testKeys } = webConnectivityKeys(fb);
    expect(testKeys.control).toEqual({});
    expect(testKeys.control_failure).toBe('unknown_failure: no control answer');
    const withHttp = webConnectivityKeys(unitOf('https://www.facebook.com/')).testKeys;
    expect((withHttp.requests as Record<string, any>[])[0]!.response).toMatchObject({ body: null, code: 0 });
    expect(withHttp.http_experiment_failure).toMatch(/^unknown_failure: connect EHOSTUNREACH/);
  });

  it('survives measurements with missing or wrong-typed details', () => {
    const bad = [
      { probe: 'dns', url: 'https://x.example/', run_id: 'r', started_at: 'not a time', details: null },
      { probe: 'tcp', url: 'https://x.example/', run_id: 'r', started_at: '2025-06-01T10:00:00Z', details: { connects: 'nope' } },
      { probe: 'http', url: 'https://x.example/', run_id: 'r', details: { hops: [null, { url: 'https://x.example/' }] } },
      { probe: 'tls', url: 'https://x.example/', run_id: 'r', details: { handshakes: [{ ip: '192.0.2.1' }] } },
    ] as unknown as Measurement[];
    const { testKeys } = webConnectivityKeys(bad);
    expect(testKeys.queries).toEqual([]);
    expect(testKeys.tcp_connect).toEqual([]);
    expect((testKeys.requests as unknown[]).length).toBe(1);
    expect((testKeys.tls_handshakes as { address: string }[])[0]!.address).toBe('192.0.2.1:0');
    expect(testKeys.x_rasad_verdict).toBe('inconclusive');
  });
});

describe('reportId', () => {
  it('has OONI\'s shape, is stable for a run and test, and differs between tests', () => {
    const start = Date.parse('2025-06-01T10:00:00Z');
    const a = reportId('run-1', start, 'web_connectivity', 'IR', 'AS58224');
    expect(a).toMatch(/^20250601T100000Z_webconnectivity_IR_58224_n1_[A-Za-z0-9]{16}$/);
    expect(reportId('run-1', start, 'web_connectivity', 'IR', 'AS58224')).toBe(a);
    expect(reportId('run-2', start, 'web_connectivity', 'IR', 'AS58224')).not.toBe(a);
    expect(reportId('run-1', start, 'rasad_throughput', 'IR', 'AS58224')).toMatch(/_rasadthroughput_IR_58224_n1_/);
  });
});

describe('ooniMeasurements', () => {
  const options = { includeIp: false, probeAsn: 'AS0', probeCc: 'ZZ', runStart: () => Date.parse('2025-06-01T09:59:59Z') };

  it('joins adjacent measurements of one (run, URL) and lets long-lived ones through one by one', () => {
    // The store's order for this: run, URL, time (byte order, as SQLite compares text).
    const key = (m: Measurement) => `${m.run_id}\u0000${m.url}\u0000${m.started_at}`;
    const ordered = fixtureMeasurements().sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const stats: OoniStats = { read: 0, written: 0, skipped: 0 };
    const out = [...ooniMeasurements(ordered, options, stats)];
    expect(stats).toEqual({ read: 14, written: 6, skipped: 0 });
    expect(out.map((m) => (m.test_keys as { x_rasad_measurement_ids: string[] }).x_rasad_measurement_ids.length)).toEqual([3, 4, 4, 1, 1, 1]);
    expect(out.every((m) => m.test_start_time === '2025-06-01 09:59:59')).toBe(true);
  });

  it('reads a bare endpoint\'s unit as rasad_tcp_reachability, skips unknown kinds, and splits an absurdly long unit', () => {
    const tcp = { ...unitOf('https://www.aparat.com/')[1]!, url: 'tcp://203.0.113.5:443' };
    const unknown = { ...tcp, probe: 'smtp' } as unknown as Measurement;
    const many = Array.from({ length: 70 }, (_, i) => ({ ...tcp, measurement_id: `m${i}` }));
    const stats: OoniStats = { read: 0, written: 0, skipped: 0 };
    const out = [...ooniMeasurements([unknown, ...many], options, stats)];
    expect(stats).toEqual({ read: 71, written: 2, skipped: 1 });
    expect(out.map((m) => m.test_name)).toEqual(['rasad_tcp_reachability', 'rasad_tcp_reachability']);
    expect(out.map((m) => (m.test_keys as { tcp_connect: unknown[] }).tcp_connect.length)).toEqual([64, 6]);
  });
});
