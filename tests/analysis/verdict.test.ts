// The analysis beyond the golden cases: retries, options, the rules that
// keep false positives out, and bad input. Cases start from a golden
// fixture and change one thing, so each test shows what that thing decides.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DnsDetails, HttpDetails, ProbeResult, TcpDetails, TlsDetails } from '../../probes/types.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { judgeSweep, needsRetry, type AttemptResults, type UnitObservation } from '../../src/analysis/verdict.js';
import { VERDICTS } from '../../src/model.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'verdicts');
const fingerprints = defaultFingerprints();

function units(name: string): UnitObservation[] {
  return (JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { units: UnitObservation[] }).units;
}
function unit(name: string): UnitObservation {
  return units(name)[0]!;
}
function judge(list: UnitObservation[], extra: Record<string, number> = {}) {
  return judgeSweep(list, { fingerprints, ...extra });
}
function judgeOne(u: UnitObservation) {
  return judge([u])[0]!;
}
const httpOf = (a: AttemptResults) => a.http as ProbeResult<HttpDetails>;
const dnsOf = (a: AttemptResults) => a.dns as ProbeResult<DnsDetails>;
const tcpOf = (a: AttemptResults) => a.tcp as ProbeResult<TcpDetails>;
const tlsOf = (a: AttemptResults) => a.tls as ProbeResult<TlsDetails>;

describe('needsRetry', () => {
  it('retries an attempt where a web probe failed, and not a clean one', () => {
    const blocked = unit('tcp-blocked').attempts[0]!;
    const clean = unit('ok-https-consistent').attempts[0]!;
    expect(needsRetry(blocked)).toBe(true);
    expect(needsRetry(clean)).toBe(false);
  });

  it('does not retry a blockpage or an injected answer: they are not failures, and retrying cannot clear them', () => {
    expect(needsRetry(unit('http-blockpage-iran').attempts[0]!)).toBe(false);
    expect(needsRetry(unit('dns-injected-bogon').attempts[0]!)).toBe(true); // its TCP connect was refused
    expect(needsRetry({ dns: unit('dns-injected-bogon').attempts[0]!.dns })).toBe(false);
  });

  it('never retries the long-lived probes, and survives garbage', () => {
    expect(needsRetry(units('single-session-dies')[0]!.attempts[0]!)).toBe(false);
    expect(needsRetry({})).toBe(false);
    expect(needsRetry(null as unknown as AttemptResults)).toBe(false);
    expect(needsRetry({ http: 'oops' } as unknown as AttemptResults)).toBe(false);
  });
});

describe('retries', () => {
  it('take the last attempt when no attempt is clean', () => {
    const u = unit('tcp-blocked');
    u.attempts = [unit('tcp-blocked').attempts[0]!, unit('tcp-blocked').attempts[0]!];
    const r = judgeOne(u);
    expect(r.verdict).toBe('tcp.blocked');
    expect(r.evidence).toMatchObject({ decided_by_attempt: 1, attempts: [{ tcp: 'generic_timeout_error', verdict: 'tcp.blocked' }, { tcp: 'generic_timeout_error' }] });
  });

  it('keep positive evidence when an earlier attempt failed differently', () => {
    const u = unit('http-blockpage-iran');
    u.attempts.unshift(unit('http-reset').attempts[0]!);
    expect(judgeOne(u).verdict).toBe('http.blockpage');
  });
});

