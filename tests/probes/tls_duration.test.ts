// tls_duration against real loopback sockets: a TLS keep-alive server behind
// a proxy that cuts sessions (RST, FIN), servers that go silent or never
// finish the handshake, and a path that lets the session live to the horizon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsDurationProbe } from '../../probes/tls_duration.js';
import type { ProbeInput, ProbeOptions } from '../../probes/types.js';
import { makePki, type Pem } from '../helpers/certs.js';
import { startCutProxy } from '../helpers/longlived/cut_proxy.js';
import { startKeepAliveServer, type KeepAliveServer } from '../helpers/longlived/keepalive_server.js';
import { leakedHandles, liveHandles } from '../helpers/longlived/leaks.js';
import { startMisbehavingServer } from '../helpers/longlived/silent_server.js';
import { noDnsOptions } from '../helpers/loopback/options.js';

const HOST = 'probe.test';
let caPem: string;
let leaf: Pem;
let otherCaLeaf: Pem;

beforeAll(() => {
  const pki = makePki();
  caPem = pki.ca.cert;
  leaf = pki.leaf([HOST]);
  otherCaLeaf = makePki('unknown CA').leaf([HOST]);
});

function options(over: Partial<ProbeOptions>): ProbeOptions {
  return noDnsOptions({ extraCaPem: caPem, sessionHorizonMs: 4000, sessionIntervalMs: 500, ...over });
}

/** Always an explicit address: the tests never ask a resolver. */
function input(tlsPort: number, opts: ProbeOptions): ProbeInput {
  return {
    target: { raw: `https://${HOST}/`, category: 'MISC', tags: [], inputs: [] },
    url: `https://${HOST}:${tlsPort}/`,
    addresses: ['127.0.0.1'],
    options: opts,
  };
}

