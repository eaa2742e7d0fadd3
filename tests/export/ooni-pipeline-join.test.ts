// OONI's pipeline joins a measurement's steps into web observations
// (oonipipeline transforms/measurement_transformer.py,
// consume_web_observations): each DNS answer first takes the tcp_connect,
// tls_handshake and request of its query's transaction_id, and failing that
// the first one with its IP, consuming what it takes; then each leftover
// tcp_connect does the same for handshakes and requests; then each leftover
// handshake for requests. A TLS observation reads as an anomaly when it has a
// failure or its certificate is invalid (make_tls_outcome), and a handshake
// made with verification (no_tls_verify false) is invalid when it failed on
// the certificate. This file replays that join on rasad's export with several
// resolvers answering the same address: whatever the pipeline joins to the
// site, a healthy site must read healthy.
import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/model.js';
import { INNOCUOUS_SNI_TAG, webConnectivityKeys } from '../../src/experiments/web/ooni.js';
import { fixtureMeasurements } from './helpers.js';

type Rec = Record<string, any>;

interface Obs {
  ip: string | null;
  transaction_id: number | null;
  raw: Rec;
}

interface WebObservation {
  dns?: Rec;
  tcp?: Rec;
  tls?: Rec;
  http?: Rec;
}

const ipOf = (address: string | undefined) => (address ? address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '') : null);

function take(list: Obs[], transactionId: number | null, ip: string | null): Rec | undefined {
  let i = transactionId ? list.findIndex((o) => o.transaction_id === transactionId) : -1;
  if (i < 0 && ip) i = list.findIndex((o) => o.ip === ip);
  return i < 0 ? undefined : list.splice(i, 1)[0]!.raw;
}

/** consume_web_observations, step for step. */
function consumeLikeThePipeline(keys: Rec): WebObservation[] {
  const dns = (keys.queries as Rec[]).flatMap((q) => (q.answers?.length ? q.answers : [null]).map((a: Rec | null) => ({ q, answer: a?.ipv4 ?? a?.ipv6 ?? null })));
  const tcp: Obs[] = (keys.tcp_connect as Rec[]).map((c) => ({ ip: c.ip, transaction_id: c.transaction_id ?? null, raw: c }));
  const tls: Obs[] = (keys.tls_handshakes as Rec[]).map((h) => ({ ip: ipOf(h.address), transaction_id: h.transaction_id ?? null, raw: h }));
  const http: Obs[] = (keys.requests as Rec[]).map((r) => ({ ip: ipOf(r.address), transaction_id: r.transaction_id ?? null, raw: r }));
  const out: WebObservation[] = [];
  for (const d of dns) {
    const id = d.q.transaction_id ?? null;
    out.push({ dns: { ...d.q, answer: d.answer }, tcp: take(tcp, id, d.answer), tls: take(tls, id, d.answer), http: take(http, id, d.answer) });
  }
  for (const t of tcp.splice(0)) out.push({ tcp: t.raw, tls: take(tls, t.transaction_id, t.ip), http: take(http, t.transaction_id, t.ip) });
  for (const h of tls.splice(0)) out.push({ tls: h.raw, http: take(http, h.transaction_id, h.ip) });
  for (const r of http.splice(0)) out.push({ http: r.raw });
  return out;
}

/** make_tls_outcome's test for a TLS anomaly, with is_certificate_valid as measurement_to_tls_observation sets it. */
function tlsAnomaly(h: Rec): boolean {
  let valid: boolean | null = null;
  if (h.no_tls_verify === false) {
    if (['ssl_invalid_hostname', 'ssl_unknown_authority', 'ssl_invalid_certificate'].includes(h.failure)) valid = false;
    else if (!h.failure) valid = true;
  }
  return Boolean(h.failure) || valid === false;
}

