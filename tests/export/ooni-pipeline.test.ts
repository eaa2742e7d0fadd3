// Re-derives from the OONI export what OONI's pipeline needs (oonipipeline
// transforms/measurement_transformer.py, consume_web_observations): steps
// joined by transaction_id before any match by IP, every handshake's
// network events found by its transaction with its own address first, the
// site's handshakes named for the URL's host unless tagged, and ts-017's
// summary keys computed from the control.
import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/model.js';
import { annotations } from '../../src/export/ooni/envelope.js';
import { DNS_CONSISTENCY_TAG, INNOCUOUS_SNI_TAG, webConnectivityKeys } from '../../src/experiments/web/ooni.js';
import { fixtureMeasurements } from './helpers.js';

type Rec = Record<string, any>;
const unitOf = (url: string) => structuredClone(fixtureMeasurements().filter((m) => m.url === url));
const hostOf = (url: string) => new URL(url).hostname;
const ipOf = (address: string) => address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');

/** What the pipeline joins: per tcp_connect (after DNS took its share by IP), the tls and request of its transaction. */
function joinLikeThePipeline(keys: Rec): { tcp: Rec; tls: Rec | undefined; http: Rec | undefined }[] {
  const tls = [...keys.tls_handshakes];
  const http = [...keys.requests];
  const take = (list: Rec[], id: number) => {
    const i = list.findIndex((x) => x.transaction_id === id);
    return i < 0 ? undefined : list.splice(i, 1)[0];
  };
  return (keys.tcp_connect as Rec[]).map((tcp) => ({ tcp, tls: take(tls, tcp.transaction_id), http: take(http, tcp.transaction_id) }));
}

/** A unit as the probes record it now: a hop's request headers, the chain and cipher of a real-SNI handshake. */
function enriched(unit: Measurement[]): Measurement[] {
  for (const m of unit) {
    const d = m.details as Rec;
    if (m.probe === 'http') for (const hop of d.hops) hop.request_headers = [['host', hostOf(hop.url)], ['user-agent', 'Mozilla/5.0'], ['accept-encoding', 'identity']];
    if (m.probe === 'tls')
      for (const h of d.handshakes) {
        h.cipher_suite = 'TLS_AES_128_GCM_SHA256';
        h.connect_ms = h.failure === 'generic_timeout_error' ? null : 5;
        if (!h.innocuous) h.peer_certificates = ['MIIBZGVy'];
      }
  }
  return unit;
}