describe('tls_duration', () => {
  let plain: KeepAliveServer;
  beforeAll(async () => {
    plain = await startKeepAliveServer();
  });
  afterAll(async () => {
    await plain.close();
  });

  it('sees a TLS session reset at 2 s while the plain session lives to the horizon', async () => {
    const server = await startKeepAliveServer({ tls: leaf, chunked: true });
    const proxy = await startCutProxy({ host: '127.0.0.1', port: server.port }, 2000, 'rst');
    try {
      const res = await tlsDurationProbe.run(
        input(proxy.port, options({ sessionPlainPort: plain.port })),
        new AbortController().signal,
      );
      const { tls, plain: plainSession } = res.details;
      expect(proxy.cuts).toBe(1);
      expect(tls.end).toBe('reset');
      expect(tls.failure).toBe('connection_reset');
      expect(tls.died_after_s).not.toBeNull();
      expect(Math.abs(tls.died_after_s! - 2)).toBeLessThanOrEqual(0.5);
      // It was in use until the cut: chunked answers were framed, several requests went through first.
      expect(tls.requests_completed).toBeGreaterThanOrEqual(2);
      expect(tls.bytes_received).toBeGreaterThan(0);
      expect(plainSession).not.toBeNull();
      expect(plainSession!.end).toBe('horizon');
      expect(plainSession!.died_after_s).toBeNull();
      expect(plainSession!.failure).toBeNull();
      expect(plainSession!.requests_completed).toBeGreaterThanOrEqual(5);
      expect(res.failure).toBe('connection_reset');
      expect(res.failed_operation).toBe('read');
      expect(res.details.horizon_s).toBe(4);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  it('reports a FIN cut as eof when it happens, not at the next request', async () => {
    const server = await startKeepAliveServer({ tls: leaf });
    const proxy = await startCutProxy({ host: '127.0.0.1', port: server.port }, 1500, 'fin');
    try {
      // The next request would go out at 5 s: a death seen at 1.5 s was seen from the socket itself.
      const res = await tlsDurationProbe.run(
        input(proxy.port, options({ sessionPlainPort: 0, sessionIntervalMs: 5000, sessionHorizonMs: 8000 })),
        new AbortController().signal,
      );
      expect(res.details.tls.end).toBe('eof');
      expect(res.details.tls.failure).toBe('eof_error');
      expect(Math.abs(res.details.tls.died_after_s! - 1.5)).toBeLessThanOrEqual(0.5);
      expect(res.details.tls.requests_completed).toBe(1);
      expect(res.details.plain).toBeNull();
      expect(res.failure).toBe('eof_error');
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  it('reports a server that stops answering as a timeout, dated to its last sign of life', async () => {
    const server = await startKeepAliveServer({ tls: leaf, stopAnsweringAfterMs: 1000 });
    try {
      const res = await tlsDurationProbe.run(
        input(server.port, options({ sessionPlainPort: 0, sessionIntervalMs: 300, timeoutMs: 800, sessionHorizonMs: 8000 })),
        new AbortController().signal,
      );
      const { tls } = res.details;
      expect(tls.end).toBe('timeout');
      expect(tls.failure).toBe('generic_timeout_error');
      // The last answer came just before the server went quiet at 1 s.
      expect(tls.died_after_s).toBeGreaterThanOrEqual(0.5);
      expect(tls.died_after_s).toBeLessThanOrEqual(1.5);
      expect(tls.requests_completed).toBe(server.answered);
      expect(res.failure).toBe('generic_timeout_error');
    } finally {
      await server.close();
    }
  });

  it('reports a silent blackhole on the path as a timeout, not as a lived session', async () => {
    const server = await startKeepAliveServer({ tls: leaf });
    const proxy = await startCutProxy({ host: '127.0.0.1', port: server.port }, 1000, 'blackhole');
    try {
      const res = await tlsDurationProbe.run(
        input(proxy.port, options({ sessionPlainPort: 0, sessionIntervalMs: 300, timeoutMs: 800, sessionHorizonMs: 8000 })),
        new AbortController().signal,
      );
      expect(res.details.tls.end).toBe('timeout');
      expect(res.details.tls.died_after_s).toBeGreaterThanOrEqual(0.5);
      expect(res.details.tls.died_after_s).toBeLessThanOrEqual(1.5);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  it('records a handshake that is never answered, or reset, as connect_failed in tls_handshake', async () => {
    const silent = await startMisbehavingServer('silent');
    const resetting = await startMisbehavingServer('reset_on_data');
    try {
      const [quiet, reset] = await Promise.all([
        tlsDurationProbe.run(input(silent.port, options({ sessionPlainPort: plain.port, timeoutMs: 1000 })), new AbortController().signal),
        tlsDurationProbe.run(input(resetting.port, options({ sessionPlainPort: 0 })), new AbortController().signal),
      ]);
      expect(silent.accepted).toBe(1);
      expect(quiet.details.tls.end).toBe('connect_failed');
      expect(quiet.details.tls.failure).toBe('generic_timeout_error');
      expect(quiet.details.tls.died_after_s).toBeNull();
      expect(quiet.failed_operation).toBe('tls_handshake');
      // The plain comparison is independent of the TLS failure.
      expect(quiet.details.plain!.end).toBe('horizon');

      expect(reset.details.tls.end).toBe('connect_failed');
      expect(reset.details.tls.failure).toBe('connection_reset');
      expect(reset.failed_operation).toBe('tls_handshake');
    } finally {
      await silent.close();
      await resetting.close();
    }
  });

  it('refuses a certificate from an unknown authority and a closed plain port', async () => {
    const server = await startKeepAliveServer({ tls: otherCaLeaf });
    try {
      const res = await tlsDurationProbe.run(input(server.port, options({ sessionPlainPort: 1 })), new AbortController().signal);
      expect(res.details.tls.end).toBe('connect_failed');
      expect(res.details.tls.failure).toBe('ssl_unknown_authority');
      expect(res.failed_operation).toBe('tls_handshake');
      expect(res.details.plain!.end).toBe('connect_failed');
      expect(res.details.plain!.failure).toBe('connection_refused');
      expect(server.answered).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('lives to the horizon on a clean path, with the right SNI, Host and path, and leaves nothing behind', async () => {
    const server = await startKeepAliveServer({ tls: leaf });
    const baseline = liveHandles();
    try {
      const res = await tlsDurationProbe.run(
        input(server.port, options({ sessionPlainPort: plain.port, sessionHorizonMs: 2000, sessionIntervalMs: 400, sessionPath: '/ping?x=1' })),
        new AbortController().signal,
      );
      const { tls } = res.details;
      expect(res.failure).toBeNull();
      expect(res.failed_operation).toBeNull();
      expect(tls.end).toBe('horizon');
      expect(tls.died_after_s).toBeNull();
      expect(tls.requests_completed).toBeGreaterThanOrEqual(3);
      expect(tls.requests_completed).toBe(server.answered);
      expect(tls.ip).toBe('127.0.0.1');
      expect(res.details.plain!.end).toBe('horizon');
      expect(server.servernames).toEqual([HOST]);
      expect(new Set(server.hosts)).toEqual(new Set([`${HOST}:${server.port}`]));
      expect(new Set(server.paths)).toEqual(new Set(['/ping?x=1']));
      // Every answer (head + 512-byte body) was counted, none twice.
      expect(tls.bytes_received).toBeGreaterThan(512 * tls.requests_completed);
      expect(tls.bytes_received).toBeLessThan(1024 * tls.requests_completed);
      expect(await leakedHandles(baseline)).toEqual({});
      expect(await server.openConnections()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('stops at once on abort, records no death age, and leaves no socket or timer', async () => {
    const server = await startKeepAliveServer({ tls: leaf });
    const baseline = liveHandles();
    try {
      const controller = new AbortController();
      const aborter = setTimeout(() => controller.abort(), 700);
      const res = await tlsDurationProbe.run(
        input(server.port, options({ sessionPlainPort: plain.port, sessionHorizonMs: 60_000 })),
        controller.signal,
      );
      clearTimeout(aborter);
      expect(res.details.tls.end).toBe('error');
      expect(res.details.tls.failure).toBe('interrupted');
      expect(res.details.tls.died_after_s).toBeNull();
      expect(res.details.plain!.failure).toBe('interrupted');
      expect(res.details.tls.requests_completed).toBeGreaterThanOrEqual(1);
      expect(await leakedHandles(baseline)).toEqual({});
    } finally {
      await server.close();
    }
  });

  it('throws on an invalid input instead of measuring it', async () => {
    await expect(tlsDurationProbe.run({ ...input(443, options({})), url: 'not a url' }, new AbortController().signal)).rejects.toThrow();
    await expect(
      tlsDurationProbe.run(input(443, options({ sessionIntervalMs: 0 })), new AbortController().signal),
    ).rejects.toThrow(/sessionIntervalMs/);
  });
});
