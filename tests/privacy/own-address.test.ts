// Issue 16 #10: a server that echoes the volunteer's address (X-Client-IP,
// Set-Cookie, "Your IP is ...") must not get it stored. The probe's own
// addresses are scrubbed in every spelling from the whole stored record; any
// address in a header value (but Location), a title or a body sample (but
// evidence addresses) is scrubbed whatever it is.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HttpHop } from '../../probes/types.js';
import type { Measurement } from '../../src/model.js';
import { ECHOED_ADDRESS_SCRUB, isEvidenceAddress, scrubPageText } from '../../src/privacy/echoed.js';
import { sourceAddresses, sourceAddressToward } from '../../src/privacy/local-address.js';
import { OwnAddressSet } from '../../src/privacy/own-addresses.js';
import { scrubbedCopy } from '../../src/privacy.js';
import { storedMeasurement, verdictPatch } from '../../src/records/stored-record.js';
import { fakeMeasurement, httpHop } from '../helpers/measurements.js';
import { holdsSpelling, spellingsOf } from './own-address-spellings.js';

const OWN_V4 = '5.6.7.8';
const OWN_V6 = '2001:db8:aa::1';

function ownSet(...ips: string[]): OwnAddressSet {
  const set = new OwnAddressSet();
  for (const ip of ips) expect(set.add(ip)).toBe(true);
  return set;
}

