// The privacy scrub: IP addresses leave error strings (IPv4 and IPv6, with
// ports, brackets, zones), text that only looks like an address stays, and
// structured address fields are left alone while probe-address fields go.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROBE_ADDRESS_KEYS, SCRUBBED, containsIp, scrubErrorStrings, scrubIps } from '../../src/export/privacy.js';

describe('scrubIps', () => {
  it.each([
    ['connect ECONNREFUSED 10.0.0.1:443 - Local (192.168.1.23:51234)', 'connect ECONNREFUSED [scrubbed]:443 - Local ([scrubbed]:51234)'],
    ['getaddrinfo EAI_AGAIN via 8.8.8.8', 'getaddrinfo EAI_AGAIN via [scrubbed]'],
    ['connect ECONNREFUSED ::1:443', 'connect ECONNREFUSED [scrubbed]'],
    ['reset by [2001:db8:85a3::8a2e:370:7334]:443', 'reset by [[scrubbed]]:443'],
    ['from fe80::1c2b:3dff:fe4e:5f60%wlan0, retrying', 'from [scrubbed], retrying'],
    ['mapped ::ffff:10.1.2.3 dropped', 'mapped [scrubbed] dropped'],
    ['full 2001:DB8:0:0:8:800:200C:417A.', 'full [scrubbed].'],
    ['eight groups then a port 1:2:3:4:5:6:7:8:9', 'eight groups then a port [scrubbed]:9'],
    ['خطا در اتصال به 5.6.7.8 (مهلت تمام شد)', 'خطا در اتصال به [scrubbed] (مهلت تمام شد)'],
  ])('scrubs %j', (input, expected) => {
    expect(scrubIps(input)).toBe(expected);
  });

  it.each([
    'generic_timeout_error',
    'timed out at 12:30:45',
    'interface aa:bb:cc:dd:ee:ff down',
    'Failed::1 is a C++ name, not an address',
    'TLSv1.3 with version 1.2.3 of the library',
    '256.1.1.1 is not an address',
    'HTTP/1.1 403 Forbidden',
  ])('leaves %j alone', (input) => {
    expect(scrubIps(input)).toBe(input);
    expect(containsIp(input)).toBe(false);
  });

  const word = fc.stringMatching(/^[g-z ]{0,12}$/);
  const after = fc.constantFrom('', ' ', ',', ')', ' on eth0', ':443 refused');

  it('removes any IPv4 address placed in prose', () => {
    fc.assert(
      fc.property(word, fc.ipV4(), after, (before, ip, tail) => {
        const out = scrubIps(`${before} ${ip}${tail}`);
        expect(out).not.toContain(ip);
        expect(out).toContain(SCRUBBED);
      }),
    );
  });

  it('removes any IPv6 address placed in prose, bare or in brackets', () => {
    fc.assert(
      fc.property(word, fc.ipV6(), after, fc.boolean(), (before, ip, tail, bracketed) => {
        const text = bracketed ? `${before} [${ip}]${tail}` : `${before} ${ip}${tail}`;
        const out = scrubIps(text);
        expect(out).not.toContain(ip);
        expect(out).toContain(SCRUBBED);
      }),
    );
  });
});

describe('scrubErrorStrings', () => {
  it('scrubs failure/error/message/reason strings at any depth and nothing else', () => {
    const record = {
      failure: 'unknown_failure: read ECONNRESET 10.0.0.9:443',
      verdict_reason: 'resolver answered 10.10.34.34',
      details: {
        connects: [{ ip: '10.10.34.34', port: 443, failure: 'unknown_failure: EHOSTUNREACH fe80::1%eth0' }],
        hops: [{ url: 'http://10.10.34.36/', body_sample: 'iframe http://10.10.34.36/', status: { error: 'socket from 172.16.0.4' } }],
        failures: ['x 192.0.2.1', { message: 'y 2001:db8::2' }],
        addresses: ['10.10.34.34', '2001:db8::1'],
      },
      evidence: { message: 'probe at 192.168.1.23', bogons: ['10.10.34.34'], control_failure: 'th 198.51.100.7 down' },
    };
    scrubErrorStrings(record);
    expect(record).toEqual({
      failure: 'unknown_failure: read ECONNRESET [scrubbed]:443',
      verdict_reason: 'resolver answered [scrubbed]',
      details: {
        connects: [{ ip: '10.10.34.34', port: 443, failure: 'unknown_failure: EHOSTUNREACH [scrubbed]' }],
        hops: [{ url: 'http://10.10.34.36/', body_sample: 'iframe http://10.10.34.36/', status: { error: 'socket from [scrubbed]' } }],
        failures: ['x [scrubbed]', { message: 'y [scrubbed]' }],
        addresses: ['10.10.34.34', '2001:db8::1'],
      },
      evidence: { message: 'probe at [scrubbed]', bogons: ['10.10.34.34'], control_failure: 'th [scrubbed] down' },
    });
  });

  it('drops every field that would hold the probe\'s own address', () => {
    const record: Record<string, unknown> = { details: { connects: [{ ip: '10.0.0.1' }] } };
    let inner: Record<string, unknown> = (record.details as { connects: Record<string, unknown>[] }).connects[0]!;
    for (const key of PROBE_ADDRESS_KEYS) {
      record[key] = '192.168.1.23';
      inner[key] = '192.168.1.23';
    }
    scrubErrorStrings(record);
    expect(JSON.stringify(record)).not.toContain('192.168.1.23');
    inner = (record.details as { connects: Record<string, unknown>[] }).connects[0]!;
    expect(inner).toEqual({ ip: '10.0.0.1' });
  });

  it('survives values that are not records', () => {
    for (const value of [null, undefined, 42, 'text 10.0.0.1', [null, 1, 'a']]) {
      expect(() => scrubErrorStrings(value)).not.toThrow();
    }
    // A free-standing string has no key that marks it as an error string.
    expect(scrubErrorStrings('text 10.0.0.1')).toBe('text 10.0.0.1');
  });
});