describe('DNS', () => {
  it('does not call a private address injected when the control resolves it too (a lab, an intranet name)', () => {
    const u = unit('ok-http-matches-control');
    const a = u.attempts[0]!;
    dnsOf(a).details.addresses = ['10.0.2.10'];
    for (const r of dnsOf(a).details.resolutions) {
      r.answers = [{ type: 'A', value: '10.0.2.10', ttl: 60 }];
      r.responses = [{ t: 0.01, rcode: 'NOERROR', answers: r.answers }];
    }
    tcpOf(a).details.connects = tcpOf(a).details.connects.map((c) => ({ ...c, ip: '10.0.2.10' }));
    u.control!.dns.addrs = ['10.0.2.10'];
    u.control!.tcp_connect = { '10.0.2.10:80': { status: true, failure: null } };
    expect(judgeOne(u).verdict).toBe('ok');
    u.control!.dns.addrs = ['151.101.1.69'];
    expect(judgeOne(u)).toMatchObject({ verdict: 'dns.injected', evidence: { bogons: ['10.0.2.10'] } });
  });

  it('accepts a bogon answer that presents a trusted certificate for the name, and nothing less', () => {
    // No control: a loopback answer is a bogon, unless the address proves it serves the name.
    const u = unit('tls-reset-innocuous-sni');
    const a = u.attempts[0]!;
    for (const r of dnsOf(a).details.resolutions) {
      r.answers = [{ type: 'A', value: '127.0.0.1', ttl: 60 }];
      r.responses = [{ t: 0.01, rcode: 'NOERROR', answers: r.answers }];
    }
    dnsOf(a).details.addresses = ['127.0.0.1'];
    for (const h of tlsOf(a).details.handshakes) h.ip = '127.0.0.1';
    const innocuous = tlsOf(a).details.handshakes.find((h) => h.innocuous)!;
    // The innocuous handshake got a chain-valid certificate whose SANs cover news.example.
    innocuous.peer_certificate = { subject_cn: 'news.example', san: ['DNS:*.example', 'DNS:news.example'], issuer_cn: 'CA', not_after: null };
    expect(judgeOne(u).verdict).toBe('tls.reset');
    innocuous.peer_certificate = { subject_cn: 'x', san: ['DNS:*.example'], issuer_cn: 'CA', not_after: null };
    expect(judgeOne(u).verdict).toBe('tls.reset'); // the wildcard covers one label
    innocuous.peer_certificate = { subject_cn: 'x', san: ['DNS:other.example', 'DNS:*.news.example'], issuer_cn: 'CA', not_after: null };
    expect(judgeOne(u)).toMatchObject({ verdict: 'dns.injected', evidence: { bogons: ['127.0.0.1'] } });
    innocuous.peer_certificate = { subject_cn: 'news.example', san: ['DNS:news.example'], issuer_cn: 'Self', not_after: null };
    Object.assign(innocuous, { cert_validation: 'unknown_authority', failure: 'ssl_unknown_authority' });
    expect(judgeOne(u).verdict).toBe('dns.injected');
  });

  it('sees a local NXDOMAIN even when DoH found the name', () => {
    const u = unit('dns-nxdomain');
    const d = dnsOf(u.attempts[0]!);
    d.details.resolutions.push({
      engine: 'doh', resolver: 'https://doh.example/dns-query', query_type: 'A', t0: 0, t: 0.2, failure: null, rcode: 'NOERROR',
      answers: [{ type: 'A', value: '151.101.1.69', ttl: 60 }], responses: [], bogons: [], injection_suspected: false,
    });
    d.details.addresses = ['151.101.1.69'];
    d.failure = null;
    d.failed_operation = null;
    expect(judgeOne(u).verdict).toBe('dns.nxdomain');
  });

  it('needs a control to call a local NXDOMAIN censorship', () => {
    const u = unit('dns-nxdomain');
    u.control = null;
    u.controlFailed = true;
    expect(judgeOne(u)).toMatchObject({ verdict: 'inconclusive' });
    expect(judgeOne(u).verdict_reason).toMatch(/no control helper answered/);
  });

  it('accepts an answer the control validated by TLS (ip_info flag 8) without local TLS data', () => {
    const u = unit('dns-injected-inconsistent');
    delete u.attempts[0]!.tls;
    u.control!.ip_info = { '185.88.180.5': { asn: 13335, flags: 1 | 8 } };
    u.attempts[0]!.http = httpOf(unit('ok-https-consistent').attempts[0]!);
    expect(judgeOne(u).verdict).toBe('ok');
  });
});

describe('TLS', () => {
  it('calls a reset SNI with a dead innocuous SNI and no control inconclusive', () => {
    const u = unit('tls-reset-innocuous-sni');
    const inn = tlsOf(u.attempts[0]!).details.handshakes.find((h) => h.innocuous)!;
    Object.assign(inn, { failure: 'connection_reset', cert_validation: null });
    expect(judgeOne(u).verdict).toBe('inconclusive');
  });

  it('calls it down when the control\'s handshake fails as well', () => {
    const u = unit('tls-reset-control');
    u.control!.tls_handshake = { '151.101.1.69:443': { server_name: 'news.example', status: false, failure: 'generic_timeout_error' } };
    u.control!.http_request = { body_length: -1, failure: 'generic_timeout_error', title: '', headers: {}, status_code: -1 };
    expect(judgeOne(u).verdict).toBe('down');
  });
});

