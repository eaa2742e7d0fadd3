// Numbered schema migrations. A migration is never edited once it has shipped:
// a change to the schema is a new entry at the end. All the pending ones run
// in one IMMEDIATE transaction together with the bumps of `user_version`, so
// a crash leaves the old or the new schema, never half of one, and two
// processes opening a new file at once cannot both create its tables: the
// second waits for the write lock, then reads the version the first left.
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'runs, measurements, target states, events',
    up(db) {
      db.exec(`
        CREATE TABLE runs (
          run_id       TEXT PRIMARY KEY,
          started_at   TEXT NOT NULL,
          finished_at  TEXT,
          status       TEXT NOT NULL CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
          probes       TEXT NOT NULL,          -- JSON array of probe kinds
          inputs_total INTEGER NOT NULL DEFAULT 0,
          summary      TEXT                    -- JSON: counts by verdict, duration
        );
        CREATE TABLE measurements (
          id             INTEGER PRIMARY KEY,
          measurement_id TEXT NOT NULL UNIQUE,
          run_id         TEXT NOT NULL REFERENCES runs(run_id),
          target         TEXT NOT NULL,
          url            TEXT NOT NULL,
          probe          TEXT NOT NULL,
          category       TEXT NOT NULL,
          started_at     TEXT NOT NULL,        -- ISO-8601 UTC; sorts as text
          runtime_ms     REAL NOT NULL,
          failure        TEXT,
          verdict        TEXT NOT NULL,
          verdict_reason TEXT NOT NULL,
          record         TEXT NOT NULL         -- the whole measurement as JSON
        );
        CREATE INDEX measurements_target ON measurements(target, started_at);
        CREATE INDEX measurements_probe ON measurements(probe, started_at);
        CREATE INDEX measurements_started ON measurements(started_at);
        CREATE INDEX measurements_verdict ON measurements(verdict, started_at);
        CREATE INDEX measurements_run ON measurements(run_id);
        CREATE TABLE target_states (
          url          TEXT PRIMARY KEY,       -- the input (URL or tcp:// endpoint)
          target       TEXT NOT NULL,
          state        TEXT NOT NULL,          -- the confirmed verdict
          since        TEXT NOT NULL,
          updated_at   TEXT NOT NULL,
          detector     TEXT                    -- JSON: the change detector's pending state
        );
        CREATE TABLE events (
          id              INTEGER PRIMARY KEY,
          event_id        TEXT NOT NULL UNIQUE,
          kind            TEXT NOT NULL,
          target          TEXT,
          url             TEXT,
          verdict         TEXT,
          at              TEXT NOT NULL,
          measurement_ids TEXT NOT NULL,       -- JSON array
          details         TEXT NOT NULL        -- JSON
        );
        CREATE INDEX events_at ON events(at);
      `);
    },
  },
  {
    version: 2,
    name: 'change detector snapshot, target categories, alert outbox',
    up(db) {
      db.exec(`
        ALTER TABLE target_states ADD COLUMN category TEXT;
        -- The whole change-detector state (JSON), saved after each sweep so a
        -- restarted daemon continues without re-alerting. One row.
        CREATE TABLE detector_snapshot (
          id          INTEGER PRIMARY KEY CHECK (id = 1),
          state       TEXT NOT NULL,
          run_id      TEXT,
          updated_at  TEXT NOT NULL
        );
        -- Webhook alerts waiting for delivery: an alert survives a restart and
        -- is retried after it. The destination is a hash of its URL, never the
        -- URL itself (webhook URLs often hold a token).
        CREATE TABLE alert_outbox (
          id              INTEGER PRIMARY KEY,
          alert_id        TEXT NOT NULL,       -- the event_id, or the id of a summary alert
          destination     TEXT NOT NULL,
          kind            TEXT NOT NULL,       -- the event kind, or 'summary'
          body            TEXT NOT NULL,       -- the JSON payload exactly as posted (and signed)
          status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'coalesced', 'rejected')),
          attempts        INTEGER NOT NULL DEFAULT 0,
          created_at      TEXT NOT NULL,
          next_attempt_at TEXT NOT NULL,
          delivered_at    TEXT,
          last_error      TEXT,
          coalesced_into  TEXT,                -- the summary alert that carried it
          UNIQUE (alert_id, destination)
        );
        CREATE INDEX alert_outbox_due ON alert_outbox(destination, status, next_attempt_at);
      `);
    },
  },
  {
    version: 3,
    name: 'export-ready measurement records',
    up(db) {
      // 1: the record was scrubbed at storage and its keys are in the export's
      // order, so its text is its JSONL line (src/export/stored-record.ts).
      // Rows stored before stay 0: the export rearranges and scrubs them.
      db.exec(`ALTER TABLE measurements ADD COLUMN export_ready INTEGER NOT NULL DEFAULT 0;`);
    },
  },
  {
    version: 4,
    name: "run statuses 'partial' and 'failed' for sweeps that lost measurements",
    up(db) {
      // SQLite cannot alter a CHECK constraint: the table is rebuilt (the
      // documented procedure; migrate() runs it with foreign keys off, and
      // measurements.run_id refers to the new table by name once renamed).
      db.exec(`
        CREATE TABLE runs_v4 (
          run_id       TEXT PRIMARY KEY,
          started_at   TEXT NOT NULL,
          finished_at  TEXT,
          status       TEXT NOT NULL CHECK (status IN ('running', 'complete', 'partial', 'interrupted', 'failed')),
          probes       TEXT NOT NULL,          -- JSON array of probe kinds
          inputs_total INTEGER NOT NULL DEFAULT 0,
          summary      TEXT                    -- JSON: counts by verdict, duration, measurements measured and stored
        );
        INSERT INTO runs_v4 (run_id, started_at, finished_at, status, probes, inputs_total, summary)
          SELECT run_id, started_at, finished_at, status, probes, inputs_total, summary FROM runs;
        DROP TABLE runs;
        ALTER TABLE runs_v4 RENAME TO runs;
      `);
    },
  },
  {
    version: 5,
    name: 'collector upload outbox and reports',
    up(db) {
      db.exec(`
        -- OONI measurements waiting for an OONI-compatible collector (ooni/spec
        -- bk-003). One row per measurement and collector: a measurement queued
        -- twice is one row, so it is submitted once (dedup by measurement id).
        -- The collector is a hash of its URL, as for webhooks.
        CREATE TABLE upload_outbox (
          id              INTEGER PRIMARY KEY,
          destination     TEXT NOT NULL,
          measurement_key TEXT NOT NULL,       -- the first stored measurement id of the OONI measurement
          run_id          TEXT NOT NULL,
          test_name       TEXT NOT NULL,
          body            TEXT NOT NULL,       -- the OONI measurement exactly as submitted
          status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'rejected')),
          attempts        INTEGER NOT NULL DEFAULT 0,
          created_at      TEXT NOT NULL,
          next_attempt_at TEXT NOT NULL,
          delivered_at    TEXT,
          last_error      TEXT,
          UNIQUE (destination, measurement_key)
        );
        CREATE INDEX upload_outbox_due ON upload_outbox(destination, status, next_attempt_at);
        -- The report the collector opened for one run and test (POST /report), until closed.
        CREATE TABLE upload_reports (
          destination TEXT NOT NULL,
          run_id      TEXT NOT NULL,
          test_name   TEXT NOT NULL,
          report_id   TEXT NOT NULL,
          opened_at   TEXT NOT NULL,
          closed_at   TEXT,
          PRIMARY KEY (destination, run_id, test_name)
        );
      `);
    },
  },
];

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to the newest schema; returns the versions applied.
 * The version is read again inside the write transaction: another process
 * may have migrated the file while this one waited for the lock.
 */
export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const newest = sorted.reduce((max, m) => Math.max(max, m.version), 0);
  const tooNew = (current: number) =>
    new Error(`database schema version ${current} is newer than this rasad knows (${newest}); upgrade rasad`);
  // Up to date: no write lock taken (the common open).
  const seen = schemaVersion(db);
  if (seen > newest) throw tooNew(seen);
  if (seen === newest) return [];
  // A table rebuild must not cascade or fail on foreign keys; the pragma is a no-op inside a transaction.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  if (foreignKeys && !db.inTransaction) db.pragma('foreign_keys = OFF');
  try {
    return db.transaction(() => {
      const current = schemaVersion(db);
      if (current > newest) throw tooNew(current);
      const applied: number[] = [];
      for (const migration of sorted) {
        if (migration.version <= current) continue;
        migration.up(db);
        db.pragma(`user_version = ${migration.version}`);
        applied.push(migration.version);
      }
      return applied;
    }).immediate();
  } finally {
    if (foreignKeys && !db.inTransaction) db.pragma('foreign_keys = ON');
  }
}
