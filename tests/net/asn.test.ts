import { describe, expect, it } from 'vitest';
import { bundledAsnTable, ipv6Top64, lookupAsn, parseAsnCsv } from '../../src/net/asn.js';

// A small table in the data package's `-num` format: first,last,asn,"org".
const V4 = ['16777216,16777471,13335,"Cloudflare, Inc."', '134744064,134744319,15169,Google LLC', '3232235520,3232301055,0,private'].join('\n');
const V6 = '42540488161975842760550356425300246528,42540488241204005274814694018844196863,6939,Hurricane Electric LLC\n';

describe('lookupAsn', () => {
  const table = parseAsnCsv(V4, V6);

  it('finds the announcing AS of an IPv4 address inside a range, and nothing between ranges', () => {
    expect(lookupAsn('1.0.0.1', table)).toBe(13335);
    expect(lookupAsn('8.8.8.8', table)).toBe(15169);
    expect(lookupAsn('8.8.9.1', table)).toBeNull();
    expect(lookupAsn('0.0.0.1', table)).toBeNull();
  });

  it('reads the IPv4 rows from bytes, skipping rows that are not first,last,asn, and CRLF line ends', () => {
    const rows = ['x,1,2', '16777216,16777471,13335,"Cloudflare, Inc."\r', '1,,3', '5', '134744064,134744319,15169', '', '99999999999,99999999999,1', '134744320,134744575,AS1'];
    const bytes = parseAsnCsv(Buffer.from(rows.join('\n'), 'latin1'), '');
    expect(Array.from(bytes.v4.starts)).toEqual([16777216, 134744064]);
    expect(Array.from(bytes.v4.asns)).toEqual([13335, 15169]);
    expect(lookupAsn('1.0.0.9', bytes)).toBe(13335);
    expect(lookupAsn('8.8.8.8', bytes)).toBe(15169);
    expect(lookupAsn('8.8.9.8', bytes)).toBeNull();
  });

  it('treats AS0 rows as unknown', () => {
    expect(lookupAsn('192.168.1.1', table)).toBeNull();
  });

  it('finds IPv6 addresses by their /64 and maps v4-mapped addresses to IPv4', () => {
    expect(lookupAsn('2001:0:4136::1', table)).toBe(6939);
    expect(lookupAsn('2001:1::1', table)).toBeNull();
    expect(lookupAsn('::ffff:8.8.8.8', table)).toBe(15169);
  });

  it('answers null for what is not an address', () => {
    expect(lookupAsn('not-an-ip', table)).toBeNull();
    expect(lookupAsn('', table)).toBeNull();
  });

  it('expands compressed IPv6 forms', () => {
    expect(ipv6Top64('2001:470::')).toBe(0x20010470_00000000n);
    expect(ipv6Top64('::1')).toBe(0n);
    expect(ipv6Top64('2001:db8:1:2:3:4:5:6')).toBe(0x20010db8_00010002n);
  });
});

describe('the bundled data', () => {
  it('loads and knows well-known networks', () => {
    const table = bundledAsnTable();
    expect(table).not.toBeNull();
    expect(table!.v4.starts.length).toBeGreaterThan(100_000);
    expect(lookupAsn('1.1.1.1')).toBe(13335);
    expect(lookupAsn('8.8.8.8')).toBe(15169);
    expect(lookupAsn('2001:4860:4860::8888')).toBe(15169);
    expect(lookupAsn('10.10.34.36')).toBeNull();
  });
});
