// One TLS secure context per trust set (issue 17): with an extra CA, the
// tls and http probes must not build a new context (parsing ~140 roots) for
// every handshake. tls.connect builds one through tls.createSecureContext
// whenever it is not handed one, so counting those calls shows it.
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpProbe } from '../../probes/http.js';
import { sharedSecureContext } from '../../probes/net.js';
import { tlsProbe } from '../../probes/tls.js';
import type { ProbeOptions } from '../../probes/types.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';
import { rawHttpsServer, respond } from '../helpers/loopback/http.js';
import { never, noDnsOptions, probeInput } from '../helpers/loopback/options.js';
import { tlsServer } from '../helpers/loopback/tls.js';

const keep = closeAfterEach();
let pki: TestPki;
let options: ProbeOptions;
beforeAll(() => {
  pki = makePki('rasad context CA');
  options = noDnsOptions({ extraCaPem: pki.ca.cert, innocuousSni: 'example.org', timeoutMs: 2_000 });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('one secure context per trust set', () => {
  it('sharedSecureContext returns the same object for the same CA, another for another', () => {
    const a = sharedSecureContext(pki.ca.cert, 'test');
    expect(sharedSecureContext(pki.ca.cert, 'test')).toBe(a);
    expect(sharedSecureContext(makePki('other').ca.cert, 'test')).not.toBe(a);
    expect(sharedSecureContext(undefined, 'test')).toBe(sharedSecureContext(undefined, 'test'));
  });

  it('tls probe handshakes with an extra CA build no context once the shared one exists', async () => {
    const server = await keep(tlsServer(pki.leaf(['blocked.test'])));
    const input = probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options);
    const first = await tlsProbe.run(input, never());
    expect(first.failure).toBeNull();
    const spy = vi.spyOn(tls, 'createSecureContext');
    const second = await tlsProbe.run(input, never());
    const third = await tlsProbe.run(input, never());
    expect([second.failure, third.failure]).toEqual([null, null]);
    expect(second.details.handshakes).toHaveLength(2);
    expect(spy).not.toHaveBeenCalled();
  });

  it('http probe hops over TLS with an extra CA build no context either', async () => {
    const server = await keep(rawHttpsServer(pki.leaf(['blocked.test']), (_req, socket) => respond(socket, 200, {}, 'ok')));
    const input = probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options);
    expect((await httpProbe.run(input, never())).failure).toBeNull();
    const spy = vi.spyOn(tls, 'createSecureContext');
    const again = await httpProbe.run(input, never());
    expect(again.failure).toBeNull();
    expect(again.details.hops[0]!.body_sample).toBe('ok');
    expect(spy).not.toHaveBeenCalled();
  });
});
