// `rasad upload`: submits stored measurements to an OONI-compatible collector
// (ooni/spec bk-003), the same measurements `rasad export --format ooni`
// writes. Runs are queued in the store's upload outbox (a run queued twice is
// sent once), then the outbox is drained until nothing due is left. What is
// not delivered stays queued for the next `rasad upload` or the daemon.
import { isAbsolute, join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { Store } from '../../store/store.js';
import { CollectorClient } from '../../upload/collector-client.js';
import { collectorDestination, drainUploads, enqueueRunUploads } from '../../upload/uploader.js';
import { defineCommand, UsageError } from '../command.js';
import { CONFIG_FLAG, DB_FLAG } from '../common-flags.js';

export const uploadCommand = defineCommand(
  {
    name: 'upload',
    summary: 'submit measurements to an OONI-compatible collector',
    description: `Submits the stored measurements of every run (or of --run) to the collector
of the config's collector.url, or --url, with OONI's collector protocol: one
report per run and test, each measurement submitted, the report closed. It
sends the OONI measurements 'rasad export --format ooni' writes, with the
config's probeAsn and probeCc and no probe address. A run already sent is not
sent again. Exits 1 when measurements stay queued (the collector failed).`,
    flags: {
      db: DB_FLAG,
      config: CONFIG_FLAG,
      url: { type: 'string', value: 'URL', help: 'the collector (default: collector.url of the config)' },
      run: { type: 'string', value: 'ID', help: 'only this run' },
    },
  },
  async ({ flags }, io) => {
    const config = loadConfig({ file: flags.config, cwd: io.cwd, env: io.env });
    const url = flags.url ?? config.collector.url;
    if (!url) throw new UsageError('rasad upload: no collector: pass --url or set collector.url in the config');
    if (!/^https?:\/\//i.test(url)) throw new UsageError(`rasad upload: --url must be an http:// or https:// URL`);
    const given = flags.db ?? config.db;
    const file = isAbsolute(given) ? given : join(io.cwd, given);
    const store = Store.open(file);
    try {
      const outbox = store.uploadOutbox(collectorDestination(url));
      const runs = flags.run ? [flags.run] : store.listRuns(1_000_000).map((r) => r.run_id);
      if (flags.run && !store.getRun(flags.run)) throw new UsageError(`rasad upload: no run ${flags.run} in ${given}`);
      let queued = 0;
      for (const runId of runs) queued += enqueueRunUploads(store, config, outbox, runId);
      const client = new CollectorClient(url);
      let delivered = 0;
      let rejected = 0;
      // Drain while progress is made; a failure leaves the rest for later.
      for (;;) {
        const r = await drainUploads(outbox, client, config, { backoff: { baseMs: 1_000, capMs: 60_000 } });
        delivered += r.delivered;
        rejected += r.rejected;
        if (r.delivered === 0 || r.retried > 0) break;
      }
      const pending = outbox.counts().pending;
      io.stdout.write(`rasad upload: ${queued} newly queued, ${delivered} delivered, ${rejected} rejected, ${pending} still queued\n`);
      return pending > 0 ? 1 : 0;
    } finally {
      store.close();
    }
  },
);
