// The bundled-list bench's world as a process of its own, inside the
// bench's namespace (its CPU must not count as rasad's):
//
//   ip netns exec <ns> node --import tsx bench/lib/bundled-world-main.ts --latency-ms D --cert F --key F --ports 80,443,...
//
// Speaks world-stdio.ts's protocol (world-ready, stats, end of stdin).
import { readFileSync } from 'node:fs';
import { BenchUsageError, nonNegativeNumber, parseBenchFlags, positiveIntList, runBench } from './args.js';
import { startBundledWorld } from './bundled-world.js';
import { serveWorldOverStdio } from './world-stdio.js';

const usage = 'Usage: bundled-world-main.ts --latency-ms D --cert F --key F --ports LIST\n';

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), {
    'latency-ms': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    ports: { type: 'string' },
  });
  if (!flags.cert || !flags.key || !flags.ports) throw new BenchUsageError('--cert, --key and --ports are required');
  const world = await startBundledWorld({
    latencyMs: nonNegativeNumber('latency-ms', flags['latency-ms'], 50, 60_000),
    certPem: readFileSync(flags.cert, 'utf8'),
    keyPem: readFileSync(flags.key, 'utf8'),
    dnsHost: '127.0.0.1',
    dnsPort: 53,
    ports: positiveIntList('ports', flags.ports, [80, 443], 65535),
  });
  await serveWorldOverStdio(world, { ports: flags.ports });
});
