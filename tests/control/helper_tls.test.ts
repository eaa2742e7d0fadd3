// The helper answers tls_handshake with the real-SNI handshake of each
// endpoint only (server_name, status, failure): it must not also make the
// tls probe's innocuous-SNI handshake, which it would measure and drop.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedTrustBuilds } from '../../probes/net.js';
import { startHelper, type RunningHelper } from '../../src/control/helper.js';
import type { ControlAnswer } from '../../src/model.js';
import { makePki } from '../helpers/certs.js';
import { PAGE, pageHandler, post } from './sites.js';

const pki = makePki('rasad helper tls CA');
const servernames: string[] = [];
const site = createServer(
  {
    ...pki.leaf(['localhost'], { ips: ['127.0.0.1'] }),
    // Noted at each ClientHello: one entry per handshake the helper starts.
    SNICallback: (name, cb) => {
      servernames.push(name);
      cb(null, undefined);
    },
  },
  pageHandler,
);
let helper: RunningHelper;
let port: number;
let trustsBeforeStart: number;
let trustsAfterStart: number;
beforeAll(async () => {
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  port = (site.address() as AddressInfo).port;
  trustsBeforeStart = sharedTrustBuilds();
  helper = await startHelper({ listen: '127.0.0.1:0', allowPrivate: true, extraCaPem: pki.ca.cert, timeoutMs: 3000 });
  trustsAfterStart = sharedTrustBuilds();
});
afterAll(async () => {
  await helper.close();
  site.closeAllConnections();
  await new Promise<void>((resolve) => site.close(() => resolve()));
});

describe('the helper over TLS', () => {
  it('makes one handshake with the real name per endpoint, besides its fetch, and answers as before', async () => {
    servernames.length = 0;
    const res = await post(helper.url, { http_request: `https://localhost:${port}/`, http_request_headers: {}, tcp_connect: [`127.0.0.1:${port}`] });
    expect(res.status).toBe(200);
    const answer = res.json as ControlAnswer;
    expect(answer.tls_handshake?.[`127.0.0.1:${port}`]).toEqual({ server_name: 'localhost', status: true, failure: null });
    expect(answer.http_request).toMatchObject({ status_code: 200, body_length: Buffer.byteLength(PAGE) });
    // The tls_handshake entry's handshake and the page fetch's: no innocuous SNI (example.org).
    expect(servernames).toEqual(['localhost', 'localhost']);
    // Its trust (the roots plus the extra CA) was built as it started, not inside this first request.
    expect(trustsAfterStart).toBe(trustsBeforeStart + 1);
    expect(sharedTrustBuilds()).toBe(trustsAfterStart);
  });

  it('a certificate for another name is a failed handshake for the name', async () => {
    const other = createServer(pki.leaf(['other.test']), pageHandler);
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    try {
      const res = await post(helper.url, { http_request: `https://localhost:${otherPort}/`, tcp_connect: [] });
      const answer = res.json as ControlAnswer;
      expect(answer.tls_handshake?.[`127.0.0.1:${otherPort}`]).toEqual({ server_name: 'localhost', status: false, failure: 'ssl_invalid_hostname' });
    } finally {
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('an IP host has no name to check: no tls_handshake entries', async () => {
    const res = await post(helper.url, { http_request: `https://127.0.0.1:${port}/`, tcp_connect: [] });
    expect((res.json as ControlAnswer).tls_handshake).toEqual({});
  });
});
