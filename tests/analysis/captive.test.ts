// The captive-network rule on its own (src/analysis/captive.ts): where its
// thresholds sit, and what never makes a network captive. The golden
// fixtures (tests/fixtures/verdicts/*captive*) cover whole sweeps.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPTIVE_SHARE, detectCaptive, type NameAnswer } from '../../src/analysis/captive.js';
import { detectChanges, initialState, networkMode, type SweepObservation } from '../../src/analysis/changes.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { judgeSweep, unitFailure, type AttemptResults, type JudgeOptions, type UnitObservation } from '../../src/analysis/verdict.js';
import { httpLanding } from '../../src/experiments/web/facts.js';

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

describe('a captive sweep through the change detector', () => {
  // The hotel portal of the golden fixtures, on a list that is mostly https:// (as lists are today): the
  // http:// canary works and 17 of 21 foreign inputs fail, which the raw-failure shutdown rule alone calls
  // a shutdown. Judged captive, it is the network's story instead.
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/verdicts/network-captive-http-portal.json'), 'utf8')) as { units: UnitObservation[] };
  const httpsFailing = fixture.units.find((u) => u.url === 'https://news.example/')!;
  const more = Array.from({ length: 16 }, (_, i) => ({ ...httpsFailing, url: `https://site${i}.example/`, target: { ...httpsFailing.target, raw: `https://site${i}.example/`, inputs: [`https://site${i}.example/`] } }));
  const units = [...fixture.units, ...more];
  const observe = (runId: string, at: string, judge: boolean): SweepObservation => {
    const verdicts = judgeSweep(units, { fingerprints: defaultFingerprints() } as JudgeOptions);
    return {
      run_id: runId,
      at,
      units: units.map((u, i) => ({
        target: u.target.raw,
        url: u.url,
        tags: u.target.tags,
        kind: 'web',
        // Without a judgement: what the sweep read as before the rule (no control: inconclusive).
        verdict: judge ? verdicts[i]!.verdict : 'inconclusive',
        measurement_ids: [`${runId}-${i}`],
        failed: unitFailure(u).failed,
      })),
    };
  };
  const eventsOf = (judge: boolean) => {
    const first = detectChanges(initialState(), observe('a', '2026-11-30T01:00:00.000Z', judge), { confirmSweeps: 2 });
    const second = detectChanges(first.state, observe('b', '2026-11-30T02:00:00.000Z', judge), { confirmSweeps: 2 });
    return Object.assign([...first.events, ...second.events], { state: second.state });
  };

  it('raises one network.offline event with the captive count, where the raw failures alone read as a shutdown', () => {
    expect(eventsOf(false).map((e) => e.kind)).toEqual(['shutdown']);
    const events = eventsOf(true);
    expect(events.map((e) => e.kind)).toEqual(['network.offline']);
    expect(events[0]!.details).toMatchObject({ captive: units.length, offline: units.length });
    // The status line and the dashboard say captive, not offline.
    expect(networkMode(events.state)).toEqual({ mode: 'captive', since: '2026-11-30T01:00:00.000Z' });
    expect(networkMode(eventsOf(false).state).mode).toBe('shutdown');
  });
});

describe('httpLanding (where a plain-HTTP fetch ended, the HTTP rule\'s key)', () => {
  const hop = (url: string, extra: Record<string, unknown> = {}) => ({ url, ip: null, failure: null, status_code: 200, body_length: 120, body_sha256: 'ab'.repeat(32), ...extra });
  const attempt = (...hops: ReturnType<typeof hop>[]) => ({ http: { probe: 'http', failure: null, details: { hops } } }) as unknown as AttemptResults;

  it('is the host a redirect ended on, else the body it got; nothing for https://, a failed fetch or an empty body', () => {
    expect(httpLanding('http://news.example/', attempt(hop('http://news.example/', { status_code: 302 }), hop('http://login.hotel.example/?orig=news')))).toBe('host:login.hotel.example');
    expect(httpLanding('http://news.example/', attempt(hop('http://news.example/', { status_code: 301 }), hop('https://news.example/')))).toBe(`body:${'ab'.repeat(32)}`);
    expect(httpLanding('https://news.example/', attempt(hop('https://news.example/')))).toBeNull();
    expect(httpLanding('http://news.example/', attempt(hop('http://news.example/', { failure: 'connection_reset', status_code: null })))).toBeNull();
    // Every server's empty body hashes alike: it names no server.
    expect(httpLanding('http://news.example/', attempt(hop('http://news.example/', { body_length: 0, body_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })))).toBeNull();
  });
});
