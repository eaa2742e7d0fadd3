// The realistic bench's world as a process of its own, inside the bench's
// namespace (its CPU must not count as rasad's):
//
//   ip netns exec <ns> node --import tsx bench/lib/realistic-world-main.ts --targets N --rtt-ms D --cert F --key F
//
// Prints `world-ready {json}` when it listens; on stdin, `stats` prints
// `world-stats {json}`; the end of stdin stops it.
import { readFileSync } from 'node:fs';
import { BenchUsageError, nonNegativeNumber, parseBenchFlags, positiveInt, runBench } from './args.js';
import { startRealisticWorld } from './realistic-world.js';
import { serveWorldOverStdio } from './world-stdio.js';
import { MAX_TARGETS } from './world.js';

const usage = 'Usage: realistic-world-main.ts --targets N --rtt-ms D --cert F --key F\n';

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), {
    targets: { type: 'string' },
    'rtt-ms': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  });
  if (!flags.cert || !flags.key) throw new BenchUsageError('--cert and --key are required');
  const world = await startRealisticWorld({
    targets: positiveInt('targets', flags.targets, 903, MAX_TARGETS),
    rttMs: nonNegativeNumber('rtt-ms', flags['rtt-ms'], 150, 60_000),
    certPem: readFileSync(flags.cert, 'utf8'),
    keyPem: readFileSync(flags.key, 'utf8'),
    dnsHost: '127.0.0.1',
    dnsPort: 53,
    listenHost: '0.0.0.0',
    httpPort: 80,
    httpsPort: 443,
  });
  await serveWorldOverStdio(world, { http_port: world.httpPort, https_port: world.httpsPort });
});
