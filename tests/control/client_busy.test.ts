// The control client and busy helpers (issue 17): a 503 means "busy, retry
// soon", not a failed control. The helper is asked once more after a short
// pause, then the next one in order; each helper asked is reported up or
// down so the sweep can emit control.up / control.down.
import { afterAll, describe, expect, it } from 'vitest';
import { queryControl } from '../../src/control/client.js';
import { startHelper } from '../../src/control/helper.js';
import { httpSite, pageHandler } from './sites.js';

const open: { close(): Promise<void> }[] = [];
async function keep<T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> {
  const t = await thing;
  open.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(open.map((o) => o.close()));
});

/** A helper stand-in that answers 503 to the first `busyTimes` POSTs, then forwards to `then` (or 503 forever). */
async function busyHelper(busyTimes: number, then: string | null): Promise<{ url: string; state: { posts: number } }> {
  const state = { posts: 0 };
  const site = await keep(
    httpSite((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        state.posts++;
        if (state.posts <= busyTimes || then === null) {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' }).end('{"error":"busy"}');
          return;
        }
        const upstream = await fetch(then, { method: 'POST', body: Buffer.concat(chunks), headers: { 'content-type': 'application/json' } });
        res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
      });
    }),
  );
  return { url: `http://127.0.0.1:${site.port}/`, state };
}

describe('queryControl and 503', () => {
  it('a helper busy once is asked again after a pause and its answer is the control', async () => {
    const real = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, timeoutMs: 3000 }));
    const site = await keep(httpSite(pageHandler));
    const flaky = await busyHelper(1, real.url);
    const res = await queryControl([flaky.url], { url: `http://127.0.0.1:${site.port}/`, tcpConnect: [] }, AbortSignal.timeout(20_000), { busyRetryMs: 50 });
    expect(flaky.state.posts).toBe(2);
    expect(res.helper).toBe(flaky.url);
    expect(res.answer?.http_request.status_code).toBe(200);
    expect(res.failures).toEqual([]);
    expect(res.health).toEqual([{ url: flaky.url, up: true, failure: null }]);
  });

  it('a helper still busy after one retry: the next helper in order answers; the busy one is up, a dead one down', async () => {
    const real = await keep(startHelper({ listen: '127.0.0.1:0', allowPrivate: true, timeoutMs: 3000 }));
    const site = await keep(httpSite(pageHandler));
    const swamped = await busyHelper(Infinity, null);
    const dead = await httpSite(pageHandler);
    await dead.close();
    const deadUrl = `http://127.0.0.1:${dead.port}/`;
    const res = await queryControl([swamped.url, deadUrl, real.url], { url: `http://127.0.0.1:${site.port}/`, tcpConnect: [] }, AbortSignal.timeout(20_000), { busyRetryMs: 50 });
    expect(swamped.state.posts).toBe(2);
    expect(res.helper).toBe(real.url);
    expect(res.answer?.http_request.status_code).toBe(200);
    expect(res.failures).toEqual([
      { helper: swamped.url, failure: 'http_status_503' },
      { helper: deadUrl, failure: 'connection_refused' },
    ]);
    expect(res.health).toEqual([
      { url: swamped.url, up: true, failure: 'http_status_503' },
      { url: deadUrl, up: false, failure: 'connection_refused' },
      { url: real.url, up: true, failure: null },
    ]);
  });
});
