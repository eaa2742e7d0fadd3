// Errors a volunteer can hit opening or writing the database: one line that
// names the file and says what to do, and a stable code for callers.

/** Stable codes on StoreOpenError and StoreWriteError (err.code). */
export const STORE_ERROR_CODES = {
  /** The file is not a rasad database, or SQLite's quick_check found damage. Nothing was written. */
  corrupt: 'RASAD_DB_CORRUPT',
  /** Another rasad process holds the database's lock file. */
  locked: 'RASAD_DB_LOCKED',
  /** The file or its directory cannot be written (a writable open), or does not exist (a read-only one). */
  unavailable: 'RASAD_DB_UNAVAILABLE',
  /** The schema is newer than this rasad knows, or a migration failed. */
  schema: 'RASAD_DB_SCHEMA',
  /** A write was refused (disk full, I/O error, read-only file system). */
  writeFailed: 'RASAD_DB_WRITE_FAILED',
} as const;

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[keyof typeof STORE_ERROR_CODES];

/** A store that cannot be opened: names the file, says why, and never touches it. */
export class StoreOpenError extends Error {
  constructor(
    readonly file: string,
    reason: string,
    readonly code: StoreErrorCode = STORE_ERROR_CODES.unavailable,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'StoreOpenError';
  }
}

/** A write the database refused; `sqliteCode` is SQLite's (SQLITE_FULL, SQLITE_IOERR_..., SQLITE_READONLY). */
export class StoreWriteError extends Error {
  readonly code = STORE_ERROR_CODES.writeFailed;
  constructor(
    message: string,
    readonly sqliteCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreWriteError';
  }
}

/** What to tell a volunteer whose database is damaged. */
export function corruptAdvice(file: string): string {
  return `not a rasad database, or corrupt (the file was left untouched): stop rasad, move ${file} aside, and save what is readable with 'rasad export --db <moved file>'`;
}
