// Summarises a V8 CPU profile (node --cpu-prof): the functions with the
// most self time, and self time by file, as percentages of the samples.
//
//   node --import tsx bench/profile-top.ts FILE.cpuprofile [--top 30] [--callers REGEX] [--depth 6] [--under REGEX]
//
// --callers REGEX lists, for the samples whose own function matches REGEX
// (e.g. "addEventListener|createAbortSignal"), the stacks above them, so a
// cost in Node or a dependency can be traced to the project's code.
// --under REGEX lists self time by function within the samples that have a
// frame matching REGEX on their stack (e.g. "fetchFrom probes/http").
import { readFileSync } from 'node:fs';
import { parseBenchFlags, positiveInt, runBench, BenchUsageError } from './lib/args.js';

const usage = 'Usage: node --import tsx bench/profile-top.ts FILE.cpuprofile [--top 30] [--callers REGEX] [--depth 6] [--under REGEX]\n';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

await runBench(usage, async () => {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  const flags = parseBenchFlags(args.filter((a) => a !== file), { top: { type: 'string' }, callers: { type: 'string' }, under: { type: 'string' }, depth: { type: 'string' } });
  if (!file) throw new BenchUsageError('give a .cpuprofile file');
  const top = positiveInt('top', flags.top, 30, 1000);
  const depth = positiveInt('depth', flags.depth, 6, 100);
  const regexFlag = (name: string, value: unknown): RegExp | null => {
    try {
      return typeof value === 'string' ? new RegExp(value) : null;
    } catch {
      throw new BenchUsageError(`--${name} is not a regular expression: ${JSON.stringify(value)}`);
    }
  };
  const callersOf = regexFlag('callers', flags.callers);
  const underOf = regexFlag('under', flags.under);
  const under = new Map<string, number>();
  let underSamples = 0;
  const stacks = new Map<string, number>();
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const keyOf = (f: ProfileNode['callFrame']) => {
    const url = f.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/work\/main\//, '');
    return { url, fn: `${f.functionName || '(anonymous)'} ${url || '(native)'}:${f.lineNumber + 1}` };
  };
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    const { url, fn } = keyOf(f);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + 1);
    const fileKey = url || `(${f.functionName})`;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + 1);
    // Inclusive: every named function of the project on the sample's stack, once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!frame.functionName || /node_modules|^node:/.test(frame.url) || frame.url === '') continue;
      seen.add(keyOf(frame).fn);
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
    if (underOf) {
      let inside = false;
      for (let at: number | undefined = id; at !== undefined && !inside; at = parent.get(at)) inside = underOf.test(keyOf(byId.get(at)!.callFrame).fn);
      if (inside) {
        underSamples++;
        under.set(fn, (under.get(fn) ?? 0) + 1);
      }
    }
    if (callersOf && callersOf.test(fn)) {
      const chain: string[] = [];
      for (let at: number | undefined = id; at !== undefined && chain.length < depth; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        if (frame.functionName === '(root)') break;
        chain.push(keyOf(frame).fn);
      }
      const key = chain.join('\n         <- ');
      stacks.set(key, (stacks.get(key) ?? 0) + 1);
    }
  }
  const total = profile.samples.length;
  const print = (title: string, map: Map<string, number>) => {
    console.log(`${title} (${total} samples)`);
    for (const [k, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${((100 * n) / total).toFixed(1).padStart(5)} %  ${k}`);
  };
  print('self time by function', byFunction);
  console.log('');
  print('self time by file', byFile);
  console.log('');
  print("inclusive time of the project's named functions", inclusive);
  if (underOf) {
    console.log('');
    print(`self time within stacks through ${underOf} (${((100 * underSamples) / total).toFixed(1)} % in all)`, under);
  }
  if (callersOf) {
    console.log('');
    print(`stacks under functions matching ${callersOf}`, stacks);
  }
});
