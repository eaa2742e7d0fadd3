// The wireguard probe against a real WireGuard server (wireguard-go, Debian's
// userspace implementation, on a TUN device of this test's own name), and
// its BLAKE2s against Node's.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blake2s } from '../../probes/blake2s.js';
import { wireguardProbe, withoutSecrets } from '../../probes/wireguard.js';
import { generatePair } from '../../probes/wireguard_noise.js';
import { freeUdpPort, probeInput, requireTool, startServer, stopServer } from './tools.js';

describe('blake2s', () => {
  it('matches Node\'s blake2s256 and the RFC 7693 test vector', () => {
    for (const length of [0, 1, 63, 64, 65, 128, 1000]) {
      const data = Buffer.alloc(length, length % 251);
      expect(blake2s([data]).toString('hex')).toBe(createHash('blake2s256').update(data).digest('hex'));
    }
    // RFC 7693 appendix B: BLAKE2s-256("abc").
    expect(blake2s([Buffer.from('abc')]).toString('hex')).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
  });

  it('gives the keyed test vector of the BLAKE2 reference (key 00..1f, empty message)', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(blake2s([], 32, key).toString('hex')).toBe('48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49');
  });
});

describe('wireguard probe against wireguard-go', () => {
  const name = `rwg${process.pid % 1_000_000}`;
  const server = generatePair();
  const peer = generatePair();
  let stop: (() => Promise<void>) | undefined;
  let port = 0;

  beforeAll(async () => {
    requireTool('wireguard-go', 'wireguard-go');
    requireTool('wg', 'wireguard-tools');
    requireTool('ip', 'iproute2');
    if (!existsSync('/dev/net/tun')) throw new Error('wireguard-go needs /dev/net/tun (a TUN device in this container)');
    port = await freeUdpPort();
    const { child } = await startServer('wireguard-go', ['-f', name], /UAPI listener started/, 10_000, { ...process.env, LOG_LEVEL: 'verbose' });
    stop = async () => {
      await stopServer(child);
      try {
        execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' });
      } catch {
        // wireguard-go removes its device when it exits
      }
    };
    const dir = mkdtempSync(join(tmpdir(), 'rasad-wg-'));
    writeFileSync(join(dir, 'key'), server.privateKey.toString('base64') + '\n', { mode: 0o600 });
    execFileSync('wg', ['set', name, 'listen-port', String(port), 'private-key', join(dir, 'key'), 'peer', peer.publicKey.toString('base64'), 'allowed-ips', '10.213.0.2/32']);
    execFileSync('ip', ['link', 'set', name, 'up']);
  });
  afterAll(async () => stop?.());

  it('gets an authenticated handshake response as a known peer', async () => {
    const url = `wireguard://127.0.0.1:${port}?pubkey=${server.publicKey.toString('base64')}&clientkey=${peer.privateKey.toString('base64')}`;
    const result = await wireguardProbe.run(probeInput(url), new AbortController().signal);
    expect(result.failure).toBeNull();
    expect(result.details.handshake).toMatchObject({ sent: true, answered: true, bytes_sent: 148, bytes_received: 92 });
    expect(result.details.response).toMatchObject({ type: 2, length: 92, receiver_matches: true, mac1_valid: true, authenticated: true });
    expect(result.details.known_peer).toBe(true);
    // The private key never reaches the record.
    expect(result.details.endpoint).toBe(`wireguard://127.0.0.1:${port}?pubkey=${server.publicKey.toString('base64')}`);
    expect(JSON.stringify(result)).not.toContain(peer.privateKey.toString('base64'));
  });

  it('gets no answer as an unknown peer, as a real server does', async () => {
    const url = `wireguard://127.0.0.1:${port}?pubkey=${server.publicKey.toString('base64')}`;
    const result = await wireguardProbe.run(probeInput(url, { timeoutMs: 1500 }), new AbortController().signal);
    expect(result.details.handshake).toMatchObject({ sent: true, answered: false, failure: 'generic_timeout_error', bytes_received: 0 });
    expect(result.details.known_peer).toBe(false);
  });

  it('gets no answer with the wrong server key (mac1 fails, the server drops it)', async () => {
    const url = `wireguard://127.0.0.1:${port}?pubkey=${generatePair().publicKey.toString('base64')}&clientkey=${peer.privateKey.toString('base64')}`;
    const result = await wireguardProbe.run(probeInput(url, { timeoutMs: 1500 }), new AbortController().signal);
    expect(result.details.handshake?.answered).toBe(false);
  });

  it('drops the clientkey from the recorded input wherever it stands', () => {
    expect(withoutSecrets('wireguard://h:1?clientkey=AAA&pubkey=BBB')).toBe('wireguard://h:1?pubkey=BBB');
    expect(withoutSecrets('wireguard://h:1?pubkey=BBB&clientkey=AAA')).toBe('wireguard://h:1?pubkey=BBB');
  });
});
