// A real sweep (runSweep, with stand-in probes whose error text carries the
// probe's own address) through the store: both writes (the provisional insert
// and the verdict update) store every row scrubbed and export-ready, and the
// JSONL export of the run is the full path's output, byte for byte.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Probe, ProbeKind, ProbeResult, Target } from '../../probes/types.js';
import { PROBE_KINDS, type ProbeRegistry } from '../../src/experiments/registry.js';
import { defaultConfig } from '../../src/config/schema.js';
import { measurementRecord } from '../../src/export/records.js';
import { writeExport } from '../../src/export/run-export.js';
import type { ExportSink } from '../../src/export/sink.js';
import type { Measurement, VerdictResult } from '../../src/model.js';
import { Store } from '../../src/store/store.js';
import { runSweep } from '../../src/sweep/run.js';
import { batchJudge } from '../../src/analysis/verdict.js';
import { httpHop } from '../helpers/measurements.js';

const PROBE_IP = '192.168.1.23';

/** Probes that answer at once; tcp fails with Node's message naming the local address, as an unknown failure would. */
function leakyProbes(): ProbeRegistry {
  const make = (kind: ProbeKind): Probe => ({
    kind,
    async run(input): Promise<ProbeResult> {
      const failure = kind === 'tcp' ? `unknown_failure: connect EHOSTUNREACH 198.51.100.7:443 - Local (${PROBE_IP}:51234)` : null;
      return {
        probe: kind,
        started_at: new Date().toISOString(),
        runtime_ms: 1.5,
        failure,
        failed_operation: failure ? 'connect' : null,
        details: kind === 'tcp' ? { connects: [{ ip: '198.51.100.7', port: 443, failure, local_address: PROBE_IP }] } : { url: input.url },
      };
    },
  });
  return Object.fromEntries(PROBE_KINDS.map((k) => [k, make(k)])) as ProbeRegistry;
}

class CollectSink implements ExportSink {
  text = '';
  write(text: string): undefined {
    this.text += text;
    return undefined;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

describe('a sweep through the store', () => {
  it('stores every measurement scrubbed and export-ready, and exports them as the full path would', async () => {
    const store = Store.open(join(mkdtempSync(join(tmpdir(), 'rasad-sweep-store-')), 'db.sqlite'));
    try {
      const config = defaultConfig();
      config.retries = 0;
      const targets: Target[] = [{ raw: 'news.test', category: 'NEWS', tags: [], inputs: ['http://news.test/', 'https://news.test/'] }];
      const outcome = await runSweep(
        {
          store,
          config,
          probes: leakyProbes(),
          logger: pino({ level: 'silent' }),
          judge: batchJudge((units) => units.map((): VerdictResult => ({ verdict: 'tcp.blocked', verdict_reason: `no connection from ${PROBE_IP}`, evidence: { message: `probe at ${PROBE_IP}` } }))),
          needsRetry: () => false,
          judgeOptions: { fingerprints: { dns: [], http: [] } as never },
        },
        { schedule: 'test', probes: ['dns', 'tcp', 'http'], targets, concurrency: 2 },
      );
      expect(outcome.measurements).toHaveLength(6);
      // The sweep's own objects are left as they were: the store scrubs what it writes.
      expect(outcome.measurements.find((m) => m.probe === 'tcp')!.failure).toContain(PROBE_IP);

      const rows = store.db.prepare(`SELECT * FROM measurements ORDER BY started_at, id`).all() as Record<string, unknown>[];
      expect(rows).toHaveLength(6);
      for (const row of rows) {
        expect(row.export_ready).toBe(1);
        expect(row.verdict).toBe('tcp.blocked');
        expect(JSON.stringify(row)).not.toContain(PROBE_IP);
        expect(JSON.stringify(row)).not.toContain('local_address');
      }
      expect(rows.filter((r) => r.probe === 'tcp').map((r) => r.failure)).toEqual([
        'unknown_failure: connect EHOSTUNREACH [scrubbed]:443 - Local ([scrubbed]:51234)',
        'unknown_failure: connect EHOSTUNREACH [scrubbed]:443 - Local ([scrubbed]:51234)',
      ]);

      const sink = new CollectSink();
      await writeExport(store, { format: 'jsonl', events: false, filter: {}, includeIp: false, probeAsn: 'AS0', probeCc: 'ZZ' }, sink);
      const full = rows.map((r) => JSON.stringify(measurementRecord(JSON.parse(r.record as string) as Measurement, { includeIp: false })) + '\n').join('');
      expect(sink.text).toBe(full);
      expect(sink.text).toBe(rows.map((r) => `${r.record}\n`).join(''));
    } finally {
      store.close();
    }
  });

  it('writes the final verdict over the provisional one, dropping an ok page\'s bodies but a small whole plain page, and keeping a blocked unit\'s', async () => {
    const store = Store.open(join(mkdtempSync(join(tmpdir(), 'rasad-sweep-store-')), 'db.sqlite'));
    try {
      const config = defaultConfig();
      config.retries = 0;
      const small = '<html>small whole page</html>';
      const hopsOf = (url: string) => [
        httpHop({ url, status_code: 302, body_sample: 'moved', body_length: 5 }),
        httpHop({ url: `${url}home`, body_sample: 'x'.repeat(1024), body_length: 40_000, body_truncated: true }),
        httpHop({ url: `${url}small`, body_sample: small, body_length: Buffer.byteLength(small) }),
      ];
      const probes = Object.fromEntries(
        PROBE_KINDS.map((kind) => [kind, { kind, run: async (input: { url: string }): Promise<ProbeResult> => ({ probe: kind, started_at: new Date().toISOString(), runtime_ms: 1, failure: null, failed_operation: null, details: kind === 'http' ? { hops: hopsOf(input.url) } : { url: input.url } }) }]),
      ) as unknown as ProbeRegistry;
      const targets: Target[] = [
        { raw: 'fine.test', category: 'NEWS', tags: [], inputs: ['http://fine.test/'] },
        { raw: 'blocked.test', category: 'NEWS', tags: [], inputs: ['http://blocked.test/'] },
      ];
      const outcome = await runSweep(
        {
          store,
          config,
          probes,
          logger: pino({ level: 'silent' }),
          judge: batchJudge((units) => units.map((u): VerdictResult => (u.url.includes('blocked') ? { verdict: 'http.blockpage', verdict_reason: 'a blockpage', evidence: { page: 1 } } : { verdict: 'ok', verdict_reason: 'fine', evidence: {} }))),
          needsRetry: () => false,
          judgeOptions: { fingerprints: { dns: [], http: [] } as never },
        },
        { schedule: 'test', probes: ['dns', 'http'], targets, concurrency: 2 },
      );
      expect(outcome.measurements.map((m) => m.verdict).sort()).toEqual(['http.blockpage', 'http.blockpage', 'ok', 'ok']);
      const http = store.db.prepare(`SELECT url, verdict, record, export_ready FROM measurements WHERE probe = 'http' ORDER BY url`).all() as { url: string; verdict: string; record: string; export_ready: number }[];
      const bodies = http.map((r) => [r.url, r.verdict, r.export_ready, (JSON.parse(r.record) as { details: { hops: { body_sample: string | null }[] } }).details.hops.map((h) => h.body_sample)]);
      expect(bodies).toEqual([
        ['http://blocked.test/', 'http.blockpage', 1, ['moved', 'x'.repeat(1024), small]],
        ['http://fine.test/', 'ok', 1, [null, null, small]],
      ]);
      for (const r of http) expect(JSON.parse(r.record).verdict_reason).not.toContain('not analysed yet');
    } finally {
      store.close();
    }
  });
});
