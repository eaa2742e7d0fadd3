// IPv6 answers on an IPv4-only probe (issue 14 §9), in a namespace of ours
// whose only interface is lo: an IPv6 connect to a global address fails at
// once with network_unreachable, as on a volunteer's IPv4-only line. Those
// failures must neither make TCP/TLS look blocked nor keep the http probe
// from the IPv4 address; every address is tried up to the cap. Also: a
// redirect to a name the local resolver says does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpDetails, ProbeResult, TcpDetails, TlsDetails } from '../../probes/types.js';
import { makePki } from '../helpers/certs.js';
import { TestNetns } from '../helpers/loopback/netns.js';

const V6 = ['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4'];

let ns: TestNetns;
beforeAll(() => {
  ns = TestNetns.create();
});
afterAll(() => ns?.destroy());

describe('IPv6 answers on an IPv4-only probe', () => {
  it('tcp: IPv4 is tried even behind four IPv6 answers; IPv6 is network_unreachable and ipv6_available false', async () => {
    const result = await ns.child<ProbeResult<TcpDetails>>({
      kind: 'probe',
      probe: 'tcp',
      url: 'tcp://site.test:8080',
      addresses: [...V6, '127.0.0.1'],
      http: [{ port: 8080 }],
      options: { timeoutMs: 2000 },
    });
    expect(result.details.connects.map((c) => [c.ip, c.failure])).toEqual([
      ['2001:db8::1', 'network_unreachable'],
      ['127.0.0.1', null],
      ['2001:db8::2', 'network_unreachable'],
      ['2001:db8::3', 'network_unreachable'],
    ]);
    expect(result.details.ipv6_available).toBe(false);
    expect(result.failure).toBeNull();
  });

  it('tcp: a refused IPv4 decides the failure, not the IPv6 addresses listed first; the cap is configurable', async () => {
    const result = await ns.child<ProbeResult<TcpDetails>>({
      kind: 'probe',
      probe: 'tcp',
      url: 'tcp://site.test:8081',
      addresses: [...V6, '127.0.0.1'],
      options: { timeoutMs: 2000, maxAddresses: 2 },
    });
    expect(result.details.connects.map((c) => [c.ip, c.failure])).toEqual([
      ['2001:db8::1', 'network_unreachable'],
      ['127.0.0.1', 'connection_refused'],
    ]);
    expect(result.failure).toBe('connection_refused');
    expect(result.failed_operation).toBe('connect');
  });

  it('tls: the IPv4 handshake decides; unreachable IPv6 handshakes are recorded and marked', async () => {
    const pki = makePki('rasad v6 CA');
    const leaf = pki.leaf(['site.test']);
    const result = await ns.child<ProbeResult<TlsDetails>>({
      kind: 'probe',
      probe: 'tls',
      url: 'https://site.test:8443/',
      addresses: [V6[0], '127.0.0.1'],
      tls: [{ port: 8443, ...leaf }],
      options: { timeoutMs: 2000, extraCaPem: pki.ca.cert, innocuousSni: 'example.org' },
    });
    const real = result.details.handshakes.filter((h) => !h.innocuous);
    expect(real.map((h) => [h.ip, h.failure])).toEqual([
      [V6[0], 'network_unreachable'],
      ['127.0.0.1', null],
    ]);
    expect(result.details.ipv6_available).toBe(false);
    expect(result.failure).toBeNull();
  });

  it('http: an IPv6 answer first does not stop the fetch from the IPv4 address', async () => {
    const result = await ns.child<ProbeResult<HttpDetails>>({
      kind: 'probe',
      probe: 'http',
      url: 'http://site.test:8080/',
      addresses: [V6[0], '127.0.0.1'],
      http: [{ port: 8080, body: 'v4 page' }],
      options: { timeoutMs: 2000 },
    });
    expect(result.failure).toBeNull();
    expect(result.details.hops).toHaveLength(1);
    expect(result.details.hops[0]).toMatchObject({ ip: '127.0.0.1', status_code: 200, body_sample: 'v4 page' });
  });
});

describe('a redirect to a name the local resolver calls NXDOMAIN', () => {
  it('the next hop records dns_nxdomain_error in resolve', async () => {
    const result = await ns.child<ProbeResult<HttpDetails>>({
      kind: 'probe',
      probe: 'http',
      url: 'http://site.test:8080/',
      addresses: ['127.0.0.1'],
      http: [{ port: 8080, location: 'http://gone.test/next' }],
      dns: { mode: 'nxdomain' },
      options: { timeoutMs: 2000 },
    });
    expect(result.details.hops.map((h) => [h.url, h.status_code, h.failure, h.failed_operation])).toEqual([
      ['http://site.test:8080/', 302, null, null],
      ['http://gone.test/next', null, 'dns_nxdomain_error', 'resolve'],
    ]);
    expect(result.failure).toBe('dns_nxdomain_error');
    expect(result.failed_operation).toBe('resolve');
  });
});
