// Test certificates made with the openssl CLI: a CA, and leaf certificates
// for given names (valid, expired, or signed by an unknown CA), cached per
// process in a temporary directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: Pem;
  /** A leaf for these DNS names and IPs, signed by the CA. `expired` backdates it. */
  leaf(names: string[], opts?: { expired?: boolean; ips?: string[] }): Pem;
}

const dir = mkdtempSync(join(tmpdir(), 'rasad-pki-'));
let counter = 0;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A fresh CA with its own key. Call twice for a second, "unknown" authority. */
export function makePki(name = 'rasad test CA'): TestPki {
  const id = ++counter;
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', `/CN=${name} ${id}`, '-keyout', `ca${id}.key`, '-out', `ca${id}.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const ca = { key: readFileSync(join(dir, `ca${id}.key`), 'utf8'), cert: readFileSync(join(dir, `ca${id}.pem`), 'utf8') };
  return {
    ca,
    leaf(names, opts = {}) {
      const leafId = `${id}-${++counter}`;
      const san = [...names.map((n) => `DNS:${n}`), ...(opts.ips ?? []).map((ip) => `IP:${ip}`)].join(',');
      writeFileSync(join(dir, `leaf${leafId}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0] ?? 'leaf'}`,
        '-keyout', `leaf${leafId}.key`, '-out', `leaf${leafId}.csr`]);
      // An expired certificate: valid for one day, starting two days ago (openssl x509 -not_before needs 3.4; use -days with a backdated CA signing via `ca`-less trick).
      const validity = opts.expired ? ['-not_before', '20200101000000Z', '-not_after', '20200102000000Z'] : ['-days', '30'];
      try {
        openssl(['x509', '-req', '-in', `leaf${leafId}.csr`, '-CA', `ca${id}.pem`, '-CAkey', `ca${id}.key`, '-CAcreateserial',
          '-out', `leaf${leafId}.pem`, '-extfile', `leaf${leafId}.ext`, ...validity]);
      } catch (err) {
        if (!opts.expired) throw err;
        // openssl < 3.4 has no -not_before: fall back to a negative validity window is impossible, so use faketime-free `ca` config.
        writeFileSync(join(dir, `ca${leafId}.cnf`), caConfig(id, leafId));
        writeFileSync(join(dir, `index${leafId}.txt`), '');
        openssl(['ca', '-batch', '-config', `ca${leafId}.cnf`, '-in', `leaf${leafId}.csr`, '-out', `leaf${leafId}.pem`,
          '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', `leaf${leafId}.ext`, '-notext']);
      }
      return { key: readFileSync(join(dir, `leaf${leafId}.key`), 'utf8'), cert: readFileSync(join(dir, `leaf${leafId}.pem`), 'utf8') };
    },
  };
}

function caConfig(id: number, leafId: string): string {
  return `[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=index${leafId}.txt\nnew_certs_dir=.\ncertificate=ca${id}.pem\nprivate_key=ca${id}.key\nserial=ca${id}.srl\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`;
}
