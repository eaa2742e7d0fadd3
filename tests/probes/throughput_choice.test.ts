// What the throughput probe downloads: a small page never leaves slow start,
// so it follows redirects (at most 5), prefers the target's throughput=URL
// tag, and otherwise downloads the largest resource the page links to on
// the same origin. Every choice is recorded.
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_REDIRECTS, measureThroughput, throughputProbe } from '../../probes/throughput.js';
import { extractLinks } from '../../probes/http1_links.js';
import type { ProbeInput } from '../../probes/types.js';
import { SITE_SIZES, startSiteServer, type SiteServer } from '../helpers/longlived/site_server.js';
import { noDnsOptions } from '../helpers/loopback/options.js';

const servers: SiteServer[] = [];
async function site(): Promise<SiteServer> {
  const s = await startSiteServer();
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function input(url: string, tags: string[] = []): ProbeInput {
  return {
    target: { raw: url, category: 'MISC', tags, inputs: [url] },
    url,
    addresses: ['127.0.0.1'],
    options: noDnsOptions({ throughputBytes: 64 * 1024 * 1024, throughputMaxMs: 10_000 }),
  };
}

const never = () => new AbortController().signal;

describe('throughput: what it downloads', () => {
  it('follows redirects to a small page and downloads the largest resource it links to', async () => {
    const s = await site();
    const res = await throughputProbe.run(input(`http://127.0.0.1:${s.port}/`), never());
    const d = res.details;
    expect(res.failure).toBeNull();
    expect(d.resource_choice).toBe('largest_linked');
    expect(d.url).toBe(`http://127.0.0.1:${s.port}/big.bin`);
    expect(d.bytes).toBe(SITE_SIZES['/big.bin']);
    expect(d.complete).toBe(true);
    expect(d.status_code).toBe(200);
    // The sized candidates: the image through a range request (its HEAD had no length), the download, the about page.
    const sizes = Object.fromEntries(d.candidates!.map((c) => [new URL(c.url).pathname, c.size]));
    expect(sizes['/big.bin']).toBe(SITE_SIZES['/big.bin']);
    expect(sizes['/img.png']).toBe(SITE_SIZES['/img.png']);
    expect(d.candidates!.length).toBeLessThanOrEqual(4);
    // The page's redirects were followed: / → /home → /index.html.
    expect(s.requests.slice(0, 3)).toEqual(['GET /', 'GET /home', 'GET /index.html']);
    expect(s.requests).not.toContain('GET /elsewhere');
  });

  it('records the redirect chain of what it downloaded', async () => {
    const s = await site();
    const res = await throughputProbe.run(input(`http://127.0.0.1:${s.port}/`, ['throughput=http://127.0.0.1:' + s.port + '/']), never());
    const d = res.details;
    expect(d.resource_choice).toBe('tag');
    expect(d.requested_url).toBe(`http://127.0.0.1:${s.port}/`);
    expect(d.redirects).toEqual([`http://127.0.0.1:${s.port}/home`, `http://127.0.0.1:${s.port}/index.html`]);
    expect(d.url).toBe(`http://127.0.0.1:${s.port}/index.html`);
    // A tag is taken as it is: no search for a larger resource.
    expect(d.candidates).toBeUndefined();
    expect(d.bytes).toBeLessThan(1024);
  });

  it('prefers the throughput= tag over the page', async () => {
    const s = await site();
    const res = await throughputProbe.run(input(`http://127.0.0.1:${s.port}/`, ['domestic', `throughput=http://127.0.0.1:${s.port}/bulk.bin`]), never());
    expect(res.details.resource_choice).toBe('tag');
    expect(res.details.bytes).toBe(SITE_SIZES['/bulk.bin']);
    expect(res.details.domestic).toBe(true);
    expect(s.requests).toEqual(['GET /bulk.bin']);
  });

  it('measures a small page that links to nothing larger as the page, and says so', async () => {
    const s = await site();
    const res = await throughputProbe.run(input(`http://127.0.0.1:${s.port}/plain.html`), never());
    expect(res.details.resource_choice).toBe('page');
    expect(res.details.status_code).toBe(200);
    expect(res.details.bytes).toBeGreaterThan(0);
    expect(res.details.bytes).toBeLessThan(1024);
    expect(res.details.complete).toBe(true);
    // Its one other link is a 404: sized, not taken.
    expect(res.details.candidates).toEqual([{ url: `http://127.0.0.1:${s.port}/missing.jpg`, size: null, status_code: 404 }]);
  });

  it('stops after 5 redirects and records the 3xx it ended on', async () => {
    const s = await site();
    const res = await throughputProbe.run(input(`http://127.0.0.1:${s.port}/loop`), never());
    expect(res.details.redirects).toHaveLength(MAX_REDIRECTS);
    expect(res.details.status_code).toBe(302);
    expect(s.requests.filter((r) => r === 'GET /loop')).toHaveLength(MAX_REDIRECTS + 1);
  });

  it('records a 404 as it is, without searching for links', async () => {
    const s = await site();
    const res = await throughputProbe.run(input(`http://127.0.0.1:${s.port}/missing`), never());
    expect(res.details.status_code).toBe(404);
    expect(res.details.candidates).toBeUndefined();
    expect(s.requests).toEqual(['GET /missing']);
  });

  it('does not dial an address its policy refuses (the control helper)', async () => {
    const s = await site();
    const res = await measureThroughput(input(`http://127.0.0.1:${s.port}/bulk.bin`), never(), { refuse: (ip) => ip.startsWith('127.') });
    expect(res.failure).toBe('dns_bogon_error');
    expect(res.details.bytes).toBe(0);
    expect(s.requests).toEqual([]);
  });

  it('throws on a throughput= tag that is not an http(s) URL', async () => {
    await expect(throughputProbe.run(input('http://127.0.0.1:1/', ['throughput=ftp://x/y']), never())).rejects.toThrow(/http\(s\) URL/);
    await expect(throughputProbe.run(input('http://127.0.0.1:1/', ['throughput=not a url']), never())).rejects.toThrow(/does not hold a URL/);
  });
});

describe('extractLinks', () => {
  it('keeps same-origin src/href links, most likely large first, without fragments, schemes or the page itself', () => {
    const page = new URL('https://a.test/dir/index.html');
    const html = `<a href="index.html#x">self</a><a href='/x.html'>x</a><img src=pic.jpg><script src="https://a.test/app.js"></script>
      <a href="https://b.test/big.zip">other site</a><a href="http://a.test/plain.zip">other scheme</a><a href="mailto:x@y">m</a>
      <video src="/v.mp4"></video><a href="data:text/plain,hi">d</a><a href="/q?a=1&amp;b=2">q</a>`;
    expect(extractLinks(html, page).map((u) => u.href)).toEqual([
      'https://a.test/v.mp4',
      'https://a.test/dir/pic.jpg',
      'https://a.test/app.js',
      'https://a.test/x.html',
      'https://a.test/q?a=1&b=2',
    ]);
  });
});
