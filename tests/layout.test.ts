// The shape of the code, as the design card fixes it: no import circles in
// src/ and probes/, probes import nothing from src/ (data flows one way), and
// nothing in src/store imports src/export.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import (type-only ones too: a circle of types is still a circle to a reader). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
    out.push(normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
  }
  // Inline type imports: `import('./x.js').Name`.
  for (const m of text.matchAll(/\bimport\('(\.[^']+)'\)/g)) out.push(normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
  return out;
}

const files = [...sourceFiles('src'), ...sourceFiles('probes'), ...sourceFiles('lab')];
const graph = new Map(files.map((f) => [f, importsOf(f).filter((i) => files.includes(i))]));

describe('layout', () => {
  it('has no import circle in src/, probes/ and lab/', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(circles).toEqual([]);
  });

  it('keeps probes free of src/: a probe never imports the store, the analysis or the alerts', () => {
    const offenders = sourceFiles('probes').flatMap((f) => importsOf(f).filter((i) => i.startsWith('src')).map((i) => `${f} -> ${i}`));
    expect(offenders).toEqual([]);
  });

  it('keeps src/store free of src/export', () => {
    const offenders = sourceFiles(join('src', 'store')).flatMap((f) => importsOf(f).filter((i) => i.startsWith(join('src', 'export'))).map((i) => `${f} -> ${i}`));
    expect(offenders).toEqual([]);
  });

  it('reads the imports it checks (the test sees the graph)', () => {
    expect(graph.get(join('src', 'sweep', 'run.ts'))).toContain(join('src', 'experiments', 'registry.ts'));
  });
});
