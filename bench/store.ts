// Store ingest bench: synthetic typical web measurements inserted in batches
// through Store.insertMeasurements, as the sweep does. Prints rows/s and the
// database's bytes per measurement (after a WAL checkpoint), with what the
// bytes are spent on. Goals are printed beside the figures, not asserted.
//
// The store scrubs each record and puts its keys in the export's order before
// it writes it (src/records/stored-record.ts). What that costs is measured in
// the same run on the same measurements: the CPU time of preparing the
// records against that of the JSON.stringify the store did before, and its
// share of the insert time; and the ingest rate of the same batches written
// the way the store wrote them before (JSON.stringify, nothing scrubbed) into
// a second database, batch for batch in turn with the real one (each going
// first every other batch), so that both rates see the same machine load.
//
// At the sweep's end the store sets each measurement's final verdict
// (updateVerdicts): it patches the stored text in SQL (json_set). Its rate is
// printed against the full rewrite it replaced (scrub and serialise the whole
// measurement again), on the same batches, in turn.
//
// Disk writes: the bytes a fresh database's inserts write (WAL and
// checkpoint: the process's wchar in /proc/self/io) per measurement, in
// batches of 16, 64 and 256 (the batch writer's cap), with time-ordered
// measurement ids as the sweep makes them (src/records/ids.ts) and with
// random ones, in turn. A sweep at a steady pace gathers four times the rows
// in the batch writer's 2 s window that it did in the 500 ms one before: 16
// against 64 is that change for a sweep finishing 32 measurements (8 web
// units) a second.
// A Raspberry Pi's SD card wears with what is written.
//
//   node --import tsx bench/store.ts [--rows 100000] [--batch 500] [--keep]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storedMeasurement } from '../src/records/stored-record.js';
import type { Measurement } from '../src/model.js';
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

/** An insert of a batch as the store did it before migration 3: the record as given (JSON.stringify), nothing scrubbed. */
function insertAsBeforeMigration3(store: Store): (batch: Measurement[]) => void {
  const stmt = store.db.prepare(`
    INSERT INTO measurements (measurement_id, run_id, target, url, probe, category, started_at,
                              runtime_ms, failure, verdict, verdict_reason, record)
    VALUES (@measurement_id, @run_id, @target, @url, @probe, @category, @started_at,
            @runtime_ms, @failure, @verdict, @verdict_reason, @record)`);
  return store.db.transaction((batch: Measurement[]) => {
    for (const m of batch) {
      stmt.run({
        measurement_id: m.measurement_id,
        run_id: m.run_id,
        target: m.target,
        url: m.url,
        probe: m.probe,
        category: m.category,
        started_at: m.started_at,
        runtime_ms: m.runtime_ms,
        failure: m.failure,
        verdict: m.verdict,
        verdict_reason: m.verdict_reason,
        record: JSON.stringify(m),
      });
    }
  });
}

/** The sweep's final-verdict step: verdict, reason, evidence set, an ok page's body sample dropped. */
function finalised(m: Measurement): Measurement {
  const details = m.details as { hops?: { body_sample: string | null }[] };
  const hops = details.hops?.map((h) => ({ ...h, body_sample: m.verdict === 'ok' ? null : h.body_sample }));
  return { ...m, verdict_reason: `${m.verdict_reason} (confirmed)`, evidence: { ...(m.evidence as object), confirmed: true }, ...(hops ? { details: { ...details, hops } } : {}) };
}

/** updateVerdicts (patch in SQL) against the full rewrite it replaced, rows/s each, on the same batches in turn. */
function verdictUpdates(dir: string, rows: number, batchSize: number): { patchRate: number; rewriteRate: number } {
  const patched = Store.open(join(dir, 'patch.db'));
  const rewritten = Store.open(join(dir, 'rewrite.db'));
  try {
    const rewrite = rewritten.db.prepare(`UPDATE measurements SET verdict = ?, verdict_reason = ?, record = ?, export_ready = ? WHERE measurement_id = ?`);
    const rewriteAll = rewritten.db.transaction((batch: Measurement[]) => {
      for (const m of batch) {
        const stored = storedMeasurement(m);
        rewrite.run(m.verdict, stored.verdictReason, stored.record, stored.exportReady ? 1 : 0, m.measurement_id);
      }
    });
    let patchMs = 0;
    let rewriteMs = 0;
    let n = 0;
    let turn = 0;
    for (const batch of syntheticBatches(rows, batchSize)) {
      for (const store of [patched, rewritten]) {
        for (const run of batch.runs) store.beginRun(run);
        store.insertMeasurements(batch.measurements);
      }
      const finals = batch.measurements.map(finalised);
      const patch = () => {
        const t0 = performance.now();
        patched.updateVerdicts(finals);
        patchMs += performance.now() - t0;
      };
      const full = () => {
        const t0 = performance.now();
        rewriteAll(finals);
        rewriteMs += performance.now() - t0;
      };
      if (turn++ % 2 === 0) (patch(), full());
      else (full(), patch());
      n += finals.length;
    }
    return { patchRate: n / (patchMs / 1000), rewriteRate: n / (rewriteMs / 1000) };
  } finally {
    patched.close();
    rewritten.close();
  }
}

