// The censor's circumvention techniques (issue 19): blocking a protocol by
// its signature on the wire, and blocking an address outright. Pure: the
// rules become iptables argument lists in the censor's LAB chain.
//
// A signature match marks the flow (conntrack mark) and drops the packet;
// every later packet of a marked flow is dropped too, as a DPI box that has
// classified a flow does. What each signature matches:
//
//   openvpn     UDP: the first payload byte is P_CONTROL_HARD_RESET_CLIENT_V2
//               (opcode 7 << 3, any key id) in a datagram of 14..372 bytes
//               (the bare reset, or one with tls-auth's HMAC); not port 53.
//               TCP: the same opcode behind OpenVPN's 2-byte length prefix
//               (00 xx 38).
//   wireguard   UDP: a 148-byte datagram starting 01 00 00 00 (handshake
//               initiation).
//   tor         the Tor link handshake inside TLS cannot be read; what shows
//               is its size: the client's first TLS application-data record
//               carrying the 11-byte VERSIONS cell has the header 17 03 03 00 1c
//               (TLS 1.3: 11 + 1 + 16), 00 23 (TLS 1.2 AES-GCM) or 00 1b
//               (TLS 1.2 ChaCha20), matched anywhere in a client segment. A
//               record-length signature, as traffic classifiers use.
//   tor-dir     "GET /tor/" in a TCP payload (a directory request).
//   obfs4       obfs4 looks like random bytes by design, so only an allow-list
//               can catch it (the fully-encrypted-traffic filter of the GFW,
//               Wu et al. 2023): on the given targets:ports, a flow whose data
//               does not start like TLS or HTTP is dropped. Needs targets and ports.
import { CENSOR_CLIENT_DEV } from './addresses.js';
import { ScenarioError, targetIp } from './censor-targets.js';

export type SignatureProtocol = 'openvpn' | 'wireguard' | 'tor' | 'tor-dir' | 'obfs4';
const PROTOCOLS: readonly SignatureProtocol[] = ['openvpn', 'wireguard', 'tor', 'tor-dir', 'obfs4'];

export interface SignatureRule {
  protocol: SignatureProtocol;
  /** Only flows to these sites or lab addresses (default: any destination; obfs4 needs them). */
  targets?: string[];
  /** Only these destination ports (obfs4 needs them). */
  ports?: number[];
}

export interface AddressBlock {
  /** Every packet from the client to these sites or lab addresses is dropped, on every port and protocol. */
  targets: string[];
}

/** The conntrack mark of a flow the censor classified as a blocked protocol. */
const BLOCKED_FLOW_MARK = '0x1000/0x1000';
/** The conntrack mark of a flow that started like TLS or HTTP (the obfs4 allow-list). */
const ALLOWED_FLOW_MARK = '0x2000/0x2000';

/** u32: the payload's word at `offset`, past the IP header (and the TCP header's own length). */
const TCP_PAYLOAD = '0>>22&0x3C@12>>26&0x3C@';
const udpPayloadWord = (offset: number) => `0>>22&0x3C@${8 + offset}`;

function signatureMatches(protocol: SignatureProtocol): string[][] {
  const u32 = (expr: string) => ['-m', 'u32', '--u32', expr];
  switch (protocol) {
    case 'openvpn':
      return [
        ['-p', 'udp', '!', '--dport', '53', '-m', 'length', '--length', '42:400', ...u32(`${udpPayloadWord(0)}>>24&0xF8=0x38`)],
        ['-p', 'tcp', ...u32(`${TCP_PAYLOAD}0>>8&0xFF00F8=0x000038`)],
      ];
    case 'wireguard':
      return [['-p', 'udp', '-m', 'length', '--length', '176', ...u32(`${udpPayloadWord(0)}=0x01000000`)]];
    case 'tor':
      // Anywhere in the segment: the client's Finished may travel in the same one.
      return ['1c', '23', '1b'].map((len) => ['-p', 'tcp', '-m', 'string', '--algo', 'bm', '--hex-string', `|17030300${len}|`]);
    case 'tor-dir':
      return [['-p', 'tcp', '-m', 'string', '--algo', 'bm', '--string', 'GET /tor/']];
    case 'obfs4':
      return [];
  }
}

