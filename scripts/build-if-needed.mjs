// `npm start` runs this first: compile with tsc only when dist/ is missing or
// older than a source file, so a volunteer's second start is instant.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const entry = 'dist/src/cli.js';

function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (name.name.endsWith('.ts') || name.name.endsWith('.json')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sourceTime = Math.max(...['src', 'probes', 'lab'].filter(existsSync).map(newestMtime));
if (!existsSync(entry) || statSync(entry).mtimeMs < sourceTime) {
  process.stderr.write('rasad: compiling TypeScript to dist/ ...\n');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
