import { describe, expect, it } from 'vitest';
import { KNOWN_INJECTION_ADDRESSES, injectionCountry, isBogon, isKnownInjectionAddress, isSuspiciousAnswer } from '../../probes/bogons.js';

describe('isBogon', () => {
  it.each([
    ['10.10.34.36', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['224.0.0.251', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fd12:3456::1', 'ULA'],
    ['fc00::1', 'ULA'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['d0::11', 'outside global unicast (Iran injects it)'],
  ])('%s is a bogon (%s)', (ip) => {
    expect(isBogon(ip)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '223.255.255.255', '2a00:1450:4001::1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is not a bogon',
    (ip) => {
      expect(isBogon(ip)).toBe(false);
    },
  );

  it('is false for what is not an IP, without throwing', () => {
    for (const junk of ['', 'example.org', '1.2.3', '1.2.3.4.5', '::g', '999.1.1.1', '[::1]']) expect(isBogon(junk)).toBe(false);
  });
});

describe('isKnownInjectionAddress', () => {
  it('knows every address listed in FACTS.md, by country', () => {
    expect(Object.keys(KNOWN_INJECTION_ADDRESSES).sort()).toEqual(
      ['10.10.34.34', '10.10.34.35', '10.10.34.36', 'd0::11', '8.7.198.45', '46.82.174.68', '243.185.187.39', '62.33.207.196', '62.33.207.197', '195.175.254.2'].sort(),
    );
    expect(injectionCountry('10.10.34.35')).toBe('IR');
    expect(injectionCountry('46.82.174.68')).toBe('CN');
    expect(injectionCountry('62.33.207.197')).toBe('RU');
    expect(injectionCountry('195.175.254.2')).toBe('TR');
  });

  it('matches IPv6 by value, not by spelling', () => {
    expect(isKnownInjectionAddress('00d0:0000::0011')).toBe(true);
    expect(isKnownInjectionAddress('D0::11')).toBe(true);
    expect(isKnownInjectionAddress('d0::12')).toBe(false);
  });

  it('does not match neighbours or junk', () => {
    expect(isKnownInjectionAddress('10.10.34.37')).toBe(false);
    expect(isKnownInjectionAddress('62.33.207.198')).toBe(false);
    expect(isKnownInjectionAddress('not an ip')).toBe(false);
  });

  it('a public injection address (China) is suspicious though not a bogon', () => {
    expect(isBogon('8.7.198.45')).toBe(false);
    expect(isSuspiciousAnswer('8.7.198.45')).toBe(true);
    expect(isSuspiciousAnswer('8.8.8.8')).toBe(false);
  });
});
