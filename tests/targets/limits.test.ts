// The targets list's caps: a file over 5 MiB is refused before it is read, a
// list over MAX_TARGETS targets stops at the first one too many, and a file of
// garbage does not keep a million error objects. Generated files, in a temp dir.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTargets, MAX_REPORTED_ERRORS, MAX_TARGETS, MAX_TARGETS_FILE_BYTES, parseTargets, readTargetsFile, TargetsError } from '../../src/targets/parse.js';

const dir = mkdtempSync(join(tmpdir(), 'rasad-targets-limits-'));

function caught(run: () => unknown): TargetsError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TargetsError);
    expect((err as Error).message).not.toContain('\n');
    return err as TargetsError;
  }
  throw new Error('expected a TargetsError');
}

const lines = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `http://t${from + i}.example.org/ NEWS`).join('\n') + '\n';

describe('targets limits', () => {
  it('refuses a million-line file with one line naming it, before reading it', () => {
    const path = join(dir, 'million.txt');
    writeFileSync(path, lines(1_000_000));
    const error = caught(() => loadTargets(path));
    expect(error.message).toBe(`${path}: the targets file is larger than 5 MiB (5242880 bytes), the limit of a targets list (split the list)`);
    expect(error.line).toBeNull();
    expect(() => readTargetsFile(path, 'million.txt')).toThrow(/^million\.txt: the targets file is larger than 5 MiB/);
  });

  it('stops at the first target over the limit, naming its line', () => {
    const path = join(dir, 'many.txt');
    writeFileSync(path, '# a big list\n' + lines(MAX_TARGETS + 10));
    const error = caught(() => loadTargets(path));
    const line = MAX_TARGETS + 2; // after the comment line
    expect(error.message).toBe(`${path}:${line}: more than ${MAX_TARGETS} targets, the limit of a targets list (split the list)`);
    const parsed = parseTargets('# a big list\n' + lines(MAX_TARGETS + 10), 'many.txt');
    expect(parsed.targets).toHaveLength(MAX_TARGETS);
    expect(parsed.badLines).toBe(1);
  });

  it('loads a list at the limit', () => {
    const path = join(dir, 'full.txt');
    writeFileSync(path, lines(MAX_TARGETS));
    expect(loadTargets(path)).toHaveLength(MAX_TARGETS);
  });

  it('stops parsing text over the size limit (as `targets check` reads it) at the line that crosses it', () => {
    const line = `http://x.example.org/${'p'.repeat(1000)} NEWS # ${'c'.repeat(3000)}\n`; // mostly comment: few targets
    const count = Math.ceil(MAX_TARGETS_FILE_BYTES / line.length) + 5;
    const text = Array.from({ length: count }, (_, i) => line.replace('x.example', `x${i}.example`)).join('');
    const parsed = parseTargets(text, 'big.txt');
    expect(parsed.badLines).toBe(1);
    expect(parsed.errors[0]!.message).toMatch(/^big\.txt:\d+: the file goes over 5242880 bytes \(5 MiB\), the limit of a targets list, at this line/);
    // The first line whose end is past the limit.
    let total = 0;
    const ends = text.split('\n').map((l) => (total += l.length + 1));
    expect(parsed.errors[0]!.line).toBe(ends.findIndex((end) => end > MAX_TARGETS_FILE_BYTES) + 1);
    expect(parsed.targets.length).toBe(parsed.errors[0]!.line - 1);
  });

  it('keeps the first bad lines and counts the rest', () => {
    const path = join(dir, 'garbage.txt');
    writeFileSync(path, 'ftp://x.example.org/\n'.repeat(5000));
    const parsed = parseTargets('ftp://x.example.org/\n'.repeat(5000), 'garbage.txt');
    expect(parsed.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(parsed.badLines).toBe(5000);
    expect(caught(() => loadTargets(path)).message).toMatch(/:1: unknown scheme "ftp" .* \(and 4999 more bad lines\)$/);
  });
});
