// The lab's circumvention servers, run in world (issue 19): Debian's own
// programs, configured as in tests/circumvention:
//   - tor as a relay of a private test network (a made-up directory
//     authority on 127.0.0.1, nothing published): OR port and directory port;
//   - tor as a bridge with obfs4proxy (its obfs4 keys written beforehand, so
//     the bridge line's cert= is known to the scenario files);
//   - openvpn as a multi-client server (`--server`, a TUN device each) on UDP
//     and TCP, as a real VPN provider runs it. Point-to-point mode (`--dev
//     null`) served one TCP client at a time and stopped listening while it
//     did: a probe that arrived as it restarted met silence after its
//     connect, and the lab's "reachable" scenario read protocol.blocked;
//   - wireguard-go on a TUN device in world, knowing one peer.
// Prints "circumvention: ready" once every server is listening.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMain, log, runService, type Running } from './main.js';
import { writeTorrc } from '../tor-private.js';

export interface CircumventionConfig {
  /** Data directories, keys and configs go here. */
  dir: string;
  tor: { ip: string; orPort: number; dirPort: number; obfs4Port: number; obfs4State: Record<string, string | number> };
  openvpn: { ip: string; port: number };
  wireguard: { ip: string; port: number; device: string; privateKey: string; peerPublicKey: string };
}

const READY_TIMEOUT_MS = 60_000;

/** Starts a program and resolves once its output matches `ready`; its output is copied to this log. */
function startProgram(name: string, argv: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`${name} was not ready within ${READY_TIMEOUT_MS} ms:\n${output.slice(-2000)}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') log(name, line.trim());
      output += chunk.toString();
      if (!done && ready.test(output)) {
        done = true;
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${name}: ${err.message}`));
    });
    child.once('exit', (code) => {
      if (done) return log(name, `exited (${code})`);
      done = true;
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    });
  });
}


function openvpnPki(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=rasad lab vpn ca']);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=ovpn.world.test']);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '30']);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

async function start(config: CircumventionConfig): Promise<Running> {
  const children: ChildProcess[] = [];
  const keep = (c: ChildProcess) => {
    children.push(c);
    return c;
  };
  const { tor, openvpn, wireguard } = config;
  try {
    // tor: a relay (OR and directory port) and an obfs4 bridge; a bridge serves no directory port, hence two.
    const relayDir = join(config.dir, 'tor-relay');
    const relayRc = writeTorrc(relayDir, tor.ip, ['Nickname rasadlabrelay', `ORPort ${tor.ip}:${tor.orPort}`, `DirPort ${tor.ip}:${tor.dirPort}`]);
    const bridgeDir = join(config.dir, 'tor-bridge');
    const bridgeRc = writeTorrc(bridgeDir, '127.0.0.1', [
      'Nickname rasadlabbridge',
      'BridgeRelay 1',
      'ORPort 127.0.0.1:9002',
      'ExtORPort auto',
      `ServerTransportPlugin obfs4 exec ${execFileSync('sh', ['-c', 'command -v obfs4proxy'], { encoding: 'utf8' }).trim()}`,
      `ServerTransportListenAddr obfs4 ${tor.ip}:${tor.obfs4Port}`,
    ]);
    mkdirSync(join(bridgeDir, 'data', 'pt_state'), { recursive: true, mode: 0o700 });
    writeFileSync(join(bridgeDir, 'data', 'pt_state', 'obfs4_state.json'), JSON.stringify(tor.obfs4State));
    const pki = openvpnPki(join(config.dir, 'openvpn'));
    const common = ['--local', openvpn.ip, '--lport', String(openvpn.port), '--ca', pki.ca, '--cert', pki.cert, '--key', pki.key, '--dh', 'none', '--verb', '3',
      '--topology', 'subnet', '--dev-type', 'tun',
      // The probe never completes a handshake: drop each such client after 3 s, not 60.
      '--hand-window', '3'];
    // Each server its own TUN device and client pool, inside the lab's link range (10.77.0.0/16): every route
    // a namespace has must point into the lab's own ranges (tests/lab/censor.test.ts).
    const udpServer = ['--server', '10.77.201.0', '255.255.255.0', '--dev', 'ovpn-udp', '--proto', 'udp4'];
    const tcpServer = ['--server', '10.77.202.0', '255.255.255.0', '--dev', 'ovpn-tcp', '--proto', 'tcp4-server'];
    const keyFile = join(config.dir, 'wireguard.key');
    writeFileSync(keyFile, `${wireguard.privateKey}\n`, { mode: 0o600 });
    const started = await Promise.all([
      startProgram('tor-relay', ['tor', '-f', relayRc], /Bootstrapped 0%/),
      startProgram('tor-bridge', ['tor', '-f', bridgeRc], /Registered server transport 'obfs4'/),
      startProgram('openvpn-udp', ['openvpn', ...common, ...udpServer], /Initialization Sequence Completed/),
      startProgram('openvpn-tcp', ['openvpn', ...common, ...tcpServer], /Initialization Sequence Completed/),
      startProgram('wireguard-go', ['wireguard-go', '-f', wireguard.device], /UAPI listener started/, { ...process.env, LOG_LEVEL: 'verbose' }),
    ].map((p) => p.then(keep)));
    // wireguard-go listens on every address of world; the probe is pointed at wireguard.ip.
    execFileSync('wg', ['set', wireguard.device, 'listen-port', String(wireguard.port), 'private-key', keyFile,
      'peer', wireguard.peerPublicKey, 'allowed-ips', '10.213.0.2/32']);
    execFileSync('ip', ['link', 'set', wireguard.device, 'up']);
    log('circumvention', `tor relay ${tor.ip}:${tor.orPort} (dir ${tor.dirPort}), obfs4 ${tor.ip}:${tor.obfs4Port}, openvpn ${openvpn.ip}:${openvpn.port} udp+tcp, wireguard ${wireguard.ip}:${wireguard.port} (${started.length} programs)`);
  } catch (err) {
    for (const c of children) c.kill('SIGKILL');
    throw err;
  }
  return {
    close: () =>
      Promise.all(children.map((c) => new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      }))).then(() => undefined),
  };
}

if (isMain(import.meta.url)) runService<CircumventionConfig>('circumvention', start);
