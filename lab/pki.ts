// The lab's certificate authorities, made with the openssl CLI at setup: the
// lab CA, whose one server certificate every lab site presents (the probe
// trusts it through NODE_EXTRA_CA_CERTS), and a stand-in for Signal's own CA.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CDN_CONTROL_IP, SITES } from './addresses.js';
import { run } from './exec.js';

/** A CA and the one server certificate (with its key) it issued. */
export interface LabPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** The lab's stand-in for Signal's own CA and the certificate its service hosts present (lab/apps.ts). */
export type SignalPki = LabPki;

/** A P-256 CA `caName` in `dir` (files named `<prefix>ca.*`), and a server certificate it issues for `san` (openssl's subjectAltName list). */
function issue(dir: string, prefix: string, caName: string, serverName: string, san: string): LabPki {
  const caKey = join(dir, `${prefix}ca.key`);
  const caCert = join(dir, `${prefix}ca.pem`);
  const serverKey = join(dir, `${prefix}server.key`);
  const serverCsr = join(dir, `${prefix}server.csr`);
  const serverCert = join(dir, `${prefix}server.pem`);
  const ext = join(dir, `${prefix}server.ext`);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', `/CN=${caName}`, '-keyout', caKey, '-out', caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${serverName}`,
    '-keyout', serverKey, '-out', serverCsr]);
  run('openssl', ['x509', '-req', '-in', serverCsr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial',
    '-out', serverCert, '-extfile', ext, '-days', '30']);
  return { caCert, serverCert, serverKey };
}

/**
 * A second, separate CA: the probe trusts it only through
 * probe.appEndpoints.signal.caPem, as the app trusts Signal's CA; it is not
 * in NODE_EXTRA_CA_CERTS.
 */
export function makeSignalPki(dir: string, names: readonly string[]): SignalPki {
  return issue(dir, 'signal-', 'rasad lab Signal Messenger CA', 'lab signal service', names.map((n) => `DNS:${n}`).join(','));
}

export function makeLabPki(dir: string): LabPki {
  const san = [...SITES.map((s) => `DNS:${s.name}`), ...SITES.map((s) => `IP:${s.ip}`), `IP:${CDN_CONTROL_IP}`].join(',');
  return issue(dir, '', 'rasad lab CA', 'lab sites', san);
}
