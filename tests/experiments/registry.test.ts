// The registry is the one source of probe kinds and unit kinds: every probe
// module in probes/ is in it, every experiment has its folder, and nothing
// else in src/ keeps its own list of kinds.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXPERIMENTS, PROBE_KINDS, PROBES, UNIT_KINDS, experimentOf, unitKindOfProbe } from '../../src/experiments/registry.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('the experiment registry', () => {
  it('registers every probe module of probes/ (each exports an object with a kind and a run())', () => {
    const declared = new Set<string>();
    for (const file of sourceFiles('probes')) {
      const text = readFileSync(join(root, file), 'utf8');
      // A probe module: `export const xProbe: Probe<...> = { kind: 'x', run ... }`.
      for (const m of text.matchAll(/export const \w+: Probe(?:<[^>]*>)? = \{\s*kind: '([a-z0-9_]+)'/g)) declared.add(m[1]!);
    }
    expect(declared.size).toBeGreaterThanOrEqual(7);
    expect([...declared].filter((kind) => !PROBE_KINDS.includes(kind as never))).toEqual([]);
  });

  it('gives every probe kind exactly one experiment, and every experiment its folder', () => {
    expect(new Set(PROBE_KINDS).size).toBe(PROBE_KINDS.length);
    for (const kind of PROBE_KINDS) {
      expect(PROBES[kind].kind).toBe(kind);
      expect(unitKindOfProbe(kind)).not.toBeNull();
    }
    for (const e of EXPERIMENTS) {
      expect(experimentOf(e.kind)).toBe(e);
      const folder = join(root, 'src', 'experiments', e.kind);
      expect(statSync(folder).isDirectory()).toBe(true);
      expect(readdirSync(folder)).toEqual(expect.arrayContaining(['index.ts', 'judge.ts']));
    }
    expect(UNIT_KINDS).toEqual(EXPERIMENTS.map((e) => e.kind));
  });

  it('is the only list of kinds: no source file outside the registry spells out the probe or unit kinds', () => {
    // A literal list holding three or more kind names is a second list that will drift.
    const kinds = [...new Set([...PROBE_KINDS, ...UNIT_KINDS])].map((k) => `'${k}'`);
    const offenders: string[] = [];
    for (const file of [...sourceFiles('src'), ...sourceFiles('probes')]) {
      if (file === join('src', 'experiments', 'registry.ts')) continue;
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(/\[([^\[\]]{0,400})\]/g)) {
        const named = kinds.filter((k) => m[1]!.includes(k));
        if (named.length >= 3) offenders.push(`${relative(root, join(root, file))}: [${m[1]!.slice(0, 80)}]`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
