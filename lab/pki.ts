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
