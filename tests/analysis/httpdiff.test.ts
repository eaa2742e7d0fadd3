import { describe, expect, it } from 'vitest';
import type { HttpHop } from '../../probes/types.js';
import { compareHttp, headersMatch, siteRestrictionSign, titleMatch, titleWords } from '../../src/analysis/httpdiff.js';
import type { ControlAnswer } from '../../src/model.js';
import { httpHop } from '../helpers/measurements.js';

// A 1,000-byte page with an empty title unless a test says otherwise.
const hop = (spec: Partial<HttpHop>): HttpHop => httpHop({ title: '', body_length: 1000, ...spec });

function ctrl(spec: Partial<ControlAnswer['http_request']>): ControlAnswer['http_request'] {
  return { body_length: 1000, failure: null, title: '', headers: {}, status_code: 200, ...spec };
}

describe('compareHttp (OONI heuristics)', () => {
  it('matches body lengths only above a proportion of 0.7', () => {
    expect(compareHttp(hop({ body_length: 71 }), ctrl({ body_length: 100 })).body_length_match).toBe(true);
    expect(compareHttp(hop({ body_length: 70 }), ctrl({ body_length: 100 })).body_length_match).toBe(false);
    expect(compareHttp(hop({ body_length: 100 }), ctrl({ body_length: 70 })).body_length_match).toBe(false);
    expect(compareHttp(hop({ body_length: 0 }), ctrl({ body_length: 0 })).body_length_match).toBe(true);
    expect(compareHttp(hop({ body_length: null }), ctrl({})).body_length_match).toBeNull();
  });

  it('treats a truncated read as a lower bound', () => {
    const c = compareHttp(hop({ body_length: 4_194_304, body_truncated: true }), ctrl({ body_length: 9_000_000 }));
    expect(c.body_length_match).toBe(true);
  });

  it('calls a diff unless the status matches and one of body, headers or title matches', () => {
    // Same status, only the title matches: no diff.
    const titleOnly = compareHttp(
      hop({ body_length: 10, title: 'Persian Service Homepage', headers: { 'X-A': '1' } }),
      ctrl({ body_length: 1000, title: 'Persian Service Homepage', headers: { 'X-B': '1' } }),
    );
    expect(titleOnly).toMatchObject({ status_code_match: true, body_length_match: false, headers_match: false, title_match: true, http_diff: false });
    // Everything matches but the status: a diff.
    const status = compareHttp(hop({ status_code: 403 }), ctrl({ status_code: 200 }));
    expect(status.status_code_match).toBe(false);
    expect(status.http_diff).toBe(true);
    // A control that failed (-1) cannot be matched.
    expect(compareHttp(hop({}), ctrl({ status_code: -1, body_length: -1 })).http_diff).toBe(true);
  });
});

describe('titles', () => {
  it('compare words of 5 or more letters, in any script', () => {
    expect([...titleWords('BBC News | Home page, world')].sort()).toEqual(['world']);
    // "ایران" has exactly 5 letters; "صفحه" and "اصلی" have 4.
    expect([...titleWords('خبرگزاری ایران - صفحه اصلی')].sort()).toEqual(['ایران', 'خبرگزاری']);
    expect(titleMatch('Guardian - latest news', 'The Guardian')).toBe(true);
    expect(titleMatch('Access restricted', 'The Guardian')).toBe(false);
    expect(titleMatch('anything', 'BBC - Home')).toBeNull();
  });
});

describe('headers', () => {
  it('compare names as OONI does: the same set, or an uncommon name in common, whatever the case', () => {
    // Only common headers, but not the same ones: a middlebox's page looks like this (OONI: no match).
    expect(headersMatch({ Date: 'x', 'Content-Type': 'y' }, { Server: 'z' })).toBe(false);
    expect(headersMatch({ Date: 'x', 'Content-Type': 'y', 'Content-Length': '3' }, { date: 'z', 'content-type': 'w', 'Transfer-Encoding': 'chunked' })).toBe(true);
    expect(headersMatch({ 'X-Cache': 'HIT', Date: 'x' }, { 'x-cache': 'MISS' })).toBe(true);
    expect(headersMatch({ 'X-Filter': '1' }, { 'X-Cache': 'HIT' })).toBe(false);
    expect(headersMatch({}, { 'CF-Ray': 'abc' })).toBe(false);
  });
});

describe('site restriction signs', () => {
  it('recognise CAPTCHAs, bot checks, country restrictions and restriction status codes', () => {
    expect(siteRestrictionSign(hop({ body_sample: '<div class="g-recaptcha"></div>' }))).toMatch(/CAPTCHA/);
    expect(siteRestrictionSign(hop({ title: 'Just a moment...' }))).toMatch(/bot challenge/);
    expect(siteRestrictionSign(hop({ body_sample: 'This service is not available in your country.' }))).toMatch(/country restriction/);
    expect(siteRestrictionSign(hop({ status_code: 451 }))).toMatch(/451/);
    expect(siteRestrictionSign(hop({ status_code: 429 }))).toMatch(/429/);
  });

  it('find nothing on an ordinary page', () => {
    expect(siteRestrictionSign(hop({ title: 'Headlines', body_sample: '<p>Today in the news</p>' }))).toBeNull();
  });
});
