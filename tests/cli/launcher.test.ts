// bin/rasad, the launcher `npm start` and the Docker image run: it must
// hand node the flags of bin/node-flags (the ones the benches measure) and
// the thread pool size, then rasad's own arguments, unchanged. A stand-in
// `node` first on PATH prints what it was given.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNodeFlags, shippedNodeFlags } from '../../bench/lib/node-flags.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `launcher` with a `node` that prints its argv (one per line) and its UV_THREADPOOL_SIZE. */
function launch(launcher: string, args: string[], env: Record<string, string> = {}): string[] {
  const fakeBin = mkdtempSync(join(tmpdir(), 'rasad-launcher-'));
  writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\nfor a in "$@"; do printf "arg:%s\\n" "$a"; done\nprintf "uv:%s\\n" "$UV_THREADPOOL_SIZE"\n');
  chmodSync(join(fakeBin, 'node'), 0o755);
  const out = execFileSync(launcher, args, { env: { PATH: `${fakeBin}:/usr/bin:/bin`, ...env }, encoding: 'utf8' });
  return out.trimEnd().split('\n');
}

describe('bin/rasad', () => {
  it('passes bin/node-flags, then the compiled CLI, then the arguments as given', () => {
    const lines = launch(join(PROJECT, 'bin/rasad'), ['export', '--format', 'csv', 'a b', '*']);
    const flags = shippedNodeFlags();
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.every((f) => f.startsWith('--'))).toBe(true);
    const args = lines.filter((l) => l.startsWith('arg:')).map((l) => l.slice(4));
    expect(args.slice(0, flags.length)).toEqual(flags);
    expect(args[flags.length]).toBe(`${PROJECT}bin/../dist/src/cli.js`);
    // Spaces and glob characters in rasad's own arguments pass through untouched.
    expect(args.slice(flags.length + 1)).toEqual(['export', '--format', 'csv', 'a b', '*']);
    expect(lines).toContain('uv:64');
  });

  it('keeps a thread pool size the caller set', () => {
    expect(launch(join(PROJECT, 'bin/rasad'), ['run'], { UV_THREADPOOL_SIZE: '8' })).toContain('uv:8');
  });

  it('reads flags and comments as the benches do, and runs without a flags file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-launcher-copy-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(PROJECT, 'bin/rasad'), join(dir, 'bin/rasad'));
    chmodSync(join(dir, 'bin/rasad'), 0o755);
    const text = '# a comment\n--max-semi-space-size=4   --stack-size=900 # why\n\n  --no-warnings\n';
    writeFileSync(join(dir, 'bin/node-flags'), text);
    const args = (l: string[]) => l.filter((x) => x.startsWith('arg:')).map((x) => x.slice(4));
    expect(parseNodeFlags(text)).toEqual(['--max-semi-space-size=4', '--stack-size=900', '--no-warnings']);
    expect(args(launch(join(dir, 'bin/rasad'), ['run']))).toEqual([...parseNodeFlags(text), `${dir}/bin/../dist/src/cli.js`, 'run']);
    execFileSync('rm', [join(dir, 'bin/node-flags')]);
    expect(args(launch(join(dir, 'bin/rasad'), ['run']))).toEqual([`${dir}/bin/../dist/src/cli.js`, 'run']);
  });
});
