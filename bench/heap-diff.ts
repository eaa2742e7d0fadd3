// What grew between two V8 heap snapshots (node --heapsnapshot-signal, or
// bench/soak.ts --snapshots): count and self size by constructor name, the
// largest growth first.
//
//   node --import tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { BenchUsageError, parseBenchFlags, positiveInt, runBench } from './lib/args.js';

const usage = 'Usage: node --import tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25]\n';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size per "type:name" of every node. */
export function summarise(snapshot: Snapshot): Map<string, { count: number; bytes: number }> {
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snapshot.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!] ?? '?';
    const name = type === 'object' || type === 'native' || type === 'closure' ? snapshot.strings[snapshot.nodes[i + nameAt]!] : `(${type})`;
    const key = `${type}:${name}`;
    const entry = out.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    out.set(key, entry);
  }
  return out;
}

await runBench(usage, async () => {
  const args = process.argv.slice(2);
  const files = args.filter((a) => a.endsWith('.heapsnapshot'));
  const flags = parseBenchFlags(args.filter((a) => !files.includes(a)), { top: { type: 'string' } });
  if (files.length !== 2) throw new BenchUsageError('give two .heapsnapshot files, the earlier first');
  const top = positiveInt('top', flags.top, 25, 1000);
  const [before, after] = files.map((f) => summarise(JSON.parse(readFileSync(f, 'utf8')) as Snapshot));
  const total = (m: Map<string, { bytes: number }>) => [...m.values()].reduce((a, b) => a + b.bytes, 0);
  console.log(`heap: ${(total(before!) / 1048576).toFixed(1)} MiB -> ${(total(after!) / 1048576).toFixed(1)} MiB`);
  const rows = [...after!].map(([k, v]) => {
    const b = before!.get(k) ?? { count: 0, bytes: 0 };
    return { k, dCount: v.count - b.count, dBytes: v.bytes - b.bytes, count: v.count };
  });
  rows.sort((a, b) => b.dBytes - a.dBytes);
  for (const r of rows.slice(0, top)) console.log(`  ${(r.dBytes / 1024).toFixed(0).padStart(8)} KiB  ${String(r.dCount).padStart(7)} objects (now ${r.count})  ${r.k}`);
});
