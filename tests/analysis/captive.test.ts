// The captive-network rule on its own (src/analysis/captive.ts): where its
// thresholds sit, and what never makes a network captive. The golden
// fixtures (tests/fixtures/verdicts/*captive*) cover whole sweeps.
import { describe, expect, it } from 'vitest';
import { CAPTIVE_SHARE, detectCaptive, type NameAnswer } from '../../src/analysis/captive.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';

const PORTAL = '10.99.0.1';
const canary = (host: string, addresses = [PORTAL]): NameAnswer => ({ host, domestic: true, addresses });
const foreign = (n: number, captured: number): NameAnswer[] =>
  Array.from({ length: n }, (_, i) => ({ host: `site${i}.example`, domestic: false, addresses: i < captured ? [PORTAL] : [`151.101.1.${i + 1}`] }));

describe('detectCaptive', () => {
  it('needs 80 % of the other names: 8 of 10 is captive, 7 of 10 is not', () => {
    expect(CAPTIVE_SHARE).toBe(0.8);
    expect(detectCaptive([canary('www.aparat.example'), ...foreign(10, 8)], defaultFingerprints())?.verdict).toBe('network.captive');
    expect(detectCaptive([canary('www.aparat.example'), ...foreign(10, 7)], defaultFingerprints())).toBeNull();
  });

  it('needs every domestic canary: one canary with its own public address means a censor, not the network', () => {
    expect(detectCaptive([canary('www.aparat.example'), canary('www.digikala.example', ['185.147.178.10']), ...foreign(10, 10)], defaultFingerprints())).toBeNull();
  });

  it('counts each name once, however many units looked it up (http:// and https:// of one host)', () => {
    // 6 of 8 units captured, but 3 of 4 names: 75 %, below the share.
    expect(detectCaptive([canary('www.aparat.example'), ...foreign(4, 3), ...foreign(4, 3)], defaultFingerprints())).toBeNull();
    const verdict = detectCaptive([canary('www.aparat.example'), ...foreign(5, 4), ...foreign(5, 4)], defaultFingerprints());
    expect(verdict?.evidence).toMatchObject({ names_answered: 6, other_names: 5, other_captured: 4, domestic_captured: 1 });
  });

  it('never takes an address a fingerprint names, the user\'s own included, nor a public one', () => {
    const answers = [canary('www.aparat.example'), ...foreign(10, 10)];
    const userFingerprint = { matchDnsAddress: (ip: string) => (ip === PORTAL ? ({ id: 'my.isp_1', matched: ip } as never) : null) };
    expect(detectCaptive(answers, userFingerprint)).toBeNull();
    const publicEverywhere = answers.map((a) => ({ ...a, addresses: ['151.101.1.69'] }));
    expect(detectCaptive(publicEverywhere, defaultFingerprints())).toBeNull();
  });

  it('ignores names that got no answer, and says nothing when no name was answered', () => {
    const failed = foreign(10, 0).map((a) => ({ ...a, addresses: [] }));
    expect(detectCaptive(failed, defaultFingerprints())).toBeNull();
    expect(detectCaptive([canary('www.aparat.example'), ...foreign(4, 4), ...failed], defaultFingerprints())?.evidence).toMatchObject({ names_answered: 5, other_captured: 4 });
  });
});
