// rasad's errors a user can hit, each with a stable `code` (after undici's
// lib/core/errors.js): scripts and tests match the code, never the wording.
// The CLI turns a code into an exit code in one place (exitCodeFor). A
// module that does not want this import may throw
// `Object.assign(new Error(message), { code: 'RASAD_…' })`: the CLI honours
// any error whose code starts with RASAD_.

export class RasadError extends Error {
  override name = 'RasadError';
  code = 'RASAD_ERROR';
}

/** Bad input: a flag, a value, an input file. */
export class UsageError extends RasadError {
  override name = 'UsageError';
  override code = 'RASAD_USAGE';
}

/** A config file or environment variable that cannot be used. */
export class ConfigInvalidError extends UsageError {
  override name = 'ConfigInvalidError';
  override code = 'RASAD_CONFIG_INVALID';
}

/** A targets file (or a list to import) with a bad line, or none at all. */
export class TargetsInvalidError extends UsageError {
  override name = 'TargetsInvalidError';
  override code = 'RASAD_TARGETS_INVALID';
}

/** A file that is not a rasad database (not SQLite, damaged, or someone else's). */
export class DbCorruptError extends RasadError {
  override name = 'DbCorruptError';
  override code = 'RASAD_DB_CORRUPT';
}

/** The database is held by another writer (a second daemon, say). */
export class DbLockedError extends RasadError {
  override name = 'DbLockedError';
  override code = 'RASAD_DB_LOCKED';
}

/** The database cannot be opened: missing, a directory, no permission. */
export class DbUnreadableError extends RasadError {
  override name = 'DbUnreadableError';
  override code = 'RASAD_DB_UNREADABLE';
}

/** An export that stopped before its end (nothing is left behind with --out). */
export class ExportIncompleteError extends RasadError {
  override name = 'ExportIncompleteError';
  override code = 'RASAD_EXPORT_INCOMPLETE';
}

/** A port that another program holds, or that this user may not bind: a setting to change. */
export class PortInUseError extends UsageError {
  override name = 'PortInUseError';
  override code = 'RASAD_PORT_IN_USE';
}

/** A sweep that did not measure everything it was asked to (partial or failed). */
export class SweepIncompleteError extends RasadError {
  override name = 'SweepIncompleteError';
  override code = 'RASAD_SWEEP_INCOMPLETE';
}

export const EXIT = {
  ok: 0,
  /** An internal error: a bug, reported with its stack. */
  internal: 1,
  /** Work that failed for a reason outside rasad (its output could not be written), said in one line. */
  failed: 1,
  /** Bad input or a database that cannot be used: fix it and run again. */
  usage: 2,
  /** A sweep that ran but did not complete (partial or failed). */
  incomplete: 3,
  /** Stopped by SIGINT (128 + 2), as shells report it. */
  interrupted: 130,
} as const;

/**
 * Exit codes by code prefix: the first that matches wins. A RASAD_ code that
 * no entry names is still a known condition: one line, exit 1.
 */
const EXIT_BY_CODE: [prefix: string, exit: number][] = [
  ['RASAD_USAGE', EXIT.usage],
  ['RASAD_CONFIG_', EXIT.usage],
  ['RASAD_TARGETS_', EXIT.usage],
  ['RASAD_DB_', EXIT.usage],
  ['RASAD_PORT_', EXIT.usage],
  ['RASAD_FINGERPRINTS_', EXIT.usage],
  ['RASAD_SWEEP_INCOMPLETE', EXIT.incomplete],
  ['RASAD_INTERRUPTED', EXIT.interrupted],
  ['RASAD_', EXIT.internal],
];

/** Errors from before the codes, known by name: all of them are bad input. */
const INPUT_ERROR_NAMES = new Set(['UsageError', 'ConfigError', 'TargetsError', 'StoreOpenError', 'FingerprintsError']);

/** The exit code for an error a user can hit, or null for a bug (print its stack, exit 1). */
export function exitCodeFor(err: unknown): number | null {
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('RASAD_')) {
    for (const [prefix, exit] of EXIT_BY_CODE) if (code.startsWith(prefix)) return exit;
  }
  return INPUT_ERROR_NAMES.has(err.name) ? EXIT.usage : null;
}

/** The one line to show for an error exitCodeFor knows. */
export function oneLine(err: Error): string {
  return err.message.split('\n')[0]!;
}
