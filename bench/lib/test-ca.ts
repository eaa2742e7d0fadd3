// A test certificate authority and one server certificate for
// *.bench.test (or the names given), made with the openssl CLI, so that the benches' HTTPS
// targets validate the way real sites do: through a CA the client trusts.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_ZONE } from './world.js';

export interface TestPki {
  /** Path of the CA certificate (PEM). */
  caFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and one server certificate for `names` (DNS names, wildcards allowed; *.bench.test by default). */
export function makeTestPki(dir: string, names: readonly string[] = [`*.${BENCH_ZONE}`]): TestPki {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '7',
    '-subj', '/CN=rasad bench CA', '-keyout', caKey, '-out', caFile,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', key, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-extfile', ext, '-days', '7']);
  return { caFile, caPem: readFileSync(caFile, 'utf8'), certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}
