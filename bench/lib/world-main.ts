// The sweep bench's world as a process of its own, started inside the
// bench's namespace (its CPU must not count as rasad's):
//
//   ip netns exec <ns> node --import tsx bench/lib/world-main.ts --targets N --latency-ms D
//
// Prints one line `world-ready {json}` when it listens. Then, on stdin, the
// line `stats` prints `world-stats {json}`; the end of stdin stops it.
import { nonNegativeNumber, parseBenchFlags, positiveInt, runBench } from './args.js';
import { serveWorldOverStdio } from './world-stdio.js';
import { MAX_TARGETS, startWorld } from './world.js';

const usage = 'Usage: world-main.ts --targets N --latency-ms D [--dns-port 53] [--http-port 80] [--host 0.0.0.0]\n';

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), {
    targets: { type: 'string' },
    'latency-ms': { type: 'string' },
    'dns-port': { type: 'string' },
    'http-port': { type: 'string' },
    host: { type: 'string' },
  });
  const world = await startWorld({
    targets: positiveInt('targets', flags.targets, 1000, MAX_TARGETS),
    latencyMs: nonNegativeNumber('latency-ms', flags['latency-ms'], 50, 60_000),
    dnsHost: '127.0.0.1',
    dnsPort: positiveInt('dns-port', flags['dns-port'], 53, 65535),
    httpHost: flags.host ?? '0.0.0.0',
    httpPort: positiveInt('http-port', flags['http-port'], 80, 65535),
  });
  await serveWorldOverStdio(world, { dns_port: world.dnsPort, http_port: world.httpPort });
});
