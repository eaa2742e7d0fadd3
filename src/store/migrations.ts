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
