// Store ingest bench: synthetic typical web measurements inserted in batches
// through Store.insertMeasurements, as the sweep does. Prints rows/s and the
// database's bytes per measurement (after a WAL checkpoint), with what the
// bytes are spent on. Goals are printed beside the figures, not asserted.
//
//   node --import tsx bench/store.ts [--rows 100000] [--batch 500] [--keep]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/store/store.js';
import { syntheticBatches } from './fixtures.js';
import { parseBenchFlags, positiveInt, runBench } from './lib/args.js';

const usage = `Usage: node --import tsx bench/store.ts [--rows 100000] [--batch 500] [--keep]

  --rows N    synthetic web measurements to insert (default 100000)
  --batch N   measurements per insertMeasurements transaction (default 500)
  --keep      keep the database and print its path
`;

const GOAL_ROWS_PER_S = 20_000;
const GOAL_BYTES_PER_ROW = 2048;

await runBench(usage, async () => {
  const flags = parseBenchFlags(process.argv.slice(2), { rows: { type: 'string' }, batch: { type: 'string' }, keep: { type: 'boolean' } });
  if (flags.help) {
    process.stdout.write(usage);
    return;
  }
  measure(positiveInt('rows', flags.rows, 100_000), positiveInt('batch', flags.batch, 500), flags.keep ?? false);
});

function measure(rows: number, batchSize: number, keep: boolean): void {
  const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-store-'));
  const file = join(dir, 'bench.db');
  const store = Store.open(file);
  try {

    let insertMs = 0;
    let inserted = 0;
    const wallStart = performance.now();
    for (const batch of syntheticBatches(rows, batchSize)) {
      const t0 = performance.now();
      for (const run of batch.runs) store.beginRun(run);
      store.insertMeasurements(batch.measurements);
      insertMs += performance.now() - t0;
      inserted += batch.measurements.length;
    }
    const wallMs = performance.now() - wallStart;

    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = store.db.pragma('page_size', { simple: true }) as number;
    const pageCount = store.db.pragma('page_count', { simple: true }) as number;
    const dbBytes = pageSize * pageCount;
    const perRow = dbBytes / inserted;
    const rate = inserted / (insertMs / 1000);

    const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const verdict = (ok: boolean) => (ok ? 'meets goal' : 'MISSES goal');

    console.log(`rasad store bench: ${fmt(inserted)} synthetic web measurements in batches of ${batchSize}`);
    console.log(`  ingest          ${fmt(rate)} rows/s (insert time ${fmt(insertMs / 1000, 2)} s; wall with generation ${fmt(wallMs / 1000, 2)} s)   goal >= ${fmt(GOAL_ROWS_PER_S)} rows/s: ${verdict(rate >= GOAL_ROWS_PER_S)}`);
    console.log(`  size            ${fmt(dbBytes / 1024 / 1024, 1)} MiB = ${fmt(perRow)} bytes per measurement   goal <= ${fmt(GOAL_BYTES_PER_ROW)} bytes: ${verdict(perRow <= GOAL_BYTES_PER_ROW)}`);

    // Where the bytes go: the JSON record per probe kind and its biggest parts, then tables against indexes.
    const parts = store.db
      .prepare(
        `SELECT probe, count(*) AS n, avg(length(record)) AS record,
                avg(length(json_extract(record, '$.details'))) AS details,
                avg(length(json_extract(record, '$.control'))) AS control,
                avg(length(json_extract(record, '$.evidence'))) AS evidence
         FROM measurements GROUP BY probe ORDER BY probe`,
      )
      .all() as { probe: string; n: number; record: number; details: number; control: number | null; evidence: number }[];
    console.log('  record JSON, average bytes by probe (of which details / control / evidence):');
    for (const p of parts) {
      console.log(`    ${p.probe.padEnd(6)} ${fmt(p.n).padStart(9)} rows  ${fmt(p.record).padStart(6)}  (${fmt(p.details)} / ${fmt(p.control ?? 0)} / ${fmt(p.evidence)})`);
    }
    const sizes = store.db
      .prepare(
        `SELECT sum(length(record)) AS record,
                sum(length(measurement_id) + length(run_id) + length(target) + length(url) + length(probe) + length(category)
                    + length(started_at) + 8 + coalesce(length(failure), 0) + length(verdict) + length(verdict_reason)) AS columns
         FROM measurements`,
      )
      .get() as { record: number; columns: number };
    console.log(
      `  per measurement: record JSON ${fmt(sizes.record / inserted)} bytes, the indexed columns copied out of it ${fmt(sizes.columns / inserted)} bytes, ` +
        `page and index overhead the remaining ${fmt(perRow - (sizes.record + sizes.columns) / inserted)} bytes`,
    );
    try {
      const objects = store.db.prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC`).all() as { name: string; bytes: number }[];
      console.log('  by table/index:');
      for (const o of objects.slice(0, 8)) console.log(`    ${o.name.padEnd(28)} ${fmt(o.bytes / inserted).padStart(6)} bytes/row  ${fmt((100 * o.bytes) / dbBytes).padStart(3)}%`);
    } catch {
      console.log('  (this SQLite has no dbstat table: no per-index breakdown)');
    }
  } finally {
    store.close();
    if (keep) console.log(`  kept ${file}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
