// scrubIps remembers its answer for short texts (header values and failure
// strings repeat from record to record). A remembered answer must be the
// answer: the same on every call, for texts with and without an address.
import { describe, expect, it } from 'vitest';
import { scrubIps } from '../../src/privacy.js';

describe('scrubIps on repeated texts', () => {
  it('gives the same answer the first time and every time after', () => {
    const texts = [
      'connect ECONNREFUSED 203.0.113.9:443',
      'Mon, 01 Dec 2026 02:20:00 GMT',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
      'for=2001:db8::7;proto=https',
      'fe80::1.2.3.4.5',
    ];
    const first = texts.map((t) => scrubIps(t));
    expect(first).toEqual([
      'connect ECONNREFUSED [scrubbed]:443',
      'Mon, 01 Dec 2026 02:20:00 GMT',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
      'for=[scrubbed];proto=https',
      '[scrubbed][scrubbed].5',
    ]);
    for (let round = 0; round < 3; round++) expect(texts.map((t) => scrubIps(t))).toEqual(first);
  });

  it('a kept address is decided by the caller each time, not remembered from a call without one', () => {
    const text = 'blockpage at 10.10.34.36';
    expect(scrubIps(text)).toBe('blockpage at [scrubbed]');
    expect(scrubIps(text, (ip) => ip === '10.10.34.36')).toBe(text);
    expect(scrubIps(text)).toBe('blockpage at [scrubbed]');
  });

  it('long texts are scrubbed as well', () => {
    const long = `${'x'.repeat(300)} client 198.51.100.4 ${'y'.repeat(300)}`;
    expect(scrubIps(long)).toBe(`${'x'.repeat(300)} client [scrubbed] ${'y'.repeat(300)}`);
    expect(scrubIps(long)).toBe(`${'x'.repeat(300)} client [scrubbed] ${'y'.repeat(300)}`);
  });
});
