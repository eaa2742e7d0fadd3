// How a long-lived session ended, against loopback servers that end their
// connections each one way: a TLS close_notify then FIN, a bare FIN under
// TLS, an RST, silence, `Connection: close`, a Keep-Alive limit. Only the
// abrupt ends (RST, silence, a FIN without close_notify on TLS) are deaths;
// after a graceful close the probe opens a fresh connection and measures on.
import { connect as tlsConnect } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { tlsDurationProbe } from '../../probes/tls_duration.js';
import { TlsRecordWatcher } from '../../probes/session/tls_tap.js';
import { connect as netConnect } from 'node:net';
import { TappedSocket } from '../../probes/session/tls_tap.js';
import type { ProbeInput, ProbeOptions, SessionResult } from '../../probes/types.js';
import { makePki, type Pem } from '../helpers/certs.js';
import { startEndingServer, type CloseHow, type EndingServerOptions } from '../helpers/longlived/ending_server.js';
import { leakedHandles, liveHandles } from '../helpers/longlived/leaks.js';
import { noDnsOptions } from '../helpers/loopback/options.js';

const HOST = 'probe.test';
let caPem: string;
let leaf: Pem;

beforeAll(() => {
  const pki = makePki();
  caPem = pki.ca.cert;
  leaf = pki.leaf([HOST]);
});

function options(over: Partial<ProbeOptions> = {}): ProbeOptions {
  return noDnsOptions({ extraCaPem: caPem, sessionHorizonMs: 3500, sessionIntervalMs: 300, timeoutMs: 800, sessionPlainPort: 0, ...over });
}

function input(tlsPort: number, opts: ProbeOptions): ProbeInput {
  return {
    target: { raw: `https://${HOST}/`, category: 'MISC', tags: [], inputs: [] },
    url: `https://${HOST}:${tlsPort}/`,
    addresses: ['127.0.0.1'],
    options: opts,
  };
}

/** Runs the probe's TLS session (or, with plain, only its plain session) against a server that ends connections as told. */
async function session(server: EndingServerOptions, over: Partial<ProbeOptions> = {}, plain = false): Promise<{ s: SessionResult; connections: number; failure: string | null }> {
  const ending = await startEndingServer(plain ? server : { ...server, tls: leaf });
  try {
    // For the plain session alone the TLS port is a closed one: its connect fails and is not looked at.
    const res = await tlsDurationProbe.run(
      input(plain ? 1 : ending.port, options({ ...(plain ? { sessionPlainPort: ending.port } : {}), ...over })),
      new AbortController().signal,
    );
    const s = plain ? res.details.plain! : res.details.tls;
    return { s, connections: ending.connections, failure: plain ? s.failure : res.failure };
  } finally {
    await ending.close();
  }
}

describe('what Node reports when a TLS server closes', () => {
  async function events(how: CloseHow): Promise<{ events: string[]; alertLast: boolean }> {
    const server = await startEndingServer({ tls: leaf, how, closeAfterMs: 300 });
    const seen: string[] = [];
    try {
      const raw = netConnect({ host: '127.0.0.1', port: server.port });
      const tap = new TappedSocket(raw);
      await new Promise<void>((resolve) => {
        const tls = tlsConnect({ socket: tap, servername: HOST, ca: caPem });
        tls.on('end', () => seen.push('tls end'));
        tls.on('error', (err: NodeJS.ErrnoException) => seen.push(`tls error ${err.code}`));
        raw.on('end', () => seen.push('tcp end'));
        tls.on('close', () => resolve());
        raw.on('close', () => setTimeout(() => tls.destroy(), 50));
      });
      return { events: seen, alertLast: tap.records.lastLooksLikeAlert() };
    } finally {
      await server.close();
    }
  }

  it('reports a close_notify and a bare FIN both as a clean end, so the tap tells them apart', async () => {
    const notify = await events('close_notify');
    const bare = await events('bare_fin');
    const reset = await events('rst');
    // Node 20: both are an 'end' on the TLSSocket, no error.
    expect(notify.events).toContain('tls end');
    expect(bare.events).toContain('tls end');
    expect(bare.events.some((e) => e.startsWith('tls error'))).toBe(false);
    // The difference: the TLS layer ends before TCP does only when it read a close_notify, and the last record is an alert.
    expect(notify.events.indexOf('tls end')).toBeLessThan(notify.events.indexOf('tcp end'));
    expect(bare.events.indexOf('tcp end')).toBeLessThan(bare.events.indexOf('tls end'));
    expect(notify.alertLast).toBe(true);
    expect(bare.alertLast).toBe(false);
    expect(reset.events).toContain('tls error ECONNRESET');
  });

  it('sees a TLS 1.2 alert record as an alert too', () => {
    const watcher = new TlsRecordWatcher();
    watcher.feed(Buffer.from([23, 3, 3, 0, 3, 1, 2, 3, 21, 3]));
    expect(watcher.lastLooksLikeAlert()).toBe(false); // mid-header
    watcher.feed(Buffer.from([3, 0, 26, ...Buffer.alloc(26)]));
    expect(watcher.lastLooksLikeAlert()).toBe(true);
    watcher.feed(Buffer.from([23, 3, 3, 0, 40, ...Buffer.alloc(40)]));
    expect(watcher.lastLooksLikeAlert()).toBe(false);
  });
});

