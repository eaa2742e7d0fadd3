// Which addresses the tcp/tls/http probes try, and in what order: both
// families interleaved up to the cap, the cap configurable, and addresses
// that connected put first for the http probe.
import { describe, expect, it } from 'vitest';
import { addressCap, interleaveFamilies, ipv6Availability, preferConnected } from '../../probes/tcp.js';
import type { TcpDetails } from '../../probes/types.js';

describe('interleaveFamilies', () => {
  it('four IPv6 answers first cannot push the IPv4 answers past the cap', () => {
    expect(interleaveFamilies(['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4', '192.0.2.1', '192.0.2.2'], 4)).toEqual([
      '2001:db8::1',
      '192.0.2.1',
      '2001:db8::2',
      '192.0.2.2',
    ]);
  });

  it('one family keeps its order; duplicates and non-IPs go; the cap holds', () => {
    expect(interleaveFamilies(['192.0.2.3', 'junk', '192.0.2.1', '192.0.2.3', '192.0.2.2'], 2)).toEqual(['192.0.2.3', '192.0.2.1']);
    expect(interleaveFamilies([], 4)).toEqual([]);
  });

  it('the cap comes from options.maxAddresses, default 4, never below 1', () => {
    expect(addressCap({})).toBe(4);
    expect(addressCap({ maxAddresses: 8 })).toBe(8);
    expect(addressCap({ maxAddresses: 0 })).toBe(4);
    expect(addressCap({ maxAddresses: 2.5 })).toBe(4);
  });
});

describe('ipv6Availability and preferConnected', () => {
  const connect = (ip: string, port: number, failure: string | null) => ({ ip, port, t0: 0, t: 0, failure, connect_ms: failure ? null : 1 });

  it('false only when every IPv6 connect had no route; undefined with none', () => {
    expect(ipv6Availability([connect('2001:db8::1', 80, 'network_unreachable'), connect('192.0.2.1', 80, null)])).toBe(false);
    expect(ipv6Availability([connect('2001:db8::1', 80, 'network_unreachable'), connect('2001:db8::2', 80, 'connection_refused')])).toBe(true);
    expect(ipv6Availability([connect('192.0.2.1', 80, 'connection_refused')])).toBeUndefined();
  });

  it('puts the addresses that connected on the URL port first, the rest in order', () => {
    const details: TcpDetails = {
      connects: [connect('2001:db8::1', 443, 'network_unreachable'), connect('192.0.2.1', 443, null), connect('192.0.2.2', 443, 'connection_refused'), connect('192.0.2.2', 80, null)],
    };
    expect(preferConnected(['2001:db8::1', '192.0.2.2', '192.0.2.1'], details, 443)).toEqual(['192.0.2.1', '2001:db8::1', '192.0.2.2']);
    expect(preferConnected(['192.0.2.2'], undefined, 443)).toEqual(['192.0.2.2']);
  });
});