describe('HTTP', () => {
  it('never calls a page that came over validated TLS a diff: the site itself served it', () => {
    const u = unit('http-diff');
    const h = httpOf(u.attempts[0]!).details.hops[0]!;
    h.url = 'https://news.example/';
    u.url = 'https://news.example/';
    const r = judgeOne(u);
    expect(r.verdict).toBe('inconclusive');
    expect(r.verdict_reason).toMatch(/validated TLS/);
  });

  it('does not excuse a diff over TLS when the redirect chain left the site', () => {
    const u = unit('http-diff');
    const hops = httpOf(u.attempts[0]!).details.hops;
    const redirect = { ...hops[0]!, status_code: 302, headers: { location: 'https://filter.example/notice' }, body_sample: '', body_length: 0, title: null };
    hops[0]!.url = 'https://filter.example/notice';
    hops.unshift(redirect);
    expect(judgeOne(u)).toMatchObject({ verdict: 'http.diff', evidence: { hops: 2 } });
    // The same chain ending on the site itself (www. variant) is the site's own page.
    hops[1]!.url = 'https://www.news.example/';
    expect(judgeOne(u).verdict).toBe('inconclusive');
  });

  it('follows the redirect chain: a blockpage on an earlier hop decides', () => {
    const u = unit('ok-http-matches-control');
    const hops = httpOf(u.attempts[0]!).details.hops;
    const block = { ...hops[0]!, status_code: 302, headers: { Location: 'http://peyvandha.ir/1-2.html' }, body_sample: '<a href="http://peyvandha.ir/1-2.html">moved</a>' };
    hops.unshift(block);
    expect(judgeOne(u)).toMatchObject({ verdict: 'http.blockpage', evidence: { fingerprint: 'ir.http.peyvandha' } });
  });

  it('never calls a page without a fingerprint a blockpage, whatever its body', () => {
    const base = unit('http-diff');
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 100, max: 599 }), fc.string({ maxLength: 40 }), (body, status, title) => {
        fc.pre(fingerprints.matchHttp({ ...httpOf(base.attempts[0]!).details.hops[0]!, body_sample: body, title, status_code: status }) === null);
        const u = structuredClone(base);
        Object.assign(httpOf(u.attempts[0]!).details.hops[0]!, { body_sample: body, title, status_code: status, body_length: body.length });
        const v = judgeOne(u).verdict;
        return v !== 'http.blockpage' && ['ok', 'http.diff', 'inconclusive'].includes(v);
      }),
      { numRuns: 300 },
    );
  });

  it('calls a page the control could not fetch inconclusive over http and ok over https', () => {
    const plain = unit('ok-http-matches-control');
    plain.control!.http_request = { body_length: -1, failure: 'connection_refused', title: '', headers: {}, status_code: -1 };
    expect(judgeOne(plain).verdict).toBe('inconclusive');
    const secure = unit('ok-https-consistent');
    secure.control!.http_request = { body_length: -1, failure: 'connection_refused', title: '', headers: {}, status_code: -1 };
    expect(judgeOne(secure).verdict).toBe('ok');
  });

  it('treats a reset inside TLS as inconclusive, not as http.reset', () => {
    const u = unit('ok-https-consistent');
    const h = httpOf(u.attempts[0]!).details.hops[0]!;
    Object.assign(h, { failure: 'connection_reset', failed_operation: 'read', status_code: null, body_sample: null, body_length: null, title: null, headers: {} });
    expect(judgeOne(u).verdict).toBe('inconclusive');
  });
});

describe('evidence', () => {
  it('carries the control summary, the failures of every attempt, and the timings', () => {
    const r = judgeOne(unit('http-reset'));
    expect(r.evidence).toMatchObject({
      control: { dns: { addrs: ['151.101.1.69'] }, tcp_connect: { '151.101.1.69:80': { status: true } }, http: { status_code: 200 } },
      control_failed: false,
      attempts: [{ dns: null, tcp: null, http: 'connection_reset', verdict: 'http.reset' }],
      http_failure: 'connection_reset',
      failed_operation: 'http_round_trip',
      timings: { runtime_ms: { dns: 35, tcp: 120, http: 420 } },
    });
  });
});

