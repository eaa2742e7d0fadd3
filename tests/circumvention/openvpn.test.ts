// The openvpn probe against a real OpenVPN server (Debian's openvpn in
// point-to-point TLS server mode with `--dev null`: it needs no TUN device and
// answers the hard reset like a full server), over UDP and TCP; and against
// loopback endpoints that stay silent or refuse.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardResetClient, openvpnProbe, parseReply } from '../../probes/openvpn.js';
import { freeTcpPort, freeUdpPort, probeInput, requireTool, startServer, stopServer } from './tools.js';

const run = (url: string, timeoutMs = 4000) => openvpnProbe.run(probeInput(url, { timeoutMs }), new AbortController().signal);

function pki(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rasad-ovpn-'));
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=rasad test vpn ca']);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=server']);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2']);
  return dir;
}

describe('openvpn probe against a real OpenVPN server', () => {
  const servers: ChildProcess[] = [];
  let udpPort = 0;
  let tcpPort = 0;

  beforeAll(async () => {
    requireTool('openvpn', 'openvpn');
    requireTool('openssl', 'openssl');
    const dir = pki();
    const common = ['--tls-server', '--dev', 'null', '--local', '127.0.0.1', '--ca', join(dir, 'ca.crt'), '--cert', join(dir, 'server.crt'), '--key', join(dir, 'server.key'), '--dh', 'none', '--verb', '3'];
    udpPort = await freeUdpPort();
    tcpPort = await freeTcpPort();
    servers.push((await startServer('openvpn', [...common, '--proto', 'udp4', '--lport', String(udpPort)], /UDPv4 link local \(bound\)/)).child);
    servers.push((await startServer('openvpn', [...common, '--proto', 'tcp4-server', '--lport', String(tcpPort)], /Listening for incoming TCP connection/)).child);
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await stopServer(s);
  });

  it('gets P_CONTROL_HARD_RESET_SERVER_V2 over UDP, acknowledging our session', async () => {
    const result = await run(`openvpn+udp://127.0.0.1:${udpPort}`);
    expect(result.failure).toBeNull();
    expect(result.details).toMatchObject({ protocol: 'openvpn', transport: 'udp', connect: null });
    expect(result.details.handshake).toMatchObject({ sent: true, answered: true, failure: null });
    expect(result.details.handshake!.response_ms).toBeGreaterThan(0);
    expect(result.details.response).toMatchObject({ opcode: 8, opcode_name: 'P_CONTROL_HARD_RESET_SERVER_V2', key_id: 0, acks_client_session: true });
  });

  it('gets P_CONTROL_HARD_RESET_SERVER_V2 over TCP, behind the length prefix', async () => {
    const result = await run(`openvpn+tcp://127.0.0.1:${tcpPort}`);
    expect(result.failure).toBeNull();
    expect(result.details.connect).toMatchObject({ failure: null });
    expect(result.details.handshake).toMatchObject({ sent: true, answered: true, bytes_sent: 16 });
    expect(result.details.response).toMatchObject({ opcode: 8, acks_client_session: true });
  });
});

describe('openvpn probe against endpoints that do not answer', () => {
  it('records silence over UDP as a timeout after sending', async () => {
    const mute = createSocket('udp4');
    await new Promise<void>((resolve) => mute.bind(0, '127.0.0.1', resolve));
    let seen = 0;
    mute.on('message', () => seen++);
    try {
      const result = await run(`openvpn+udp://127.0.0.1:${mute.address().port}`, 1500);
      expect(result.details.handshake).toMatchObject({ sent: true, answered: false, failure: 'generic_timeout_error' });
      expect(seen).toBeGreaterThan(0);
    } finally {
      mute.close();
    }
  });

  it('records a closed UDP port (ICMP port unreachable) as connection_refused', async () => {
    const result = await run(`openvpn+udp://127.0.0.1:${await freeUdpPort()}`, 1500);
    expect(result.details.handshake).toMatchObject({ answered: false, failure: 'connection_refused' });
  });

  it('builds the spec\'s 14-byte packet and reads a reply that acknowledges it', () => {
    const session = Buffer.from('0102030405060708', 'hex');
    expect(hardResetClient(session).toString('hex')).toBe('38010203040506070800' + '00000000');
    const reply = Buffer.concat([Buffer.from([0x40]), Buffer.alloc(8, 9), Buffer.from([1]), Buffer.alloc(4), session, Buffer.alloc(4)]);
    expect(parseReply(reply, session)).toMatchObject({ opcode: 8, key_id: 0, acks_client_session: true });
    expect(parseReply(reply, Buffer.alloc(8))).toMatchObject({ acks_client_session: false });
  });
});
