// The tor experiment in OONI's data format: OONI's `tor` test keys (one
// target per measurement, keyed by its input), with rasad's verdict fields.
import type { EndpointDetails } from '../../../probes/endpoint_io.js';
import type { Measurement } from '../../model.js';
import { rasadTestKeys } from '../long-lived-ooni.js';
import type { OoniMapping } from '../types.js';

export const TOR_TEST_VERSION = '0.4.0';

const TARGET_PROTOCOL: Record<string, string> = { tor: 'or_port', tor_dir: 'dir_port', obfs4: 'obfs4' };

export function torTestKeys(m: Measurement) {
  const base = rasadTestKeys(m);
  const d = (m.details ?? {}) as Partial<EndpointDetails>;
  const protocol = TARGET_PROTOCOL[d.protocol ?? ''] ?? 'or_port';
  const accessible = d.handshake?.answered === true ? 1 : 0;
  const address = d.ip ? (d.ip.includes(':') ? `[${d.ip}]:${d.port}` : `${d.ip}:${d.port}`) : null;
  const target = {
    failure: m.failure ?? null,
    target_address: address,
    target_name: d.endpoint ?? m.url,
    target_protocol: protocol,
    target_source: 'rasad_targets',
    tcp_connect: d.connect ? [{ ip: d.ip, port: d.port, status: { failure: d.connect.failure, success: d.connect.failure === null } }] : [],
    tls_handshakes: d.tls ? [{ address, failure: d.tls.failure, tls_version: d.tls.tls_version }] : [],
    network_events: [],
    queries: [],
    requests: [],
  };
  const totals: Record<string, number> = {};
  for (const kind of ['dir_port', 'obfs4', 'or_port', 'or_port_dirauth']) {
    totals[`${kind}_total`] = kind === protocol ? 1 : 0;
    totals[`${kind}_accessible`] = kind === protocol ? accessible : 0;
  }
  base.testKeys = { ...base.testKeys, ...totals, targets: { [String(d.endpoint ?? m.url)]: target } };
  return base;
}

export const torOoniMapping: OoniMapping = {
  testName: () => 'tor',
  testVersion: () => TOR_TEST_VERSION,
  extensions: {},
  keys: (measurements) => torTestKeys(measurements[measurements.length - 1]!),
};
