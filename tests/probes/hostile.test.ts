// Issue 9, probe part: servers that try to hang, flood or crash the probe.
// Each probe must end with a failure string (or a capped record) in
// bounded time: the vitest timeout is the outer bound, and where a deadline
// is what ended it the record shows at least that much time passed.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_ANSWERS_PER_RESPONSE, MAX_RECORDED_RESPONSES, dnsProbe } from '../../probes/dns.js';
import { encodeMessage } from '../../probes/dns_codec.js';
import { MAX_HEADER_BYTES, READ_PHASE_FACTOR, httpProbe } from '../../probes/http.js';
import { tlsProbe } from '../../probes/tls.js';
import type { DnsDetails, DnsResolution, ProbeOptions, ProbeResult } from '../../probes/types.js';
import { makePki } from '../helpers/certs.js';
import { answer, udpDnsServer, type TestDnsServer } from '../helpers/loopback/dns.js';
import { drip, pump, rawHttpServer } from '../helpers/loopback/http.js';
import { never, noDnsOptions, probeInput, testOptions } from '../helpers/loopback/options.js';
import { garbageServer, tcpServer } from '../helpers/loopback/tcp.js';
import { closeAfterEach } from '../helpers/loopback/cleanup.js';

const keep = closeAfterEach();

let options: ProbeOptions;
beforeAll(() => {
  options = noDnsOptions({ timeoutMs: 500, bodyCapBytes: 1024, bodyReadLimitBytes: 256 * 1024, extraCaPem: makePki().ca.cert });
});
const httpUrl = (port: number) => `http://blocked.test:${port}/`;
const ONE_MINUTE = 60_000;