/** A unit whose DNS step asked `resolvers` resolvers, every one answering the site's one address. */
function unitWithResolvers(url: string, resolvers: string[]): Measurement[] {
  const unit = structuredClone(fixtureMeasurements().filter((m) => m.url === url));
  const dns = unit.find((m) => m.probe === 'dns')!;
  const d = dns.details as Rec;
  const ip = d.addresses[0];
  d.resolutions = resolvers.map((engine, i) => ({
    engine,
    resolver: engine === 'system' ? 'getaddrinfo' : engine === 'udp' ? '5.9.10.53:53' : 'https://doh.lab.internal/dns-query',
    query_type: 'A',
    t0: i * 0.01,
    t: i * 0.01 + 0.005,
    failure: null,
    rcode: 'NOERROR',
    answers: [{ type: 'A', value: ip, ttl: 60 }],
    responses: [{ t: i * 0.01 + 0.005, rcode: 'NOERROR', answers: [{ type: 'A', value: ip, ttl: 60 }] }],
    bogons: [],
    injection_suspected: false,
  }));
  return unit;
}

describe('OONI\'s pipeline joining rasad\'s steps', () => {
  const url = 'https://www.aparat.com/';

  it.each([1, 2, 3, 4])('%i resolver(s) answering the same address: the healthy site reads healthy, whatever joins the innocuous handshake', (n) => {
    const resolvers = ['system', 'udp', 'doh', 'udp'].slice(0, n);
    const keys = webConnectivityKeys(unitWithResolvers(url, resolvers)).testKeys as Rec;
    const observations = consumeLikeThePipeline(keys);
    // The innocuous handshake really did fail the certificate check (the site's certificate is not example.org's).
    const innocuous = (keys.tls_handshakes as Rec[]).find((h) => h.tags.includes(INNOCUOUS_SNI_TAG))!;
    expect(innocuous).toMatchObject({ server_name: 'example.org', no_tls_verify: true, failure: null, x_certificate_failure: 'ssl_invalid_hostname' });
    for (const o of observations) if (o.tls) expect(tlsAnomaly(o.tls), `TLS observation ${o.tls.server_name} joined to ${o.dns ? 'a DNS answer' : 'no DNS answer'}`).toBe(false);
    // The site's own handshake is joined to the first DNS answer, with its connect and request.
    expect(observations[0]).toMatchObject({ dns: { answer: '185.147.178.13' }, tcp: { port: 443 }, tls: { server_name: 'www.aparat.com' } });
    expect(observations[0]!.http?.request.url.startsWith('https://www.aparat.com/')).toBe(true);
  });

  it('keeps a real failure of the innocuous handshake: a reset is not a certificate verdict', () => {
    const unit = unitWithResolvers(url, ['system', 'udp', 'doh']);
    const tls = unit.find((m) => m.probe === 'tls')!.details as Rec;
    tls.handshakes[1].failure = 'connection_reset';
    const keys = webConnectivityKeys(unit).testKeys as Rec;
    const innocuous = (keys.tls_handshakes as Rec[]).find((h) => h.tags.includes(INNOCUOUS_SNI_TAG))!;
    expect(innocuous.failure).toBe('connection_reset');
    expect(innocuous.x_certificate_failure).toBeUndefined();
  });

  it('keeps the site\'s own certificate failure as a failure, verified', () => {
    const unit = unitWithResolvers(url, ['system', 'udp']);
    const tls = unit.find((m) => m.probe === 'tls')!.details as Rec;
    tls.handshakes[0].failure = 'ssl_unknown_authority';
    tls.handshakes[0].cert_validation = 'untrusted';
    const keys = webConnectivityKeys(unit).testKeys as Rec;
    const observations = consumeLikeThePipeline(keys);
    expect(observations[0]!.tls).toMatchObject({ server_name: 'www.aparat.com', no_tls_verify: false, failure: 'ssl_unknown_authority' });
    expect(tlsAnomaly(observations[0]!.tls!)).toBe(true);
  });
});
