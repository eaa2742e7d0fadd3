// `rasad run`: the daemon. Sweeps on the schedules, serves the dashboard and
// /metrics on loopback, delivers alerts; SIGINT/SIGTERM stop it cleanly.
import { createRuntime, resolveConfig } from '../../runtime.js';
import { Scheduler, type Schedule } from '../../scheduler.js';
import { startHttpServer } from '../../http/server.js';
import { PortInUseError } from '../../errors.js';
import { retentionCutoff } from '../../store/store.js';
import { defineCommand } from '../command.js';
import { CONFIG_FLAG, DB_FLAG, NO_CONTROL_FLAG, TARGETS_FLAG } from '../common-flags.js';

export const runCommand = defineCommand(
  {
    name: 'run',
    summary: 'run the daemon on its schedules (the default of npm start)',
    description: `Runs the daemon: web probes hourly and the long-lived probes every 6 hours
(each with random jitter), stores every measurement, raises alerts on changes,
and serves the dashboard and /metrics on http://127.0.0.1:9478/.
SIGINT or SIGTERM stops it: no new sweeps, in-flight work finishes or is
aborted after a grace period, the database is closed, exit code 0.`,
    flags: {
      config: CONFIG_FLAG,
      targets: TARGETS_FLAG,
      db: DB_FLAG,
      'no-control': NO_CONTROL_FLAG,
    },
  },
  async ({ flags: values }, io) => {
    const config = resolveConfig(values, io.env);
    const runtime = createRuntime(config, io);
    const log = runtime.logger.child({ layer: 'cli' });
    let server: Awaited<ReturnType<typeof startHttpServer>> | null = null;
    if (config.http.enabled) {
      try {
        server = await startHttpServer({ store: runtime.store, config, metrics: runtime.metrics, logger: runtime.logger.child({ layer: 'http' }) });
      } catch (err) {
        await runtime.close();
        // A port taken by another program (or a second rasad) is the volunteer's setting to change, not a crash.
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new PortInUseError(`rasad run: the dashboard cannot listen on ${config.http.bind}:${config.http.port} (${code}); set http.port / RASAD_HTTP_PORT, or http.enabled false`);
        }
        throw err;
      }
    }
    runtime.pipeline.start();

    const schedules: Schedule[] = (['web', 'long'] as const).map((name) => {
      const s = config.schedules[name];
      const last = runtime.store.lastRunStart(s.probes);
      return {
        name,
        everyS: s.everyS,
        jitterS: s.jitterS,
        lastStartedAt: last ? new Date(last) : null,
        sweep: (signal) => runtime.sweep({ schedule: name, probes: s.probes, concurrency: s.concurrency, signal }),
      };
    });
    // Retention: compact raw records past their age at start and then daily.
    const compact = () => {
      try {
        const cutoff = retentionCutoff(Date.now(), runtime.store.newestMeasurementStart(), config.retentionDays);
        const n = runtime.store.compactOlderThan(cutoff);
        if (n > 0) log.info({ compacted: n, older_than: cutoff }, 'old raw records compacted; verdicts and events kept');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'retention compaction failed');
      }
    };
    compact();
    const retention = setInterval(compact, 86_400_000).unref();

    const scheduler = new Scheduler(schedules, { logger: runtime.logger.child({ layer: 'scheduler' }) });
    scheduler.start();
    log.info({ targets: runtime.targets.length, db: config.db, dashboard: server?.url ?? null }, 'rasad is running');

    await new Promise<void>((resolve) => {
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          log.info({ signal: sig }, 'stopping: no new sweeps; in-flight measurements finish or are aborted');
          resolve();
        } else {
          log.warn({ signal: sig }, 'second signal: aborting in-flight measurements now');
          scheduler.abortNow();
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    clearInterval(retention);
    await scheduler.stop();
    await server?.close();
    await runtime.close();
    log.info('stopped');
    return 0;
  },
);
