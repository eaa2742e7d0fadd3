// The circumvention servers of the lab (issue 19): a Tor relay, an obfs4
// bridge, an OpenVPN server and a WireGuard peer, each on a host of its own
// in world that also serves ordinary HTTP/HTTPS (the lab's web server), so
// that "plain TLS to the same host passes" can be shown.
//
// The keys are fixed so that scenario files can name the endpoints as data.
// They are lab-only test keys: no real server or peer has them.
import { join } from 'node:path';
import type { CircumventionConfig } from './services/circumvention.js';

/** Hosts (sites in addresses.ts: each also serves HTTP on 80 and HTTPS on 443). */
export const TOR_HOST_IP = '5.9.12.10';
export const OPENVPN_HOST_IP = '5.9.12.11';
export const WIREGUARD_HOST_IP = '5.9.12.12';

export const TOR_OR_PORT = 9001;
export const TOR_DIR_PORT = 9030;
export const OBFS4_PORT = 9443;
export const OPENVPN_PORT = 1194;
export const WIREGUARD_PORT = 51820;

/** The obfs4 bridge's state (obfs4proxy's obfs4_state.json), written before tor starts. */
export const OBFS4_STATE = {
  'node-id': '71801560663f55331370eed9bff1cb839e350d28',
  'private-key': 'a8d4aac9387b3969c3dde1c2eaa0d0f0d0a03afac4bbb5b638aeda1e986ab455',
  'public-key': 'c5d4e8f88c6216dfeef064ecb5fb273e6bfcb32588f7765003b9991c15ffd57b',
  'drbg-seed': 'ce2fecc7b7496b43108b0b770b50c33542d1efd6b342c712',
  'iat-mode': 0,
};
/** The bridge line's cert=: base64(node-id || public-key), unpadded. */
export const OBFS4_CERT = Buffer.concat([Buffer.from(OBFS4_STATE['node-id'], 'hex'), Buffer.from(OBFS4_STATE['public-key'], 'hex')])
  .toString('base64')
  .replace(/=+$/, '');

/** The WireGuard server's key pair, and the one peer it knows (the probe's clientkey=). */
export const WIREGUARD_SERVER_PRIVATE = 'gAFE8bIcM3hMKUtlhUAOHSp8/mf9fFTmeTa37x7MZXQ=';
export const WIREGUARD_SERVER_PUBLIC = 'cZVKuB7OsqCblMXm8TLsmCdH5d9mSSJiZv0o3re/BSI=';
export const WIREGUARD_PEER_PRIVATE = 'QAmpsHAQt4f6lIIqci1TOD9JsAH70380svG8Q0y6iUs=';
export const WIREGUARD_PEER_PUBLIC = 'k2LNKmZSiVIH0YV1PPrgHO6qTlBG/GZ2/aoiGhsj7U4=';
/** The TUN device wireguard-go creates in world. */
export const WIREGUARD_DEVICE = 'labwg0';

export function circumventionConfig(stateDir: string): CircumventionConfig {
  return {
    dir: join(stateDir, 'circumvention'),
    tor: { ip: TOR_HOST_IP, orPort: TOR_OR_PORT, dirPort: TOR_DIR_PORT, obfs4Port: OBFS4_PORT, obfs4State: OBFS4_STATE },
    openvpn: { ip: OPENVPN_HOST_IP, port: OPENVPN_PORT },
    wireguard: { ip: WIREGUARD_HOST_IP, port: WIREGUARD_PORT, device: WIREGUARD_DEVICE, privateKey: WIREGUARD_SERVER_PRIVATE, peerPublicKey: WIREGUARD_PEER_PUBLIC },
  };
}