describe('tls_duration session endings', () => {
  it('opens a fresh connection after a close_notify and lives to the horizon, with no death', async () => {
    const baseline = liveHandles();
    const { s, connections, failure } = await session({ how: 'close_notify', closeAfterMs: 1000 });
    expect(s.end).toBe('horizon');
    expect(s.died_after_s).toBeNull();
    expect(s.abrupt).toBe(false);
    expect(failure).toBeNull();
    expect(connections).toBeGreaterThanOrEqual(3);
    const first = s.segments![0]!;
    expect(first).toMatchObject({ end: 'close_notify', abrupt: false, failure: null, started_after_s: 0 });
    expect(first.died_after_s).toBeGreaterThanOrEqual(0.8);
    expect(first.died_after_s).toBeLessThanOrEqual(1.5);
    const second = s.segments![1]!;
    expect(second.started_after_s).toBeGreaterThanOrEqual(0.8);
    expect(second.end).toBe('close_notify');
    // The last connection reached the horizon, or closed too near it for a fresh one to be worth opening.
    expect(['horizon', 'close_notify']).toContain(s.segments![s.segments!.length - 1]!.end);
    expect(s.requests_completed).toBe(s.segments!.reduce((n, g) => n + g.requests_completed, 0));
    expect(await leakedHandles(baseline)).toEqual({});
  });

  it('calls a FIN without close_notify on TLS an abrupt eof, and stops there', async () => {
    const { s, connections, failure } = await session({ how: 'bare_fin', closeAfterMs: 1000 });
    expect(s.end).toBe('eof');
    expect(s.abrupt).toBe(true);
    expect(s.failure).toBe('eof_error');
    expect(failure).toBe('eof_error');
    expect(s.died_after_s).toBeGreaterThanOrEqual(0.8);
    expect(s.died_after_s).toBeLessThanOrEqual(1.5);
    expect(s.segments).toHaveLength(1);
    expect(connections).toBe(1);
  });

  it('calls an RST abrupt', async () => {
    const { s } = await session({ how: 'rst', closeAfterMs: 1000 });
    expect(s).toMatchObject({ end: 'reset', abrupt: true, failure: 'connection_reset' });
    expect(s.died_after_s).toBeGreaterThanOrEqual(0.8);
    expect(s.segments![0]!.abrupt).toBe(true);
  });

  it('calls silence abrupt, dated to the last sign of life', async () => {
    const { s } = await session({ how: 'silent', closeAfterMs: 1000 });
    expect(s).toMatchObject({ end: 'timeout', abrupt: true, failure: 'generic_timeout_error' });
    expect(s.died_after_s).toBeGreaterThanOrEqual(0.5);
    expect(s.died_after_s).toBeLessThanOrEqual(1.3);
  });

  it('takes an announced Connection: close as graceful even when TLS ends with a bare FIN', async () => {
    const { s, connections } = await session({ how: 'bare_fin', closeAfterResponses: 1, headers: ['Connection: close'] }, { sessionHorizonMs: 2000 });
    expect(s.died_after_s).toBeNull();
    expect(s.abrupt).toBe(false);
    expect(s.segments![0]).toMatchObject({ end: 'http_close', abrupt: false, requests_completed: 1 });
    expect(s.segments!.length).toBeGreaterThanOrEqual(2);
    expect(connections).toBe(s.segments!.length);
  });

  it('takes a close at the announced Keep-Alive max as keepalive_limit, and shortens its interval to the timeout', async () => {
    const { s } = await session(
      { how: 'bare_fin', closeAfterResponses: 3, headers: ['Keep-Alive: timeout=3, max=3'] },
      { sessionIntervalMs: 5000, sessionHorizonMs: 5000 },
    );
    const first = s.segments![0]!;
    expect(first).toMatchObject({ end: 'keepalive_limit', abrupt: false, requests_completed: 3, keep_alive: { timeout_s: 3, max: 3 } });
    // Three requests within 5 s: the interval was cut to half the server's 3 s, not the configured 5 s.
    expect(first.died_after_s).toBeLessThan(4);
    expect(s.died_after_s).toBeNull();
    expect(s.segments!.length).toBeGreaterThanOrEqual(2);
  });

  it('takes a bare FIN on plain HTTP as a graceful close and reconnects', async () => {
    const { s, connections } = await session({ how: 'bare_fin', closeAfterMs: 1000 }, {}, true);
    expect(s.kind).toBe('plain');
    expect(s.died_after_s).toBeNull();
    expect(s.end).toBe('horizon');
    expect(s.segments![0]).toMatchObject({ end: 'eof', abrupt: false, failure: 'eof_error' });
    expect(connections).toBeGreaterThanOrEqual(3);
  });

  it('calls an RST on plain HTTP abrupt', async () => {
    const { s } = await session({ how: 'rst', closeAfterMs: 1000 }, {}, true);
    expect(s).toMatchObject({ kind: 'plain', end: 'reset', abrupt: true });
    expect(s.died_after_s).not.toBeNull();
  });
});