/** Bytes this process has passed to write(2) so far (Linux), or null. */
function writtenBytes(): number | null {
  try {
    const m = /^wchar:\s+(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Bytes written per measurement into a fresh database (inserts, then a checkpoint), with the fixture's time-ordered ids or random ones; null without /proc/self/io. */
function diskWrites(dir: string, rows: number, batchSize: number, ids: 'time-ordered' | 'random'): number | null {
  const file = join(dir, `writes-${ids}-${batchSize}.db`);
  const store = Store.open(file);
  try {
    let inserted = 0;
    const before = writtenBytes();
    for (const batch of syntheticBatches(rows, batchSize)) {
      if (ids === 'random') for (const m of batch.measurements) m.measurement_id = randomUUID();
      for (const run of batch.runs) store.beginRun(run);
      store.insertMeasurements(batch.measurements);
      inserted += batch.measurements.length;
    }
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const after = writtenBytes();
    return before === null || after === null ? null : (after - before) / inserted;
  } finally {
    store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
}

/** CPU time per row of what the store writes now (storedMeasurement) and of what it wrote before (JSON.stringify), on the same measurements, interleaved batch by batch. */
function recordPreparation(rows: number, batchSize: number): { storedUs: number; stringifyUs: number; readyShare: number } {
  let storedMs = 0;
  let stringifyMs = 0;
  let ready = 0;
  let n = 0;
  let sink = 0;
  for (const batch of syntheticBatches(rows, batchSize)) {
    let t0 = performance.now();
    for (const m of batch.measurements) sink += JSON.stringify(m).length;
    stringifyMs += performance.now() - t0;
    t0 = performance.now();
    for (const m of batch.measurements) {
      const stored = storedMeasurement(m);
      sink += stored.record.length;
      if (stored.exportReady) ready++;
    }
    storedMs += performance.now() - t0;
    n += batch.measurements.length;
  }
  // The lengths are summed so that no engine can skip the work.
  if (sink < 0) console.log(sink);
  return { storedUs: (storedMs * 1000) / n, stringifyUs: (stringifyMs * 1000) / n, readyShare: ready / n };
}

function measure(rows: number, batchSize: number, keep: boolean): void {
  const dir = mkdtempSync(join(tmpdir(), 'rasad-bench-store-'));
  const file = join(dir, 'bench.db');
  const store = Store.open(file);
  const before = Store.open(join(dir, 'before.db'));
  try {
    const insertAsBefore = insertAsBeforeMigration3(before);
    let insertMs = 0;
    let beforeMs = 0;
    let inserted = 0;
    const wallStart = performance.now();
    let turn = 0;
    for (const batch of syntheticBatches(rows, batchSize)) {
      const now = () => {
        const t0 = performance.now();
        for (const run of batch.runs) store.beginRun(run);
        store.insertMeasurements(batch.measurements);
        insertMs += performance.now() - t0;
      };
      const asBefore = () => {
        const t0 = performance.now();
        for (const run of batch.runs) before.beginRun(run);
        insertAsBefore(batch.measurements);
        beforeMs += performance.now() - t0;
      };
      // Whichever goes first pays for touching a fresh batch: they take turns.
      if (turn++ % 2 === 0) (now(), asBefore());
      else (asBefore(), now());
      inserted += batch.measurements.length;
    }
    const wallMs = performance.now() - wallStart - beforeMs;

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
    const beforeRate = inserted / (beforeMs / 1000);
    console.log(
      `  as before       ${fmt(beforeRate)} rows/s for the same batches written as the store wrote them before migration 3 (JSON.stringify, no scrub), in turn with the above: ` +
        `the store now takes ${(insertMs / beforeMs).toFixed(2)}x the time`,
    );
    const prep = recordPreparation(rows, batchSize);
    const insertUsPerRow = (insertMs * 1000) / inserted;
    console.log(
      `  record prep     ${fmt(prep.storedUs, 2)} µs/row scrubbed and in export order (export-ready: ${fmt(prep.readyShare * 100, 1)}%), ` +
        `against ${fmt(prep.stringifyUs, 2)} µs/row for JSON.stringify alone: +${fmt(prep.storedUs - prep.stringifyUs, 2)} µs/row, ` +
        `${fmt((100 * (prep.storedUs - prep.stringifyUs)) / insertUsPerRow, 1)}% of the ${fmt(insertUsPerRow, 1)} µs/row insert time`,
    );

    const verdicts = verdictUpdates(dir, Math.min(rows, 50_000), batchSize);
    console.log(
      `  final verdicts  ${fmt(verdicts.patchRate)} rows/s patched in SQL (updateVerdicts), against ${fmt(verdicts.rewriteRate)} rows/s rewritten whole (scrub + serialise again): ` +
        `${(verdicts.patchRate / verdicts.rewriteRate).toFixed(2)}x`,
    );

    const writeRows = Math.min(rows, 40_000);
    for (const size of [16, 64, 256]) {
      // In turn, each going first once: the two see the same machine.
      const a1 = diskWrites(dir, writeRows, size, 'time-ordered');
      const b1 = diskWrites(dir, writeRows, size, 'random');
      const b2 = diskWrites(dir, writeRows, size, 'random');
      const a2 = diskWrites(dir, writeRows, size, 'time-ordered');
      if (a1 === null || a2 === null || b1 === null || b2 === null) {
        console.log('  disk writes     n/a (no /proc/self/io)');
        break;
      }
      const [ordered, random] = [(a1 + a2) / 2, (b1 + b2) / 2];
      console.log(
        `  disk writes     ${fmt(ordered)} bytes per measurement written in batches of ${size} (WAL and checkpoint, ${fmt(writeRows)} rows), time-ordered ids; ` +
          `${fmt(random)} with random ids: ${(ordered / random).toFixed(2)}x`,
      );
    }

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
    before.close();
    if (keep) console.log(`  kept ${file}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