describe('options', () => {
  it('throttleRatio moves the line between slow and throttled', () => {
    const list = units('slow-not-throttled');
    expect(judge(list)[1]!.verdict).toBe('ok');
    // With two earlier sweeps that agree (the first sweeps alone do not decide: src/experiments/throughput/judge.ts).
    const agreeing = judgeSweep(list, { fingerprints, throttleRatio: 0.2, history: () => ({ throughputRatios: [0.17, 0.19] }) });
    expect(agreeing[1]).toMatchObject({ verdict: 'throttled', evidence: { ratio: 0.18, baseline_bps: 5_000_000, history_sweeps: 3 } });
    expect(judge(list, { throttleRatio: 0.2 })[1]!.verdict).toBe('inconclusive');
  });

  it('minCutSessions and cutToleranceS decide how many deaths agree', () => {
    const list = units('tls-session-cut');
    expect(judge(list, { minCutSessions: 4 })[0]!.verdict).toBe('inconclusive');
    // 60.2 and 59.6 agree within 1 s; 61.1 is 0.9 from 60.2 but 1.5 from 59.6.
    const tight = judge(list, { cutToleranceS: 1 });
    expect(tight[0]).toMatchObject({ verdict: 'tls.session_cut', evidence: { sessions_agreeing: 3 } });
    expect(tight[1]).toMatchObject({ verdict: 'tls.session_cut', evidence: { sessions_agreeing: 2, cut_after_s: 59.9 } });
    expect(judge(list, { cutToleranceS: 0.1 })[0]!.verdict).toBe('inconclusive');
  });
});

describe('network.offline', () => {
  it('needs 80% of the other units failing with the canary', () => {
    const list = units('network-offline-dead-wifi');
    // Two of the four foreign units recover: 50% failing is not an offline network.
    list[1] = unit('ok-https-consistent');
    list[2] = unit('ok-http-matches-control');
    const verdicts = judge(list).map((r) => r.verdict);
    expect(verdicts).not.toContain('network.offline');
    expect(verdicts[1]).toBe('ok');
  });

  it('is not inferred from one NXDOMAIN, nor from failures while a control answered', () => {
    expect(judge(units('down-nxdomain-everywhere'))[0]!.verdict).toBe('down');
    const list = units('network-offline-no-canary');
    list[0]!.control = unit('tcp-blocked').control;
    list[0]!.controlFailed = false;
    expect(judge(list).map((r) => r.verdict)).not.toContain('network.offline');
  });
});

describe('bad input', () => {
  it('becomes inconclusive verdicts, one per unit, never an exception', () => {
    const garbage = [
      null,
      42,
      { kind: 'web' },
      { kind: 'web', url: 'not a url', attempts: [{}], control: null, controlFailed: false, target: { raw: 'x', category: 'MISC', tags: [], inputs: [] } },
      { kind: 'web', url: 'http://a.example/', attempts: [{ http: { failure: null, details: { hops: 'nope' } } }], control: { dns: 1 }, controlFailed: false, target: {} },
      { kind: 'tls_duration', attempts: [{ tls_duration: { details: {} } }] },
      { kind: 'throughput', attempts: 'no' },
      { kind: 'protocol', attempts: [{ protocol: { details: { flows: [null, 3] } } }] },
      { kind: 'quantum' },
    ] as unknown as UnitObservation[];
    const results = judge(garbage);
    expect(results).toHaveLength(garbage.length);
    for (const r of results) {
      expect(VERDICTS).toContain(r.verdict);
      expect(r.verdict).not.toBe('ok');
      expect(typeof r.verdict_reason).toBe('string');
    }
    expect(results[8]!.verdict_reason).toMatch(/unknown unit kind "quantum"/);
  });

  it('survives any JSON value in any field', () => {
    const anyJson = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(fc.array(fc.oneof(anyJson, fc.record({ kind: fc.constantFrom('web', 'tls_duration', 'throughput', 'protocol'), url: fc.string(), attempts: fc.array(fc.dictionary(fc.constantFrom('dns', 'tcp', 'tls', 'http', 'tls_duration', 'throughput', 'protocol'), anyJson)), control: anyJson, controlFailed: fc.boolean(), target: anyJson })), { maxLength: 6 }), (list) => {
        const results = judge(list as unknown as UnitObservation[]);
        return results.length === list.length && results.every((r) => VERDICTS.includes(r.verdict) && typeof r.verdict_reason === 'string');
      }),
      { numRuns: 300 },
    );
  });
});