describe('OwnAddressSet', () => {
  it.each([OWN_V4, OWN_V6])('scrubs every spelling of %s, with a port, brackets or words around it', (ip) => {
    const own = ownSet(ip);
    for (const spelling of spellingsOf(ip)) {
      for (const text of [spelling, `Your IP is ${spelling}.`, `[${spelling}]:443`, `ip-${spelling}.dsl.example`, `"\\n${spelling}:51234"`]) {
        const out = own.scrub(text);
        expect(holdsSpelling(out, ip), `${text} -> ${out}`).toBeNull();
        expect(out).toContain('[scrubbed]');
      }
    }
  });

  it('leaves other addresses, and longer numbers that contain the address, as they are', () => {
    const own = ownSet(OWN_V4, OWN_V6);
    for (const text of ['15.6.7.8', '5.6.7.89', '5.6.7.9', '2001:db8:aa::12', '2001:db8:aa::1a', 'at 10:00:00', 'v1.2.3.4.5', '2001:db8:aa::2']) {
      expect(own.scrub(text)).toBe(text);
    }
  });

  it('takes any spelling of an address, and refuses loopback, unspecified and non-addresses', () => {
    const own = new OwnAddressSet();
    expect(own.add('[2001:DB8:AA:0:0:0:0:1]:443')).toBe(true);
    expect(own.add('::ffff:5.6.7.8')).toBe(true);
    expect(own.add('fe80::1%eth0')).toBe(true);
    for (const bad of ['127.0.0.1', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1', 'localhost', '1.2.3', '']) expect(own.add(bad), bad).toBe(false);
    expect(own.size).toBe(3);
    expect(own.has('2001:db8:aa::1')).toBe(true);
    expect(own.has('5.6.7.8')).toBe(true);
    expect(own.has('fe80::1')).toBe(true);
    expect(own.scrub('from fe80::1%eth0')).toBe('from [scrubbed]%eth0');
  });
});

describe('addresses a server echoes', () => {
  const hop = (spec: Partial<HttpHop>) => httpHop({ ip: '93.184.216.34', ...spec });
  const measured = (h: HttpHop) => fakeMeasurement({ probe: 'http', details: { hops: [h] }, evidence: { title: h.title } });

  it('scrubs every address in header values but Location, which the next hop holds anyway', () => {
    const m = measured(hop({
      status_code: 302,
      headers: { 'x-client-ip': '203.0.113.9', 'set-cookie': 'sid=1; ip=203.0.113.9', 'x-forwarded-for': '203.0.113.9, 2001:db8::9', location: 'http://198.51.100.7/next', server: 'nginx' },
    }));
    const stored = JSON.parse(storedMeasurement(m, new OwnAddressSet()).record) as Measurement<{ hops: HttpHop[] }>;
    expect(stored.details.hops[0]!.headers).toEqual({
      'x-client-ip': '[scrubbed]',
      'set-cookie': 'sid=1; ip=[scrubbed]',
      'x-forwarded-for': '[scrubbed], [scrubbed]',
      location: 'http://198.51.100.7/next',
      server: 'nginx',
    });
    // The structure of the measurement stays: the address connected to.
    expect(stored.details.hops[0]!.ip).toBe('93.184.216.34');
  });

  it('scrubs the title and the body sample but keeps evidence addresses, and hashes what it stores', () => {
    // Public addresses (documentation ranges are reserved, so they would count as evidence).
    const body = '<title>Your IP is 81.2.69.160</title><iframe src="http://10.10.34.36/?type=Invalid Keyword"></iframe> d0::11 2a02:8070::5';
    const m = measured(hop({ title: 'Your IP is 81.2.69.160', body_sample: body, body_sha256: createHash('sha256').update(body).digest('hex') }));
    const stored = JSON.parse(storedMeasurement(m, new OwnAddressSet()).record) as Measurement<{ hops: HttpHop[] }>;
    const h = stored.details.hops[0]!;
    expect(h.title).toBe('Your IP is [scrubbed]');
    expect(stored.evidence).toEqual({ title: 'Your IP is [scrubbed]' });
    // The Iranian blockpage frame is the http.blockpage evidence (fingerprint ir.http.iframe_10_10).
    expect(h.body_sample).toBe('<title>Your IP is [scrubbed]</title><iframe src="http://10.10.34.36/?type=Invalid Keyword"></iframe> d0::11 [scrubbed]');
    expect(h.body_sha256).toBe(createHash('sha256').update(h.body_sample!).digest('hex'));
    // The measurement given is not modified: the sweep goes on using it.
    expect(m.details).toEqual({ hops: [expect.objectContaining({ title: 'Your IP is 81.2.69.160', body_sample: body })] });
  });

  it('keeps a page with no address as it is, and a body hash it did not need to change', () => {
    const m = measured(hop({ title: 'News', body_sample: '<p>v1.2.3</p>', body_sha256: 'ab'.repeat(32), headers: { date: 'Mon, 01 Jan 2024 10:00:00 GMT' } }));
    expect(JSON.parse(storedMeasurement(m, new OwnAddressSet()).record)).toEqual(m);
  });

  it('treats fingerprinted injection addresses and private or reserved ones as evidence, public ones not', () => {
    for (const ip of ['10.10.34.36', '10.10.34.34', 'd0::11', '192.168.1.1', '8.7.198.45']) expect(isEvidenceAddress(ip), ip).toBe(true);
    for (const ip of ['203.0.114.9', '2a00:1450::1', '5.6.7.8']) expect(isEvidenceAddress(ip), ip).toBe(false);
    expect(scrubPageText('a 5.6.7.8 b 10.10.34.35')).toBe('a [scrubbed] b 10.10.34.35');
  });

  it('scrubs OONI-shaped headers_list pairs the same way', () => {
    const keys = { headers_list: [['X-Real-IP', '5.6.7.8'], ['Location', 'http://5.6.7.8/']] };
    expect(scrubbedCopy(keys, undefined, ECHOED_ADDRESS_SCRUB)).toEqual({ headers_list: [['X-Real-IP', '[scrubbed]'], ['Location', 'http://5.6.7.8/']] });
  });
});

describe('the probe\'s own address', () => {
  it('is scrubbed from Location and structural fields too, and the row stays an export line', () => {
    const own = ownSet(OWN_V4);
    const m = fakeMeasurement({
      probe: 'http',
      details: { hops: [httpHop({ ip: OWN_V4, headers: { location: `http://${OWN_V4}:8080/` } })] },
      control: { dns: { failure: null, addrs: [OWN_V4] }, tcp_connect: { [`${OWN_V4}:443`]: { status: true, failure: null } }, http_request: { body_length: 0, failure: null, title: '', headers: {}, status_code: 200 } },
    });
    const stored = storedMeasurement(m, own);
    expect(holdsSpelling(stored.record, OWN_V4)).toBeNull();
    expect(stored.exportReady).toBe(true);
    expect(JSON.parse(stored.record).control.tcp_connect).toEqual({ '[scrubbed]:443': { status: true, failure: null } });
  });

  it('makes the final verdict a full rewrite when its evidence holds the address', () => {
    const own = ownSet(OWN_V6);
    const m = fakeMeasurement({ evidence: { hop: `http://[${OWN_V6}]/` } });
    expect(verdictPatch(m, own)).toBeNull();
    expect(verdictPatch(m, new OwnAddressSet())).not.toBeNull();
  });
});

describe('the local address, learned without sending anything', () => {
  it('is the address the kernel would send from (loopback here), which the set then refuses', async () => {
    expect(await sourceAddressToward('127.0.0.1')).toBe('127.0.0.1');
    expect(await sourceAddressToward('not an address')).toBeNull();
    const found = await sourceAddresses(['127.0.0.1', '127.0.0.1']);
    expect(found).toEqual(['127.0.0.1']);
    expect(new OwnAddressSet().add(found[0]!)).toBe(false);
  });
});
