// Where rasad's own files are: the code runs from src/ (tests, tsx) and from
// dist/src/ (the daemon), so bundled files are found from the package root.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The directory holding rasad's package.json. */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'rasad') return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find rasad package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function softwareVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
