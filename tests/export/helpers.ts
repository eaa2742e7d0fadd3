// Shared by the export tests: the fixture measurement set in a temporary
// database, and the export command run in-process with captured streams.
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { exportCommand } from '../../src/cli/commands/export.js';
import type { CommandIo } from '../../src/cli/command.js';
import type { Measurement, StoredEvent } from '../../src/model.js';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/measurements/', import.meta.url));
export const SCHEMA_FILE = fileURLToPath(new URL('../fixtures/ooni-schema/ooni-measurement.schema.json', import.meta.url));

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

export const MEASUREMENT_FILES = ['web-dns-injected.json', 'web-blockpage.json', 'web-ok.json', 'long-probes.json'];

/** Every fixture measurement, in the files' order. */
export function fixtureMeasurements(): Measurement[] {
  return MEASUREMENT_FILES.flatMap((f) => fixture<Measurement[]>(f));
}

export function fixtureEvents(): StoredEvent[] {
  return fixture<StoredEvent[]>('events.json');
}

export function fixtureRuns(): { run_id: string; started_at: string; probes: string[]; inputs_total: number }[] {
  return fixture('runs.json');
}

/** The probe's own addresses planted in the fixtures' error strings: no export may show them. */
export const PROBE_OWN_ADDRESSES = ['192.168.1.23', '2001:db8:85a3::8a2e:370:7334', 'fe80::1c2b:3dff:fe4e:5f60'];

export interface FixtureDb {
  dir: string;
  db: string;
  cleanup(): void;
}

/** A temporary directory with a database holding the fixture runs, measurements and events. */
export function makeFixtureDb(measurements: Measurement[] = fixtureMeasurements(), events: StoredEvent[] = fixtureEvents()): FixtureDb {
  const dir = mkdtempSync(join(tmpdir(), 'rasad-export-test-'));
  const db = join(dir, 'rasad.db');
  const store = Store.open(db);
  try {
    for (const run of fixtureRuns()) store.beginRun(run);
    store.insertMeasurements(measurements);
    store.insertEvents(events);
  } finally {
    store.close();
  }
  return { dir, db, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Inserts measurements as the store did before migration 3: the record as
 * the sweep built it (its key order, nothing scrubbed), export_ready 0 (the
 * column's default, when the schema has it).
 */
export function insertAsBeforeMigration3(db: Database, measurements: Measurement[]): void {
  const insert = db.prepare(`
    INSERT INTO measurements (measurement_id, run_id, target, url, probe, category, started_at, runtime_ms, failure, verdict, verdict_reason, record)
    VALUES (@measurement_id, @run_id, @target, @url, @probe, @category, @started_at, @runtime_ms, @failure, @verdict, @verdict_reason, @record)`);
  db.transaction(() => {
    for (const m of measurements) insert.run({ ...m, failure: m.failure ?? null, record: JSON.stringify(m) });
  })();
}

/**
 * A temporary database at schema version 2 (before the scrub at storage)
 * holding the fixture runs and measurements as that version stored them.
 * `upgrade` opens it with the store once, which migrates it and keeps the rows.
 */
export function makeFixtureDbBeforeMigration3(measurements: Measurement[] = fixtureMeasurements(), options: { upgrade?: boolean } = {}): FixtureDb {
  const dir = mkdtempSync(join(tmpdir(), 'rasad-export-test-'));
  const db = join(dir, 'rasad.db');
  const old = new BetterSqlite3(db);
  try {
    migrate(old, MIGRATIONS.filter((m) => m.version <= 2));
    const insertRun = old.prepare(`INSERT INTO runs (run_id, started_at, status, probes, inputs_total) VALUES (?, ?, 'complete', ?, ?)`);
    for (const run of fixtureRuns()) insertRun.run(run.run_id, run.started_at, JSON.stringify(run.probes), run.inputs_total);
    insertAsBeforeMigration3(old, measurements);
  } finally {
    old.close();
  }
  if (options.upgrade) Store.open(db).close();
  return { dir, db, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export class Capture extends Writable {
  readonly chunks: Buffer[] = [];
  isTTY?: boolean;

  constructor(options: { isTTY?: boolean; highWaterMark?: number } = {}) {
    super({ highWaterMark: options.highWaterMark });
    this.isTTY = options.isTTY;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface ExportRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `rasad export ARGV` in this process. Throws what the command throws (UsageError). */
export async function runExport(argv: string[], options: { cwd?: string; stderrTTY?: boolean } = {}): Promise<ExportRun> {
  const stdout = new Capture();
  const stderr = new Capture({ isTTY: options.stderrTTY });
  const io: CommandIo = { stdout, stderr, env: {}, cwd: options.cwd ?? process.cwd() };
  const code = await exportCommand.run(argv, io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
