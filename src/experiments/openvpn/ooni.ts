// The openvpn experiment in OONI's data format: the keys of OONI's `openvpn`
// test that a hard reset can fill (success, tcp_connect, openvpn_handshake),
// with rasad's verdict fields. OONI's test goes on to a full tunnel; this one
// stops at the server's reset, so bootstrap_time is null.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import type { Measurement } from '../../model.js';
import { rasadTestKeys } from '../long-lived-ooni.js';
import type { OoniMapping } from '../types.js';

export const OPENVPN_TEST_VERSION = '0.1.2';

export function openvpnTestKeys(m: Measurement) {
  const base = rasadTestKeys(m);
  const d = (m.details ?? {}) as Partial<EndpointDetails>;
  const h = d.handshake ?? null;
  base.testKeys = {
    ...base.testKeys,
    success: h?.answered === true,
    bootstrap_time: null,
    tcp_connect: d.connect ? [{ ip: d.ip, port: d.port, status: { failure: d.connect.failure, success: d.connect.failure === null } }] : [],
    openvpn_handshake: h
      ? [{ endpoint: d.endpoint, ip: d.ip, port: d.port, transport: d.transport, failure: h.failure, handshake_time: h.response_ms === null ? null : h.response_ms / 1000, response: d.response ?? null }]
      : [],
  };
  return base;
}

export const openvpnOoniMapping: OoniMapping = {
  testName: () => 'openvpn',
  testVersion: () => OPENVPN_TEST_VERSION,
  extensions: {},
  keys: (measurements) => openvpnTestKeys(measurements[measurements.length - 1]!),
};
