// The tor probe against real Tor: a relay (OR port and directory port) and an
// obfs4 bridge (tor with obfs4proxy), each on loopback in a private test
// network (a made-up directory authority on 127.0.0.1, so tor never reaches
// out); and against loopback servers that are not Tor (mute after TLS,
// closing after the VERSIONS cell).
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { torProbe } from '../../probes/tor.js';
import { versionsCell } from '../../probes/tor_cells.js';
import { makePki } from '../helpers/certs.js';
import { writeTorrc } from '../../lab/tor-private.js';
import { freeTcpPort, probeInput, requireTool, startServer, stopServer } from './tools.js';

/** A tor configuration for a private test network: nothing but loopback is ever contacted. */
function privateTorrc(dir: string, lines: string[]): string {
  return writeTorrc(dir, '127.0.0.1', lines);
}

const run = (url: string, timeoutMs = 5000) => torProbe.run(probeInput(url, { timeoutMs }), new AbortController().signal);

describe('tor probe against a private Tor relay', () => {
  let relay: ChildProcess | undefined;
  let orPort = 0;
  let dirPort = 0;
  let fingerprint = '';

  beforeAll(async () => {
    requireTool('tor', 'tor');
    const dir = mkdtempSync(join(tmpdir(), 'rasad-tor-'));
    [orPort, dirPort] = [await freeTcpPort(), await freeTcpPort()];
    const torrc = privateTorrc(dir, ['Nickname rasadrelay', `ORPort 127.0.0.1:${orPort}`, `DirPort 127.0.0.1:${dirPort}`]);
    const started = await startServer('tor', ['-f', torrc], /Bootstrapped 0%/, 60_000);
    relay = started.child;
    fingerprint = readFileSync(join(dir, 'data', 'fingerprint'), 'utf8').trim().split(' ')[1]!;
  }, 90_000);
  afterAll(async () => stopServer(relay));

  it('gets VERSIONS, CERTS, AUTH_CHALLENGE and NETINFO from the OR port, and the relay\'s fingerprint', async () => {
    const result = await run(`tor://127.0.0.1:${orPort}?fingerprint=${fingerprint}`);
    expect(result.failure).toBeNull();
    expect(result.details.tls).toMatchObject({ failure: null });
    expect(result.details.handshake).toMatchObject({ sent: true, answered: true, bytes_sent: 11 });
    expect(result.details.response).toMatchObject({ link_protocol: 5, netinfo: true, auth_challenge: true, identity_fingerprint: fingerprint, fingerprint_matches: true });
    expect((result.details.response!.versions as number[])).toContain(5);
    expect((result.details.response!.certs as { type: number }[]).map((c) => c.type)).toEqual(expect.arrayContaining([2, 4, 5]));
    // The comparison ran on the host's port 443 (closed on this machine).
    expect(result.details.comparison).toMatchObject({ port: 443 });
  });

  it('says when the relay is not the configured fingerprint', async () => {
    const result = await run(`tor://127.0.0.1:${orPort}?fingerprint=${'0'.repeat(40)}`);
    expect(result.details.handshake?.answered).toBe(true);
    expect(result.details.response).toMatchObject({ fingerprint_matches: false });
  });

  it('gets an HTTP answer from the directory port', async () => {
    const result = await run(`tor+dir://127.0.0.1:${dirPort}`);
    expect(result.details.protocol).toBe('tor_dir');
    expect(result.details.handshake).toMatchObject({ sent: true, answered: true });
    // A relay of a network without a consensus answers 404 in Tor's own words, not with a page.
    expect(result.details.response).toMatchObject({ status_code: expect.any(Number) });
    expect(result.details.response!.looks_like).not.toBe('html');
  });
});

