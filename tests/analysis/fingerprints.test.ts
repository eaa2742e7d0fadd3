import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_INJECTION_ADDRESSES } from '../../probes/bogons.js';
import { httpHop } from '../helpers/measurements.js';
import {
  compileFingerprints,
  defaultFingerprints,
  FingerprintsError,
  loadFingerprintsFile,
  normalizeIp,
  validateFingerprints,
} from '../../src/analysis/fingerprints.js';

const dir = mkdtempSync(join(tmpdir(), 'rasad-fp-'));
let n = 0;
function file(content: unknown): string {
  const path = join(dir, `fp${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const hop = httpHop;

describe('default fingerprints', () => {
  const fps = defaultFingerprints();

  it('hold the DNS injection addresses of FACTS.md, the same set as probes/bogons.ts', () => {
    const dnsAddresses = fps.entries.filter((e) => e.kind === 'dns_ip').map((e) => e.pattern).sort();
    expect(dnsAddresses).toEqual(Object.keys(KNOWN_INJECTION_ADDRESSES).map(normalizeIp).sort());
    for (const e of fps.entries) {
      expect(e.source.length).toBeGreaterThan(10);
      expect(['IR', 'CN', 'RU', 'TR']).toContain(e.country);
    }
  });

  it('match injected addresses in any spelling, and nothing else', () => {
    expect(fps.matchDnsAddress('10.10.34.36')?.id).toBe('ir.dns.10_10_34_36');
    expect(fps.matchDnsAddress('00d0:0000::0011')?.id).toBe('ir.dns.d0_11');
    expect(fps.matchDnsAddress('::ffff:10.10.34.34')?.id).toBe('ir.dns.10_10_34_34');
    expect(fps.matchDnsAddress('::ffff:a0a:2223')?.id).toBe('ir.dns.10_10_34_35');
    expect(fps.matchDnsAddress('46.82.174.68')?.country).toBe('CN');
    expect(fps.matchDnsAddress('62.33.207.197')?.country).toBe('RU');
    expect(fps.matchDnsAddress('195.175.254.2')?.country).toBe('TR');
    expect(fps.matchDnsAddress('10.10.34.37')).toBeNull();
    expect(fps.matchDnsAddress('151.101.1.69')).toBeNull();
    expect(fps.matchDnsAddress('not an ip')).toBeNull();
  });

  it('match the blockpages of Iran, Russia and Turkey', () => {
    const iran = '<html><body><iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy " style="width: 100%"></iframe></body></html>';
    expect(fps.matchHttp(hop({ status_code: 403, body_sample: iran }))?.id).toBe('ir.http.iframe_10_10');
    expect(fps.matchHttp(hop({ body_sample: '<a href="http://peyvandha.ir/1-2.html">' }))?.id).toBe('ir.http.peyvandha');
    expect(fps.matchHttp(hop({ body_sample: 'see http://internet.ir/1-2.html' }))?.id).toBe('ir.http.internet_ir');
    expect(fps.matchHttp(hop({ body_sample: '<h1>Доступ к сайту ограничен</h1>' }))?.id).toBe('ru.http.dostup_ogranichen');
    expect(fps.matchHttp(hop({ title: 'T.C. Bilgi Teknolojileri ve Telekomünikasyon İletişim Başkanlığı' }))?.id).toBe('tr.http.btk_title');
  });

  it('do not match an ordinary page, a page mentioning 10.10 in text, or a failed hop', () => {
    expect(fps.matchHttp(hop({ title: 'News', body_sample: '<html><body>Version 10.10 released</body></html>' }))).toBeNull();
    expect(fps.matchHttp(hop({ status_code: null, failure: 'connection_reset', body_sample: null }))).toBeNull();
  });
});

describe('fingerprint files', () => {
  it('add header, prefix, regexp and status-bound entries to a base', () => {
    const path = file({
      fingerprints: [
        { id: 'x.header', country: 'ZZ', kind: 'header_prefix', header: 'Location', pattern: 'http://blocked.example/', source: 'test' },
        { id: 'x.prefix', country: 'ZZ', kind: 'body_prefix', pattern: '<html><!--filter-->', source: 'test' },
        { id: 'x.regexp', country: 'ZZ', kind: 'body_regexp', pattern: 'ref=[0-9]{6}-blk', source: 'test' },
        { id: 'x.status', country: 'ZZ', kind: 'body_contains', pattern: 'Forbidden by policy', status_code: 403, source: 'test' },
      ],
    });
    const fps = loadFingerprintsFile(path, defaultFingerprints());
    expect(fps.entries.length).toBe(defaultFingerprints().entries.length + 4);
    expect(fps.matchDnsAddress('10.10.34.34')?.id).toBe('ir.dns.10_10_34_34');
    expect(fps.matchHttp(hop({ status_code: 302, headers: { location: 'http://blocked.example/?u=1' } }))?.id).toBe('x.header');
    expect(fps.matchHttp(hop({ status_code: 302, headers: { Location: 'https://elsewhere.example/' } }))).toBeNull();
    expect(fps.matchHttp(hop({ body_sample: '  \n<html><!--filter--><body>' }))?.id).toBe('x.prefix');
    expect(fps.matchHttp(hop({ body_sample: '<body><!--filter-->' }))).toBeNull();
    expect(fps.matchHttp(hop({ body_sample: 'see ref=123456-blk' }))?.id).toBe('x.regexp');
    expect(fps.matchHttp(hop({ status_code: 403, body_sample: 'Forbidden by policy' }))?.id).toBe('x.status');
    expect(fps.matchHttp(hop({ status_code: 200, body_sample: 'Forbidden by policy' }))).toBeNull();
  });

  it('reject a bad entry with an error naming the file and the entry', () => {
    const cases: [unknown, RegExp][] = [
      [[{ id: 'ok', country: 'ZZ', kind: 'body_contains', pattern: 'a', source: 's' }, { id: 'bad', country: 'ZZ', kind: 'body_magic', pattern: 'a', source: 's' }], /fingerprint #2 \("bad"\): "kind" must be one of/],
      [[{ id: 'r', country: 'ZZ', kind: 'body_regexp', pattern: '([a-', source: 's' }], /fingerprint #1 \("r"\): "pattern" is not a valid regular expression/],
      [[{ id: 'd', country: 'ZZ', kind: 'dns_ip', pattern: '10.10.34', source: 's' }], /\("d"\): "pattern" must be an IP address/],
      [[{ id: 'h', country: 'ZZ', kind: 'header_prefix', pattern: 'x', source: 's' }], /\("h"\): "header" must be a non-empty string/],
      [[{ id: 'n', country: 'ZZ', kind: 'body_contains', pattern: 'x' }], /\("n"\): "source" must be a non-empty string/],
      [[{ country: 'ZZ', kind: 'body_contains', pattern: 'x', source: 's' }], /fingerprint #1: "id" must be a non-empty string/],
      [[{ id: 's', country: 'ZZ', kind: 'body_contains', pattern: 'x', source: 's', status_code: 999 }], /\("s"\): "status_code" must be an HTTP status code/],
      [[{ id: 'a', country: 'ZZ', kind: 'body_contains', pattern: 'x', source: 's' }, { id: 'a', country: 'ZZ', kind: 'body_contains', pattern: 'y', source: 's' }], /fingerprint #2 \("a"\): duplicate id/],
      [{ entries: [] }, /expected an array of fingerprints/],
      ['[{"id": ', /not valid JSON/],
    ];
    for (const [content, message] of cases) {
      const path = file(content);
      let caught: unknown;
      try {
        loadFingerprintsFile(path);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(FingerprintsError);
      expect((caught as Error).name).toBe('FingerprintsError');
      expect((caught as Error).message).toContain(path);
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('reject an id that the base already uses, and an unreadable file', () => {
    const clash = file([{ id: 'ir.dns.10_10_34_34', country: 'IR', kind: 'dns_ip', pattern: '10.10.34.34', source: 's' }]);
    expect(() => loadFingerprintsFile(clash, defaultFingerprints())).toThrow(/duplicate id/);
    expect(() => loadFingerprintsFile(join(dir, 'missing.json'))).toThrow(/cannot read fingerprint file: ENOENT/);
  });

  it('validate without compiling, and compile validated entries', () => {
    const entries = validateFingerprints([{ id: 'v6', country: 'ZZ', kind: 'dns_ip', pattern: '2001:DB8:0:0::1', source: 's' }], 'inline');
    expect(entries[0]!.pattern).toBe('2001:db8::1');
    expect(compileFingerprints(entries).matchDnsAddress('2001:db8::0:1')?.id).toBe('v6');
  });
});
