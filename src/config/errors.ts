// A configuration that cannot be used, and how its values are shown in the
// one-line message: `SOURCE: key.path must be ... (got ...)`.
import { ConfigInvalidError } from '../errors.js';

/**
 * A configuration that cannot be used. `source` is the file, the environment
 * variable or "command line". Code RASAD_CONFIG_INVALID: one line, exit 2.
 */
export class ConfigError extends ConfigInvalidError {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    /** The key path, e.g. "schedules.web.concurrency"; null when the problem is the source as a whole. */
    readonly path: string | null,
    reason: string,
  ) {
    super(`${source}: ${path ? `${path} ` : ''}${reason}`);
  }
}

/** A value as it appears after "(got ...)": JSON, cut short so the message stays one line. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? String(v);
  } catch {
    shown = String(v);
  }
  return shown.length > 60 ? shown.slice(0, 60) + '…' : shown;
}

/** Never echo a secret into an error message (it may be logged or pasted into a bug report). */
export function describeSecret(v: unknown): string {
  return typeof v === 'string' ? `a string of ${v.length} characters` : describe(v);
}

export const joinPath = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);
