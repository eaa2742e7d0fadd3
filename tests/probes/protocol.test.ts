// protocol against loopback peers: an echo server (everything flows), a
// whitelisting filter proxy (junk is dropped after its first packets, valid
// HTTP/TLS passes), a line-reading HTTP server, a strict HTTP server that
// answers the first junk packet, and a real TLS server that must accept the
// hand-built ClientHello.
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClientHello } from '../../probes/client_hello.js';
import { classifyFirstBytes, junkPacket, protocolProbe } from '../../probes/protocol.js';
import type { ProbeInput, ProbeOptions, ProtocolFlowResult } from '../../probes/types.js';
import { makePki, type Pem } from '../helpers/certs.js';
import { leakedHandles, liveHandles } from '../helpers/longlived/leaks.js';
import { startEchoServer, startFilterProxy, startLineHttpServer, type TestPeer } from '../helpers/longlived/protocol_servers.js';
import { noDnsOptions } from '../helpers/loopback/options.js';

const HOST = 'blocked.probe.test';
let leaf: Pem;
beforeAll(() => {
  leaf = makePki().leaf([HOST]);
});

function options(): ProbeOptions {
  return noDnsOptions({ timeoutMs: 1000 });
}

function input(url: string): ProbeInput {
  return { target: { raw: url, category: 'ANON', tags: [], inputs: [url] }, url, addresses: ['127.0.0.1'], options: options() };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
async function peer<T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const started = await p;
  closers.push(() => started.close());
  return started;
}

function flow(flows: ProtocolFlowResult[], kind: ProtocolFlowResult['kind']): ProtocolFlowResult {
  const found = flows.find((f) => f.kind === kind);
  expect(found).toBeDefined();
  return found!;
}

