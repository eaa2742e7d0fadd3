// `rasad once`: one sweep, then exit 0. Blocked targets are findings, not errors.
import { WEB_PROBES } from '../../../probes/types.js';
import { createRuntime, parseProbeList, resolveConfig } from '../../runtime.js';
import { parseFlags, UsageError, type Command } from '../command.js';
import { createProgress } from '../progress.js';

const usage = `Usage: rasad once [--targets F] [--db F] [--config F]
                  [--probes dns,tcp,tls,http,tls_duration,throughput,protocol]
                  [--resolver IP:PORT] [--control URL] [--concurrency N]

Runs one sweep over the targets, stores every measurement with its verdict,
detects changes, and exits 0 (blocked targets are findings, not errors).

  --targets F       targets file (default: ./targets.txt, else the bundled list)
  --db F            SQLite database (default: ./data/rasad.db)
  --config F        JSON config file
  --probes LIST     probe kinds to run (default: dns,tcp,tls,http)
  --resolver IP:PORT  resolver for the raw UDP DNS client
  --control URL     control helper URL (OONI test-helper protocol); repeatable
  --concurrency N   concurrent measurements (default: the web schedule's)
`;

export const onceCommand: Command = {
  name: 'once',
  summary: 'run one sweep over the targets, store it, and exit',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseFlags('once', argv, {
      targets: { type: 'string' },
      db: { type: 'string' },
      config: { type: 'string' },
      probes: { type: 'string' },
      resolver: { type: 'string' },
      control: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
    });
    if (values.help) return (io.stdout.write(usage), 0);
    if (positionals.length) throw new UsageError(`rasad once: unexpected argument "${positionals[0]}"`);
    const probes = parseProbeList(values.probes, WEB_PROBES);
    const config = resolveConfig(values, io.env);
    let concurrency = config.schedules.web.concurrency;
    if (values.concurrency !== undefined) {
      concurrency = Number(values.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 5000) throw new UsageError(`--concurrency: expected an integer from 1 to 5000, got "${values.concurrency}"`);
    }
    const runtime = createRuntime(config, io);
    const progress = createProgress(io.stderr, 'rasad once');
    const stop = new AbortController();
    const onSignal = () => stop.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const outcome = await runtime.sweep({
        schedule: 'once',
        probes,
        concurrency,
        signal: stop.signal,
        onProgress: (p) => progress.update(p.done, p.total, p.inFlight.slice(0, 3).join(' ')),
      });
      progress.finish();
      const counts = Object.entries(outcome.countsByVerdict).map(([v, n]) => `${v}=${n}`).join(' ');
      io.stderr.write(`rasad once: run ${outcome.runId} ${outcome.status}: ${outcome.units.length} units, ${outcome.measurements.length} measurements (${counts || 'none'}) in ${outcome.durationS.toFixed(1)} s\n`);
      await runtime.pipeline.flush();
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await runtime.close();
    }
  },
};
