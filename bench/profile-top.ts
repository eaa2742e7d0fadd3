// Summarises a V8 CPU profile (node --cpu-prof): the functions with the
// most self time, and self time by file, as percentages of the samples.
//
//   node --import tsx bench/profile-top.ts FILE.cpuprofile [--top 30]
import { readFileSync } from 'node:fs';
import { parseBenchFlags, positiveInt, runBench, BenchUsageError } from './lib/args.js';

const usage = 'Usage: node --import tsx bench/profile-top.ts FILE.cpuprofile [--top 30]\n';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

await runBench(usage, async () => {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  const flags = parseBenchFlags(args.filter((a) => a !== file), { top: { type: 'string' } });
  if (!file) throw new BenchUsageError('give a .cpuprofile file');
  const top = positiveInt('top', flags.top, 30, 1000);
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
});