describe('the OONI export, read as OONI\'s pipeline reads it', () => {
  it.each(['https://www.aparat.com/', 'https://www.facebook.com/', 'http://www.bbc.com/persian'])('%s: every request\'s transaction has its tcp_connect; every handshake is the URL\'s host unless tagged', (url) => {
    const keys = webConnectivityKeys(enriched(unitOf(url))).testKeys as Rec;
    const connects = new Set((keys.tcp_connect as Rec[]).map((c) => c.transaction_id));
    for (const r of keys.requests as Rec[]) {
      if (r.address) expect(connects.has(r.transaction_id), `request ${r.request.url}`).toBe(true);
      if (r.address) expect((keys.tcp_connect as Rec[]).find((c) => c.transaction_id === r.transaction_id)!.ip).toBe(ipOf(r.address));
    }
    for (const h of keys.tls_handshakes as Rec[]) {
      const tagged = h.tags.includes(INNOCUOUS_SNI_TAG) || h.tags.includes(DNS_CONSISTENCY_TAG);
      if (!tagged) expect(h.server_name).toBe(hostOf(url));
      // The pipeline asserts the first event of a handshake's transaction carries its address.
      const events = (keys.network_events as Rec[]).filter((e) => e.transaction_id === h.transaction_id).sort((a, b) => a.t - b.t);
      expect(events.length).toBeGreaterThan(0);
      expect(events[0]!.address).toBe(h.address);
    }
    // Queries, connects, handshakes and requests all carry ids.
    for (const list of ['queries', 'tcp_connect', 'tls_handshakes', 'requests']) for (const x of keys[list] as Rec[]) expect(Number.isInteger(x.transaction_id)).toBe(true);
  });

  it('joins a healthy HTTPS site\'s connect with its own valid handshake and request, not the innocuous one', () => {
    const keys = webConnectivityKeys(enriched(unitOf('https://www.aparat.com/'))).testKeys as Rec;
    const [site] = joinLikeThePipeline(keys);
    expect(site!.tls).toMatchObject({ server_name: 'www.aparat.com', failure: null, cipher_suite: 'TLS_AES_128_GCM_SHA256', peer_certificates: [{ format: 'base64', data: 'MIIBZGVy' }] });
    expect(site!.http!.request.url).toBe('https://www.aparat.com/fa/');
    // The innocuous handshake is its own transaction, after the site's, tagged.
    const innocuous = (keys.tls_handshakes as Rec[]).find((h) => h.server_name === 'example.org')!;
    expect(innocuous.tags).toEqual([INNOCUOUS_SNI_TAG]);
    expect(innocuous.transaction_id).not.toBe(site!.tcp.transaction_id);
    expect((keys.tls_handshakes as Rec[]).indexOf(innocuous)).toBe(keys.tls_handshakes.length - 1);
    expect(innocuous.peer_certificates).toEqual([]);
  });

  it('writes the request headers sent, canonically cased', () => {
    const keys = webConnectivityKeys(enriched(unitOf('https://www.aparat.com/'))).testKeys as Rec;
    expect(keys.requests[0].request.headers_list).toEqual([['Host', 'www.aparat.com'], ['User-Agent', 'Mozilla/5.0'], ['Accept-Encoding', 'identity']]);
    expect(keys.requests[0].request.headers['User-Agent']).toBe('Mozilla/5.0');
    expect(keys.requests[0].alpn).toBeUndefined();
  });

  it('keeps a handshake whose connect failed out of tls_handshakes (it never reached TLS)', () => {
    const keys = webConnectivityKeys(enriched(unitOf('https://www.facebook.com/'))).testKeys as Rec;
    expect((keys.tls_handshakes as Rec[]).map((h) => h.server_name)).toEqual(['www.facebook.com']);
    expect(keys.x_rasad_tls_unconnected).toMatchObject([{ server_name: 'example.org', failure: 'generic_timeout_error' }]);
    expect((keys.network_events as Rec[]).find((e) => e.transaction_id === keys.x_rasad_tls_unconnected[0].transaction_id)).toMatchObject({ operation: 'connect', failure: 'generic_timeout_error' });
  });

  it('computes ts-017\'s summary keys from the control when the evidence has no comparison', () => {
    const keys = webConnectivityKeys(unitOf('https://www.aparat.com/')).testKeys as Rec;
    // 94210 bytes against the control's 95102.
    expect(keys).toMatchObject({ status_code_match: true, body_length_match: true, title_match: true, headers_match: false, client_resolver: null, retries: 0, dns_consistency: null });
    expect(keys.body_proportion).toBeCloseTo(94210 / 95102, 6);
  });

  it('takes the summary keys from the judge\'s evidence when it has them', () => {
    const unit = unitOf('https://www.aparat.com/');
    const last = unit[unit.length - 1]!;
    last.evidence = { attempts: [{}, {}], dns_consistency: 'inconsistent', comparison: { status_code_match: false, body_proportion: 0.1, body_length_match: false, headers_match: false, title_match: null, http_diff: true } };
    const keys = webConnectivityKeys(unit).testKeys as Rec;
    expect(keys).toMatchObject({ dns_consistency: 'inconsistent', status_code_match: false, body_proportion: 0.1, body_length_match: false, headers_match: false, title_match: null, retries: 1 });
  });

  it('marks an http:// input\'s 443 handshakes as DNS-consistency checks', () => {
    const unit = unitOf('http://www.bbc.com/persian');
    unit.splice(2, 0, {
      ...unit[1]!,
      probe: 'tls',
      measurement_id: 'tls-1',
      details: { purpose: 'dns_consistency', handshakes: [{ ip: '151.101.0.81', port: 443, server_name: 'www.bbc.com', innocuous: false, t0: 0, t: 0.05, failure: null, cert_validation: 'valid', tls_version: 'TLSv1.3', alpn: 'h2', handshake_ms: 30, connect_ms: 10, peer_certificate: null, purpose: 'dns_consistency' }] },
    } as Measurement);
    const keys = webConnectivityKeys(unit).testKeys as Rec;
    expect(keys.tls_handshakes[0]).toMatchObject({ tags: [DNS_CONSISTENCY_TAG], x_purpose: 'dns_consistency', address: '151.101.0.81:443' });
    // Not joined to the port-80 request: its own endpoint.
    const request = (keys.requests as Rec[]).find((r) => r.address === '151.101.0.81:80')!;
    expect(request.transaction_id).not.toBe(keys.tls_handshakes[0].transaction_id);
  });

  it('annotates the engine\'s full version and the network type', () => {
    expect(annotations()).toMatchObject({ engine_name: 'rasad', network_type: 'unknown', engine_version_full: expect.stringMatching(/^rasad \S+ \(node /) });
  });
});
