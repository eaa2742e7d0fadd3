// The lab's certificate authority and the one server certificate every lab
// site presents, made with the openssl CLI at setup. The probe trusts the CA
// through NODE_EXTRA_CA_CERTS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CDN_CONTROL_IP, SITES } from './addresses.js';
import { run } from './exec.js';

export interface LabPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** The lab's stand-in for Signal's own CA and the certificate its service hosts present (lab/apps.ts). */
export interface SignalPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/**
 * A second, separate CA: the probe trusts it only through
 * probe.appEndpoints.signal.caPem, as the app trusts Signal's CA; it is not
 * in NODE_EXTRA_CA_CERTS.
 */
export function makeSignalPki(dir: string, names: readonly string[]): SignalPki {
  const caKey = join(dir, 'signal-ca.key');
  const caCert = join(dir, 'signal-ca.pem');
  const serverKey = join(dir, 'signal-server.key');
  const serverCsr = join(dir, 'signal-server.csr');
  const serverCert = join(dir, 'signal-server.pem');
  const ext = join(dir, 'signal-server.ext');
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=rasad lab Signal Messenger CA', '-keyout', caKey, '-out', caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=lab signal service',
    '-keyout', serverKey, '-out', serverCsr]);
  run('openssl', ['x509', '-req', '-in', serverCsr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial',
    '-out', serverCert, '-extfile', ext, '-days', '30']);
  return { caCert, serverCert, serverKey };
}

export function makeLabPki(dir: string): LabPki {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  const serverKey = join(dir, 'server.key');
  const serverCsr = join(dir, 'server.csr');
  const serverCert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=rasad lab CA', '-keyout', caKey, '-out', caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const san = [...SITES.map((s) => `DNS:${s.name}`), ...SITES.map((s) => `IP:${s.ip}`), `IP:${CDN_CONTROL_IP}`].join(',');
  writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=lab sites',
    '-keyout', serverKey, '-out', serverCsr]);
  run('openssl', ['x509', '-req', '-in', serverCsr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial',
    '-out', serverCert, '-extfile', ext, '-days', '30']);
  return { caCert, serverCert, serverKey };
}
