// The torrc of a tor that belongs to a private test network (the lab's relay
// and bridge, and the circumvention tests' relays): it names a fake directory
// authority, so tor never bootstraps to the real network and contacts nothing
// but what the lab gives it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A torrc for a private test network: nothing but loopback is ever contacted, nothing is published. */
export function writeTorrc(dir: string, address: string, lines: string[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'torrc');
  writeFileSync(path, [
    `DataDirectory ${join(dir, 'data')}`,
    'TestingTorNetwork 1',
    'DirAuthority fake orport=1 no-v2 v3ident=0000000000000000000000000000000000000001 127.0.0.1:2 0000000000000000000000000000000000000002',
    'UseDefaultFallbackDirs 0',
    `Address ${address}`,
    'SocksPort 0',
    'AssumeReachable 1',
    'PublishServerDescriptor 0',
    'ExitRelay 0',
    'ContactInfo none',
    'Log notice stdout',
    ...lines,
  ].join('\n') + '\n');
  return path;
}
