// Numbered schema migrations. A migration is never edited once it has shipped:
// a change to the schema is a new entry at the end. Each runs in a transaction
// together with the bump of `user_version`, so a crash leaves the old or the
// new schema, never half of one.
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
];

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the database up to the newest schema; returns the versions applied. */
export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number[] {
  const applied: number[] = [];
  const current = schemaVersion(db);
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > newest) {
    throw new Error(`database schema version ${current} is newer than this rasad knows (${newest}); upgrade rasad`);
  }
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}
