// Logging: pino, to stderr, one child logger per layer. JSON lines by
// default; a small human-readable formatter when asked (pino-pretty is not a
// dependency). The volunteer is at risk, so logs carry no host name or pid,
// known secret fields are redacted by path, and secrets inside URLs
// (user:password@, token= and similar query parameters, bearer tokens) are
// scrubbed from every line, whatever field they hide in.
import { pino, type Level, type Logger } from 'pino';

export type Layer = 'probe' | 'store' | 'scheduler' | 'alerts' | 'http' | 'cli';

/** Anything with write(): a stream, a file, a test's collector. */
export interface LogDestination {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  level: Level | 'silent';
  /** 'auto': human-readable when the destination (stderr by default) is a terminal. */
  pretty: boolean | 'auto';
  /** Default: stderr. */
  destination?: LogDestination;
}

/** Field paths whose values never reach a log (pino's redact syntax). */
export const REDACT_PATHS = [
  'secret',
  'token',
  'password',
  'authorization',
  '*.secret',
  '*.token',
  '*.password',
  '*.authorization',
  'webhook.url',
  'webhooks[*].url',
  'webhooks[*].secret',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'http.token',
  'config.http.token',
  'config.webhooks[*].url',
  'config.webhooks[*].secret',
];

export const REDACTED = '[redacted]';

/**
 * A secret field's value as logged: "[redacted]" when it holds something, and
 * as it is when it holds nothing (no token set), which "[redacted]" would deny.
 */
export function censorSecret(value: unknown): unknown {
  return value === undefined || value === null || value === '' ? value : REDACTED;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination: LogDestination = options.destination ?? pino.destination({ fd: 2, sync: true });
  const isTTY = options.destination ? options.destination.isTTY === true : process.stderr.isTTY === true;
  const pretty = options.pretty === 'auto' ? isTTY : options.pretty;
  return pino(
    {
      level: options.level,
      // No pid and no hostname: a machine name can identify the volunteer.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: censorSecret },
      // The last step before the line is written: scrub what no path can name.
      hooks: { streamWrite: scrubSecrets },
    },
    pretty ? prettyDestination(destination) : destination,
  );
}

export function layerLogger(root: Logger, layer: Layer): Logger {
  return root.child({ layer });
}

const SECRET_PARAMS = 'access_token|token|secret|key|api_key|apikey|password|passwd|pwd|auth|sig|signature';
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\<>]+@/gi;
const QUERY_SECRET = new RegExp(`([?&;](?:${SECRET_PARAMS})=)[^&;\\s#"'\\\\<>]*`, 'gi');
const BEARER = /(\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+/g;

/**
 * Masks credentials in URLs (userinfo), secret-looking query parameters and
 * bearer/basic tokens in free text. Safe on a JSON line: it never touches a
 * quote or a backslash.
 */
export function scrubSecrets(text: string): string {
  return text.replace(USERINFO, `$1${REDACTED}@`).replace(QUERY_SECRET, `$1${REDACTED}`).replace(BEARER, `$1${REDACTED}`);
}

function prettyDestination(destination: LogDestination): LogDestination {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') destination.write(formatPrettyLine(line));
    },
  };
}

/**
 * One JSON log line as `HH:MM:SS.mmm LEVEL [layer] message key=value ...`,
 * with an error's stack indented below. A line that is not JSON passes through.
 */
export function formatPrettyLine(json: string): string {
  let record: unknown;
  try {
    record = JSON.parse(json);
  } catch {
    return json + '\n';
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return json + '\n';
  const { time, level, layer, msg, err, ...rest } = record as Record<string, unknown>;
  const clock = typeof time === 'string' && /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(time)?.[1];
  const parts: string[] = [];
  if (clock) parts.push(clock);
  parts.push(String(level ?? '?').toUpperCase().padEnd(5));
  if (layer !== undefined) parts.push(`[${String(layer)}]`);
  if (msg !== undefined && msg !== '') parts.push(String(msg));
  for (const [key, value] of Object.entries(rest)) parts.push(`${key}=${prettyValue(value)}`);
  let stack = '';
  if (err !== undefined) {
    const e = err as { message?: unknown; stack?: unknown };
    parts.push(`err=${prettyValue(typeof e === 'object' && e !== null && e.message !== undefined ? e.message : err)}`);
    if (typeof e === 'object' && e !== null && typeof e.stack === 'string') {
      // The first stack line repeats the message; the frames follow, indented.
      stack = e.stack
        .split('\n')
        .slice(1)
        .map((frame) => `    ${frame.trim()}\n`)
        .join('');
    }
  }
  return parts.join(' ') + '\n' + stack;
}

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? String(value);
}
