// `rasad once`: one sweep, then exit 0. Blocked targets are findings, not
// errors; a sweep that did not complete is exit 3 (130 when stopped by a signal).
import { EXIT } from '../../errors.js';
import { PROBE_KINDS } from '../../experiments/registry.js';
import { createRuntime, parseProbeList, resolveConfig } from '../../runtime.js';
import { plausibleClock } from '../../scheduler.js';
import { defineCommand, UsageError } from '../command.js';
import { CONFIG_FLAG, DB_FLAG, NO_CONTROL_FLAG, TARGETS_FLAG } from '../common-flags.js';
import { createProgress } from '../progress.js';

export const onceCommand = defineCommand(
  {
    name: 'once',
    summary: 'run one sweep over the targets, store it, and exit',
    synopsis: `rasad once [--targets F] [--db F] [--config F]
                  [--probes KIND,...]
                  [--resolver IP:PORT] [--control URL]... [--no-control] [--concurrency N]`,
    description: `Runs one sweep over the targets, stores every measurement with its verdict,
detects changes, and exits 0 (blocked targets are findings, not errors).
A sweep that did not complete exits 3 (partial or failed: measurements were
lost), or 130 when SIGINT or SIGTERM stopped it.`,
    flags: {
      targets: TARGETS_FLAG,
      db: DB_FLAG,
      config: CONFIG_FLAG,
      probes: { type: 'string', value: 'LIST', help: `probe kinds to run, of: ${PROBE_KINDS.join(',')}\n(default: schedules.web.probes, as configured; out of the box dns,tcp,tls,http and the messaging apps)` },
      resolver: { type: 'string', value: 'IP:PORT', help: 'resolver for the raw UDP DNS client' },
      control: { type: 'string', value: 'URL', repeatable: true, help: 'control helper URL, OONI test-helper protocol' },
      'no-control': NO_CONTROL_FLAG,
      concurrency: { type: 'integer', min: 1, max: 5000, help: "concurrent measurements (default: the web schedule's)" },
    },
  },
  async ({ flags: values }, io) => {
    // The daemon waits for a clock that is set (src/scheduler.ts); one sweep on request says so instead.
    if (!plausibleClock(Date.now())) {
      throw new UsageError(`rasad once: the system clock says ${new Date().toISOString()}, before 2025: set the time (NTP) and run again, so that no measurement is stamped with a wrong time`);
    }
    const config = resolveConfig(values, io.env);
    // Without --probes, the probes the daemon's web sweep would run (schedules.web.probes).
    const probes = parseProbeList(values.probes, config.schedules.web.probes);
    const concurrency = values.concurrency ?? config.schedules.web.concurrency;
    const progress = createProgress(io.stderr, 'rasad once');
    // Log lines written during the sweep clear the bar first, so that none lands on its line.
    const runtime = createRuntime(config, { cwd: io.cwd, stderr: progress.stream });
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
      return onceExitCode(outcome.status);
    } finally {
      progress.finish();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await runtime.close();
    }
  },
);

/** complete: 0; stopped by SIGINT/SIGTERM: 130; anything else (partial, failed): 3. */
export function onceExitCode(status: string): number {
  if (status === 'complete') return EXIT.ok;
  if (status === 'interrupted') return EXIT.interrupted;
  return EXIT.incomplete;
}