describe('tor probe against an obfs4 bridge (tor + obfs4proxy)', () => {
  let bridge: ChildProcess | undefined;
  let port = 0;
  let cert = '';

  beforeAll(async () => {
    requireTool('tor', 'tor');
    const obfs4proxy = requireTool('obfs4proxy', 'obfs4proxy');
    const dir = mkdtempSync(join(tmpdir(), 'rasad-obfs4-'));
    port = await freeTcpPort();
    const torrc = privateTorrc(dir, [
      'Nickname rasadbridge',
      'BridgeRelay 1',
      `ORPort 127.0.0.1:${await freeTcpPort()}`,
      'ExtORPort auto',
      `ServerTransportPlugin obfs4 exec ${obfs4proxy}`,
      `ServerTransportListenAddr obfs4 127.0.0.1:${port}`,
    ]);
    bridge = (await startServer('tor', ['-f', torrc], /Registered server transport 'obfs4'/, 60_000)).child;
    const line = readFileSync(join(dir, 'data', 'pt_state', 'obfs4_bridgeline.txt'), 'utf8');
    cert = /cert=([A-Za-z0-9+/]+)/.exec(line)![1]!;
  }, 90_000);
  afterAll(async () => stopServer(bridge));

  it('completes the client half of the obfs4 handshake: the bridge\'s mark and MAC verify', async () => {
    const result = await run(`obfs4://127.0.0.1:${port}?cert=${cert}&iat-mode=0`);
    expect(result.failure).toBeNull();
    expect(result.details.protocol).toBe('obfs4');
    expect(result.details.handshake).toMatchObject({ answered: true });
    expect(result.details.response).toMatchObject({ mark_found: true, mac_verified: true });
  });

  it('gets no answer with a cert of another bridge (the bridge stays silent, as obfs4 does to probes)', async () => {
    const other = Buffer.alloc(52, 7).toString('base64').replace(/=+$/, '');
    const result = await run(`obfs4://127.0.0.1:${port}?cert=${other}&iat-mode=0`, 2000);
    expect(result.details.connect).toMatchObject({ failure: null });
    expect(result.details.handshake).toMatchObject({ sent: true, answered: false });
  });
});

describe('tor probe against servers that are not Tor', () => {
  const servers: Server[] = [];
  const listen = (server: Server) =>
    new Promise<number>((resolve) => {
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const pem = () => makePki().leaf(['relay.test'], { ips: ['127.0.0.1'] });
  afterAll(() => servers.forEach((s) => s.close()));

  it('records a TLS server that stays mute after the VERSIONS cell as a timeout after sending', async () => {
    const { key, cert } = pem();
    const port = await listen(createTlsServer({ key, cert }, (socket) => socket.on('data', () => {})));
    const result = await run(`tor://127.0.0.1:${port}`, 1500);
    expect(result.details.tls).toMatchObject({ failure: null });
    expect(result.details.handshake).toMatchObject({ sent: true, answered: false, failure: 'generic_timeout_error', bytes_received: 0 });
    expect(result).toMatchObject({ failure: 'generic_timeout_error', failed_operation: 'read' });
  });

  it('records a TLS server that answers something else as an unexpected reply', async () => {
    const { key, cert } = pem();
    const port = await listen(createTlsServer({ key, cert }, (socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'))));
    const result = await run(`tor://127.0.0.1:${port}`, 1500);
    expect(result.details.handshake).toMatchObject({ answered: false, unexpected_reply: true });
    expect(result.details.response).toMatchObject({ malformed: true });
  });

  it('records a plain TCP server that resets the TLS handshake', async () => {
    const port = await listen(createTcpServer((socket) => socket.once('data', () => socket.resetAndDestroy())));
    const result = await run(`tor://127.0.0.1:${port}`, 1500);
    expect(result.details.connect).toMatchObject({ failure: null });
    expect(result.details.tls).toMatchObject({ failure: 'connection_reset' });
    expect(result.details.handshake).toBeNull();
  });

  it('sends the VERSIONS cell of the spec', () => {
    expect(versionsCell().toString('hex')).toBe('0000070006000300040005');
  });
});