describe('protocol', () => {
  it('sees both flows flow through an echo server, packet by packet', async () => {
    const echo = await peer(startEchoServer());
    const baseline = liveHandles();
    const res = await protocolProbe.run(input(`tcp://127.0.0.1:${echo.port}`), new AbortController().signal);
    expect(res.failure).toBeNull();
    expect(res.details.ip).toBe('127.0.0.1');
    expect(res.details.flows.map((f) => f.kind)).toEqual(['valid_first', 'junk_first']);
    for (const f of res.details.flows) {
      // Each flow names its endpoint, so flows can be compared across endpoints.
      expect(f.ip).toBe('127.0.0.1');
      expect(f.port).toBe(echo.port);
      expect(f.later_data_flows).toBe(true);
      expect(f.failure).toBeNull();
      expect(f.writes_sent).toBe(3);
      expect(f.first_byte_after_write).toBe(1); // the echo of the first packet came back at once
      expect(f.bytes_received).toBeGreaterThan(0);
      expect(f.bytes_received).toBeLessThanOrEqual(f.bytes_sent);
    }
    // The echo server saw the three writes apart, valid first, junk second.
    const [validPackets, junkPackets] = echo.received;
    expect(validPackets!.length).toBe(3);
    expect(validPackets![0]!.toString()).toBe('GET / HTTP/1.1\r\n');
    expect(Buffer.concat(validPackets!).toString()).toMatch(/\r\nHost: 127\.0\.0\.1:\d+\r\n[\s\S]*\r\n\r\n$/);
    expect(junkPackets!.length).toBe(3);
    expect(classifyFirstBytes(junkPackets![0]!)).toBeNull();
    expect(classifyFirstBytes(junkPackets![1]!)).toBeNull();
    expect(junkPackets![2]!.toString()).toBe('\r\n\r\n');
    expect(res.details.flows[1]!.bytes_sent).toBe(Buffer.concat(junkPackets!).length);
    expect(await leakedHandles(baseline)).toEqual({});
  });

  it('sees junk dropped after the first two packets by a whitelisting filter while a valid HTTP request passes', async () => {
    const echo = await peer(startEchoServer());
    const filter = await peer(startFilterProxy({ host: '127.0.0.1', port: echo.port }, 2));
    const res = await protocolProbe.run(input(`tcp://127.0.0.1:${filter.port}`), new AbortController().signal);
    const valid = flow(res.details.flows, 'valid_first');
    const junk = flow(res.details.flows, 'junk_first');
    expect(valid.later_data_flows).toBe(true);
    expect(valid.failure).toBeNull();
    expect(junk.later_data_flows).toBe(false);
    expect(junk.failure).toBe('generic_timeout_error');
    expect(junk.failed_operation).toBe('read');
    expect(junk.writes_sent).toBe(3);
    // The first junk packet still reached the echo server and came back: the drop is of later data.
    expect(junk.first_byte_after_write).toBe(1);
    expect(filter.dropped).toBe(1);
    expect(echo.received[1]!.length).toBe(2);
    expect(res.failure).toBe('generic_timeout_error');
  });

  it('sees a valid ClientHello pass a filter that drops everything after one unrecognised packet', async () => {
    const echo = await peer(startEchoServer());
    const filter = await peer(startFilterProxy({ host: '127.0.0.1', port: echo.port }, 1));
    const res = await protocolProbe.run(input(`https://${HOST}:${filter.port}/`), new AbortController().signal);
    const valid = flow(res.details.flows, 'valid_first');
    const junk = flow(res.details.flows, 'junk_first');
    expect(valid.later_data_flows).toBe(true);
    expect(valid.writes_sent).toBe(1);
    const hello = echo.received[0]![0]!;
    expect([...hello.subarray(0, 3)]).toEqual([0x16, 0x03, 0x01]);
    expect(hello.readUInt16BE(3)).toBe(hello.length - 5);
    expect(junk.later_data_flows).toBe(false);
    expect(junk.failure).toBe('generic_timeout_error');
    expect(filter.dropped).toBe(1);
  });

  it('sees both flows answered by a server that judges the request line at its end', async () => {
    const http = await peer(startLineHttpServer());
    const res = await protocolProbe.run(input(`http://${HOST}:${http.port}/`), new AbortController().signal);
    expect(res.failure).toBeNull();
    for (const f of res.details.flows) {
      expect(f.later_data_flows).toBe(true);
      expect(f.first_byte_after_write).toBe(3);
      expect(f.bytes_received).toBeGreaterThan(0);
    }
    expect(Buffer.concat(http.received[0]!).toString()).toContain(`Host: ${HOST}:${http.port}\r\n`);
  });

  it('records a strict server that rejects the first junk packet as an early answer, not as a silent drop', async () => {
    const server: Server = createHttpServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const res = await protocolProbe.run(input(`http://${HOST}:${port}/`), new AbortController().signal);
    const valid = flow(res.details.flows, 'valid_first');
    const junk = flow(res.details.flows, 'junk_first');
    expect(valid.later_data_flows).toBe(true);
    expect(junk.later_data_flows).toBe(false);
    expect(junk.first_byte_after_write).toBe(1);
    expect(['eof_error', 'connection_reset']).toContain(junk.failure);
    expect(junk.failure).not.toBe('generic_timeout_error');
  });

  it('builds a ClientHello a real TLS server accepts, with the SNI', async () => {
    const servernames: string[] = [];
    const context = createSecureContext({ key: leaf.key, cert: leaf.cert });
    const server: TlsServer = createTlsServer({
      SNICallback: (name, cb) => {
        servernames.push(name);
        cb(null, context);
      },
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const res = await protocolProbe.run(input(`https://${HOST}:${port}/`), new AbortController().signal);
    const valid = flow(res.details.flows, 'valid_first');
    expect(servernames).toEqual([HOST]);
    expect(valid.later_data_flows).toBe(true);
    expect(valid.failure).toBeNull();
    // A ServerHello flight is far more than an alert (7 bytes).
    expect(valid.bytes_received).toBeGreaterThan(100);
    expect(flow(res.details.flows, 'junk_first').later_data_flows).toBe(false);
  });

  it('records a refused port in connect and honours its AbortSignal', async () => {
    const refused = await protocolProbe.run(input('tcp://127.0.0.1:1'), new AbortController().signal);
    expect(refused.failure).toBe('connection_refused');
    expect(refused.failed_operation).toBe('connect');
    expect(refused.details.flows.every((f) => f.failure === 'connection_refused' && f.writes_sent === 0)).toBe(true);

    const echo = await peer(startEchoServer());
    const controller = new AbortController();
    controller.abort();
    const aborted = await protocolProbe.run(input(`tcp://127.0.0.1:${echo.port}`), controller.signal);
    expect(aborted.details.flows.every((f) => f.failure === 'interrupted')).toBe(true);
  });

  it('measures ports 80 and 443 for a URL without a port, and throws on an invalid input', async () => {
    // Nothing listens on loopback 80/443 here; the point is which ports are tried.
    const res = await protocolProbe.run(input('https://localhost.invalid/'), new AbortController().signal);
    expect(res.details.flows.map((f) => `${f.kind}:${f.port}`)).toEqual(['valid_first:80', 'junk_first:80', 'valid_first:443', 'junk_first:443']);
    await expect(protocolProbe.run(input('tcp://127.0.0.1'), new AbortController().signal)).rejects.toThrow(/port/);
    await expect(protocolProbe.run(input('::nonsense'), new AbortController().signal)).rejects.toThrow();
  });
});

describe('packets', () => {
  it('junk never looks like HTTP, TLS or DNS and holds no line end', () => {
    for (let i = 0; i < 2000; i++) {
      const packet = junkPacket();
      expect(classifyFirstBytes(packet)).toBeNull();
      expect(packet.includes(0x0a) || packet.includes(0x0d)).toBe(false);
    }
  });

  it('recognises what the filter lets through', () => {
    expect(classifyFirstBytes(Buffer.from('GET / HTTP/1.1\r\n'))).toBe('http');
    expect(classifyFirstBytes(Buffer.from('CONNECT x:443 HTTP/1.1\r\n'))).toBe('http');
    expect(classifyFirstBytes(buildClientHello('a.test'))).toBe('tls');
    const query = Buffer.from('abcd01000001000000000000', 'hex'); // id, flags RD, QDCOUNT 1
    expect(classifyFirstBytes(query)).toBe('dns');
  });

  it('frames the ClientHello record and its SNI correctly for any host name', () => {
    fc.assert(
      fc.property(fc.domain(), (name) => {
        const hello = buildClientHello(name);
        expect(hello.readUInt16BE(3)).toBe(hello.length - 5);
        expect(hello[5]).toBe(0x01);
        expect(hello.readUIntBE(6, 3)).toBe(hello.length - 9);
        expect(hello.includes(Buffer.from(name.toLowerCase()))).toBe(true);
      }),
      { numRuns: 50 },
    );
    const noSni = buildClientHello('127.0.0.1');
    expect(noSni.includes(Buffer.from('127.0.0.1'))).toBe(false);
  });
});