describe('hostile HTTP servers', () => {
  it('an endless body (no length, never ends): read up to the limit, then hang up', async () => {
    const server = await keep(
      rawHttpServer((_req, socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n');
        pump(socket, Buffer.from('<p>spam</p>'.repeat(1000)));
      }),
    );
    const result = await httpProbe.run(probeInput(httpUrl(server.port), ['127.0.0.1'], options), never());
    const hop = result.details.hops[0]!;
    expect(result.failure).toBeNull();
    expect(hop.body_truncated).toBe(true);
    expect(hop.body_length).toBe(options.bodyReadLimitBytes);
    expect(hop.body_sample).toHaveLength(options.bodyCapBytes);
  });

  it('endless headers: a failure string once they pass the header limit', async () => {
    let sent = 0;
    const server = await keep(
      rawHttpServer((_req, socket) => {
        socket.write('HTTP/1.1 200 OK\r\n');
        const line = Buffer.from(`X-Filler: ${'f'.repeat(100)}\r\n`);
        pump(socket, line);
        socket.on('close', () => (sent = socket.bytesWritten));
      }),
    );
    const result = await httpProbe.run(probeInput(httpUrl(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toMatch(/^unknown_failure: .*[Hh]eaders? [Oo]verflow/);
    expect(result.failed_operation).toBe('http_round_trip');
    expect(result.details.hops[0]!.status_code).toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toBeGreaterThan(MAX_HEADER_BYTES);
  });

  it('a single 1 MB header line: a failure string, not a 1 MB allocation that succeeds', async () => {
    const server = await keep(
      rawHttpServer((_req, socket) => {
        socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(1024 * 1024)}\r\nContent-Length: 2\r\n\r\nok`);
      }),
    );
    const result = await httpProbe.run(probeInput(httpUrl(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toMatch(/^unknown_failure: .*[Hh]eaders? [Oo]verflow/);
    expect(result.details.hops[0]!.body_sample).toBeNull();
  });

  it('one byte a minute in the status line: generic_timeout_error after the per-phase timeout', async () => {
    const server = await keep(rawHttpServer((_req, socket) => drip(socket, 'HTTP/1.1 200 OK\r\n\r\n', ONE_MINUTE)));
    const result = await httpProbe.run(probeInput(httpUrl(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toBe('generic_timeout_error');
    expect(result.failed_operation).toBe('http_round_trip');
    const hop = result.details.hops[0]!;
    expect(hop.t - hop.t0).toBeGreaterThanOrEqual(options.timeoutMs / 1000 - 0.05);
  });

  it('one byte a minute in the body: generic_timeout_error in read, with what arrived', async () => {
    const server = await keep(
      rawHttpServer((_req, socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
        drip(socket, 'x'.repeat(100), ONE_MINUTE);
      }),
    );
    const result = await httpProbe.run(probeInput(httpUrl(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toBe('generic_timeout_error');
    expect(result.failed_operation).toBe('read');
    const hop = result.details.hops[0]!;
    expect(hop.status_code).toBe(200);
    expect(hop.body_length).toBe(1);
    expect(hop.body_sample).toBe('x');
  });

  it('a body that trickles just fast enough to dodge the idle timeout still ends (total read deadline)', async () => {
    const server = await keep(
      rawHttpServer((_req, socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
        drip(socket, 'y'.repeat(100_000), options.timeoutMs / 5);
      }),
    );
    const result = await httpProbe.run(probeInput(httpUrl(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toBe('generic_timeout_error');
    expect(result.failed_operation).toBe('read');
    const hop = result.details.hops[0]!;
    expect(hop.t - hop.t0).toBeGreaterThanOrEqual((options.timeoutMs * READ_PHASE_FACTOR) / 1000 - 0.05);
    expect(hop.body_length).toBeGreaterThan(1);
  });

  it('binary garbage instead of HTTP: a failure string', async () => {
    const server = await keep(garbageServer(Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10])));
    const result = await httpProbe.run(probeInput(httpUrl(server.port), ['127.0.0.1'], options), never());
    expect(result.failure).toMatch(/^unknown_failure: /);
    expect(result.failed_operation).toBe('http_round_trip');
  });
});

describe('hostile TLS servers', () => {
  const garbage = [
    ['random bytes', Buffer.from('5a17c0ffee00112233445566778899aabbccddeeff'.repeat(8), 'hex')],
    ['a fatal handshake_failure alert', Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])],
    ['an HTTP response', Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')],
  ] as const;

  it.each(garbage)('tlsProbe: %s in answer to the ClientHello is ssl_failed_handshake', async (_label, bytes) => {
    const server = await keep(garbageServer(bytes));
    const result = await tlsProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBe('ssl_failed_handshake');
    expect(result.failed_operation).toBe('tls_handshake');
    for (const h of result.details.handshakes) expect(h.tls_version).toBeNull();
  });

  it('httpProbe over https to a garbage server: ssl_failed_handshake in tls_handshake', async () => {
    const server = await keep(garbageServer(garbage[0][1]));
    const result = await httpProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBe('ssl_failed_handshake');
    expect(result.failed_operation).toBe('tls_handshake');
  });

  it('a TLS server that never finishes (one byte a minute) is generic_timeout_error', async () => {
    const server = await keep(tcpServer((s) => s.once('data', () => drip(s, '\x16\x03\x03\x40\x00' + 'z'.repeat(100), ONE_MINUTE))));
    const result = await tlsProbe.run(probeInput(`https://blocked.test:${server.port}/`, ['127.0.0.1'], options), never());
    expect(result.failure).toBe('generic_timeout_error');
  });
});

describe('hostile DNS servers', () => {
  const LOCALHOST = 'http://localhost/';
  const udpA = (r: ProbeResult<DnsDetails>): DnsResolution => r.details.resolutions.find((x) => x.engine === 'udp' && x.query_type === 'A')!;
  const run = async (server: TestDnsServer, extra: Partial<ProbeOptions> = {}) =>
    dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address, timeoutMs: 500, dnsListenWindowMs: 200, ...extra })), never());

  it('truncated packets (cut short, no TC flag): ignored, and the failure says malformed', async () => {
    const server = await keep(
      udpDnsServer(({ query, reply }) => {
        if (!query) return;
        const full = answer(query, [{ name: query.questions[0]!.name, type: 'A', data: '10.10.34.36' }]);
        reply(full.subarray(0, full.length - 3));
        reply(full.subarray(0, 7));
      }),
    );
    const result = await run(server);
    const a = udpA(result);
    expect(a.responses).toEqual([]);
    expect(a.ignored_responses).toBe(2);
    expect(a.failure).toMatch(/^unknown_failure: malformed DNS response: /);
  });

  it('a compression pointer loop is ignored; the real answer after it is kept', async () => {
    const server = await keep(
      udpDnsServer(({ query, reply }) => {
        if (!query) return;
        const loop = Buffer.alloc(12 + 2 + 4);
        loop.writeUInt16BE(query.id, 0);
        loop.writeUInt16BE(0x8180, 2);
        loop.writeUInt16BE(1, 4);
        loop.writeUInt16BE(0xc00c, 12); // the question name points at itself
        reply(loop);
        reply(answer(query, query.questions[0]!.type === 1 ? [{ name: query.questions[0]!.name, type: 'A', data: '127.0.0.1' }] : []), 20);
      }),
    );
    const result = await run(server);
    const a = udpA(result);
    expect(a.ignored_responses).toBe(1);
    expect(a.responses.map((r) => r.answers.map((x) => x.value))).toEqual([['127.0.0.1']]);
    expect(a.failure).toBeNull();
  });

  it('an oversized packet (62 KB, 2500 answers): decoded, answers capped', async () => {
    const server = await keep(
      udpDnsServer(({ query, reply }) => {
        if (!query || query.questions[0]!.type !== 1) return;
        const name = query.questions[0]!.name;
        const answers = Array.from({ length: 2500 }, (_, i) => ({ name, type: 'A' as const, data: `127.0.${(i >> 8) & 0xff}.${i & 0xff}` }));
        const wire = answer(query, answers);
        expect(wire.length).toBeGreaterThan(60_000);
        reply(wire);
      }),
    );
    const result = await run(server);
    const a = udpA(result);
    expect(a.failure).toBeNull();
    expect(a.answers).toHaveLength(MAX_ANSWERS_PER_RESPONSE);
  });

  it('a packet whose counts promise more than it holds is rejected, not over-read', async () => {
    const server = await keep(
      udpDnsServer(({ query, reply }) => {
        if (!query) return;
        const lie = answer(query, [{ name: query.questions[0]!.name, type: 'A', data: '10.10.34.36' }]);
        lie.writeUInt16BE(0xffff, 6); // ANCOUNT 65535
        reply(lie);
      }),
    );
    const a = udpA(await run(server));
    expect(a.ignored_responses).toBe(1);
    expect(a.failure).toMatch(/^unknown_failure: malformed DNS response/);
  });

  it('only wrong-ID packets: all ignored, generic_timeout_error', async () => {
    const server = await keep(
      udpDnsServer(({ query, reply }) => {
        if (!query) return;
        for (let i = 1; i <= 50; i++) reply(answer(query, [], 0, { id: (query.id + i) & 0xffff }));
      }),
    );
    const a = udpA(await run(server));
    expect(a.failure).toBe('generic_timeout_error');
    expect(a.responses).toEqual([]);
    expect(a.ignored_responses).toBeGreaterThan(0);
    expect(a.ignored_responses).toBeLessThanOrEqual(50);
  });

  it('a flood of different answers: the first ones recorded up to the cap, the rest counted, injection flagged', async () => {
    const server = await keep(
      udpDnsServer(({ query, reply }) => {
        if (!query || query.questions[0]!.type !== 1) return;
        const name = query.questions[0]!.name;
        for (let i = 0; i < 300; i++) reply(encodeMessage({ id: query.id, questions: [{ name, type: 'A' }], answers: [{ name, type: 'A', data: `10.0.${i >> 8}.${i & 0xff}` }] }));
      }),
    );
    const a = udpA(await run(server));
    expect(a.responses).toHaveLength(MAX_RECORDED_RESPONSES);
    expect(a.answers.map((x) => x.value)).toEqual(['10.0.0.0']);
    expect(a.injection_suspected).toBe(true);
    expect(a.ignored_responses).toBeGreaterThan(0);
  });
});

describe('decodeMessage fuzz (fast-check, fixed seed and budget, in a child process so a hang is caught)', () => {
  it('only DnsDecodeError escapes, every input terminates, valid messages round-trip', async () => {
    const child = fileURLToPath(new URL('../helpers/loopback/fuzz_dns_child.ts', import.meta.url));
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', child, '20251121', '3000'], { timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const counts = JSON.parse(out.stdout) as { random: number; mutated: number; decoded: number; rejected: number; roundTrips: number };
    expect(counts.random).toBe(3000);
    expect(counts.mutated).toBe(3000);
    // The budget reached both outcomes and the unmutated round trip.
    expect(counts.rejected).toBeGreaterThan(100);
    expect(counts.decoded).toBeGreaterThan(100);
    expect(counts.roundTrips).toBeGreaterThan(100);
  }, 90_000);
});

describe('nothing is left behind', () => {
  const count = () => {
    const tally: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) tally[r] = (tally[r] ?? 0) + 1;
    return tally;
  };

  it('after probes that timed out, were reset or were aborted, no socket or timer remains', async () => {
    const hang = await tcpServer((s) => s.resume());
    const reset = await tcpServer((s) => s.once('data', () => s.resetAndDestroy()));
    const silentDns = await udpDnsServer(() => {});
    // A keep-alive server: the connection stays open unless the probe closes it.
    const keepAlive = await rawHttpServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok'));
    await new Promise((r) => setTimeout(r, 20));
    const before = count();
    const o = { ...options, timeoutMs: 300 };
    const results = [
      await httpProbe.run(probeInput(httpUrl(keepAlive.port), ['127.0.0.1'], o), never()),
      await httpProbe.run(probeInput(httpUrl(hang.port), ['127.0.0.1'], o), never()),
      await httpProbe.run(probeInput(`https://blocked.test:${reset.port}/`, ['127.0.0.1'], o), never()),
      await tlsProbe.run(probeInput(`https://blocked.test:${hang.port}/`, ['127.0.0.1'], o), never()),
      await dnsProbe.run(probeInput('http://localhost/', [], testOptions({ resolver: silentDns.address, timeoutMs: 300 })), never()),
    ];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    results.push(await httpProbe.run(probeInput(httpUrl(hang.port), ['127.0.0.1'], { ...o, timeoutMs: 30_000 }), controller.signal));
    expect(results.map((r) => r.failure)).toEqual([null, 'generic_timeout_error', 'connection_reset', 'generic_timeout_error', null, 'interrupted']);
    await new Promise((r) => setTimeout(r, 100));
    const after = count();
    // The runner's own timers come and go: nothing may be added, fewer is fine.
    for (const kind of ['TCPSocketWrap', 'TCPWRAP', 'UDPWRAP', 'TLSWRAP', 'Timeout']) {
      expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
    }
    await Promise.all([hang.close(), reset.close(), silentDns.close(), keepAlive.close()]);
  });
});