function withoutNotDns(args: string[]): string[] {
  const i = args.indexOf('!');
  return i >= 0 && args[i + 1] === '--dport' && args[i + 2] === '53' ? [...args.slice(0, i), ...args.slice(i + 3)] : args;
}

function portList(ports: unknown, where: string): number[] {
  if (!Array.isArray(ports) || ports.length === 0) throw new ScenarioError(`${where}: ports must be a non-empty list`);
  return ports.map((p) => {
    if (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 65535) throw new ScenarioError(`${where}: bad port ${JSON.stringify(p)}`);
    return p as number;
  });
}

/** The LAB-chain rules (arguments after `-A LAB`) for the signature rules and address blocks. */
export function planSignatures(rules: SignatureRule[] | undefined, block: AddressBlock | undefined): string[][] {
  const out: string[][] = [];
  const fromClient = ['-i', CENSOR_CLIENT_DEV];
  if (block !== undefined) {
    if (typeof block !== 'object' || block === null || !Array.isArray(block.targets) || block.targets.length === 0) {
      throw new ScenarioError('censor.addressBlock must be {"targets": [sites or lab addresses]}');
    }
    for (const t of block.targets) out.push([...fromClient, '-d', targetIp(t, 'censor.addressBlock'), '-j', 'DROP']);
  }
  if (rules === undefined) return out;
  if (!Array.isArray(rules)) throw new ScenarioError('censor.signature must be a list');
  let marking = false;
  rules.forEach((rule, i) => {
    const where = `censor.signature[${i}]`;
    if (!PROTOCOLS.includes(rule.protocol)) throw new ScenarioError(`${where}: protocol must be one of ${PROTOCOLS.join(', ')}`);
    const ips = rule.targets === undefined ? [null] : rule.targets.map((t) => targetIp(t, where));
    const ports = rule.ports === undefined ? [null] : portList(rule.ports, where);
    if (rule.protocol === 'obfs4') {
      if (rule.targets === undefined || rule.ports === undefined) throw new ScenarioError(`${where}: obfs4 has no signature; give the bridge's targets and ports`);
      for (const ip of ips) {
        for (const port of ports) {
          const flow = [...fromClient, '-p', 'tcp', '-d', ip!, '--dport', String(port)];
          // Starts like TLS (0x16) or an HTTP method (C D G H O P): allowed for the rest of the flow.
          out.push([...flow, '-m', 'u32', '--u32', `${TCP_PAYLOAD}0>>24=0x16,0x43,0x44,0x47,0x48,0x4f,0x50`, '-j', 'CONNMARK', '--set-xmark', ALLOWED_FLOW_MARK]);
          // Any other payload (at least 4 bytes) on a flow not allowed: dropped.
          out.push([...flow, '-m', 'connmark', '!', '--mark', ALLOWED_FLOW_MARK, '-m', 'u32', '--u32', `${TCP_PAYLOAD}0>>24=0:255`, '-j', 'DROP']);
        }
      }
      return;
    }
    marking = true;
    for (const match of signatureMatches(rule.protocol)) {
      for (const ip of ips) {
        for (const port of ports) {
          const dst = [...(ip ? ['-d', ip] : []), ...(port ? ['--dport', String(port)] : [])];
          // -p comes first in `match`, so the port option follows it; a given port replaces "not DNS".
          const rest = port ? withoutNotDns(match.slice(2)) : match.slice(2);
          out.push([...fromClient, ...match.slice(0, 2), ...dst, ...rest, '-j', 'CONNMARK', '--set-xmark', BLOCKED_FLOW_MARK]);
        }
      }
    }
  });
  // A classified flow stays blocked: its retransmissions and later packets are dropped too.
  if (marking) out.push([...fromClient, '-m', 'connmark', '--mark', BLOCKED_FLOW_MARK, '-j', 'DROP']);
  return out;
}
