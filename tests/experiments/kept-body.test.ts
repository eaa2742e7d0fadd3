// What an ok web measurement keeps of its pages, and what OONI's pipeline
// then reads of it: the body length it derives from the exported body bytes
// (len(response.body_bytes)) must be the page's real length, or absent.
import { describe, expect, it } from 'vitest';
import type { HttpHop } from '../../probes/types.js';
import type { Measurement } from '../../src/model.js';
import { isWholePlainPage, okDroppedBodyHops, OK_PAGE_KEEP_BYTES } from '../../src/experiments/web/kept-body.js';
import { webConnectivityKeys } from '../../src/experiments/web/ooni.js';
import { fixtureMeasurements } from '../export/helpers.js';

/** What the store does to an ok measurement's hops (applyVerdicts' nulledBodyHops). */
function keepOkPageBodies(details: { hops: HttpHop[] }): void {
  for (const i of okDroppedBodyHops(details)) details.hops[i]!.body_sample = null;
}

function hop(over: Partial<HttpHop>): HttpHop {
  const body = over.body_sample ?? '<html><head><title>news</title></head><body>today</body></html>';
  return {
    url: 'http://www.bbc.com/persian',
    ip: '151.101.0.81',
    t0: 0,
    t: 0.2,
    failure: null,
    failed_operation: null,
    status_code: 200,
    headers: { 'Content-Type': 'text/html' },
    title: 'news',
    body_length: Buffer.byteLength(body),
    body_truncated: false,
    body_sample: body,
    body_sha256: 'ab',
    timings: { connect_ms: 1, tls_ms: null, first_byte_ms: 2, total_ms: 3 },
    ...over,
  } as HttpHop;
}

/** The pipeline's http_response_body_length: the length of the body bytes, or None when there are none. */
function pipelineBodyLength(request: Record<string, any>): number | null {
  const body = request.response?.body;
  if (typeof body !== 'string' || body.length === 0) return null;
  return Buffer.byteLength(body);
}

describe('the pages an ok web measurement keeps', () => {
  it('keeps a whole small plain-HTTP page, byte for byte', () => {
    expect(isWholePlainPage(hop({}))).toBe(true);
    const persian = 'آپارات '.repeat(100);
    expect(isWholePlainPage(hop({ body_sample: persian }))).toBe(true);
  });

  it.each([
    ['an HTTPS page (the pipeline compares plain HTTP only)', { url: 'https://www.bbc.com/persian' }],
    ['a page cut at the read limit', { body_truncated: true }],
    ['a page longer than its sample', { body_length: 5000 }],
    ['a sample decoded with replacement characters (not the bytes sent)', { body_sample: 'caf\ufffd', body_length: 4 }],
    ['a page over the keep size', { body_sample: 'x'.repeat(OK_PAGE_KEEP_BYTES + 1) }],
    ['a redirect', { status_code: 301 }],
    ['a failed read', { failure: 'connection_reset' }],
    ['an empty page', { body_sample: '', body_length: 0 }],
  ])('drops %s', (_what, over) => {
    expect(isWholePlainPage(hop(over as Partial<HttpHop>))).toBe(false);
    const details = { hops: [hop(over as Partial<HttpHop>)] };
    keepOkPageBodies(details);
    expect(details.hops[0]!.body_sample).toBeNull();
  });

  it('gives OONI\'s pipeline the real body length of a kept page, and none of a dropped one', () => {
    const unit = structuredClone(fixtureMeasurements().filter((m) => m.url === 'http://www.bbc.com/persian')) as Measurement[];
    const http = unit.find((m) => m.probe === 'http')!;
    const page = '<html><head><title>BBC</title></head><body>' + 'خبر '.repeat(900) + '</body></html>';
    const details = http.details as { hops: HttpHop[] };
    const last = details.hops[details.hops.length - 1]!;
    Object.assign(last, { url: 'http://www.bbc.com/persian', status_code: 200, failure: null, body_sample: page, body_length: Buffer.byteLength(page), body_truncated: false });
    keepOkPageBodies(details);
    let keys = webConnectivityKeys(unit).testKeys as Record<string, any>;
    const final = keys.requests[0];
    expect(pipelineBodyLength(final)).toBe(Buffer.byteLength(page));
    expect(final.response.body_is_truncated).toBe(false);

    // Over the keep size: no body, so the pipeline skips the comparison instead of reading a cut page as a difference.
    Object.assign(last, { body_sample: page.repeat(8), body_length: Buffer.byteLength(page) * 8 });
    keepOkPageBodies(details);
    keys = webConnectivityKeys(unit).testKeys as Record<string, any>;
    expect(pipelineBodyLength(keys.requests[0])).toBeNull();
    expect(keys.requests[0].response.x_body_length).toBe(Buffer.byteLength(page) * 8);
  });
});
