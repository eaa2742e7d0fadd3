// Command-line flags of the bench scripts: node:util parseArgs in strict
// mode, with the values checked (positive integers, lists of them) and any
// problem turned into one BenchUsageError that names the flag. runBench()
// prints such an error with the usage and exits 2, as rasad's CLI does.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad flag or value: printed with the usage, exit code 2. */
export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

/** The machine cannot run this bench (no root, a missing tool): one line on stderr, exit code 1. */
export class BenchSetupError extends Error {
  override name = 'BenchSetupError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` strictly; `--help` is always known. No positionals. */
export function parseBenchFlags<O extends Options>(argv: string[], options: O) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    return parsed.values;
  } catch (err) {
    throw new BenchUsageError((err as Error).message.split('\n')[0]!);
  }
}

/** A positive integer, at most `max`. */
export function positiveInt(flag: string, text: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const clean = text.trim().replace(/_/g, '');
  const n = Number(clean);
  if (!/^[0-9]+$/.test(clean) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new BenchUsageError(`--${flag}: expected an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A comma-separated list of positive integers, e.g. "50,200". */
export function positiveIntList(flag: string, text: string | undefined, fallback: number[], max = Number.MAX_SAFE_INTEGER): number[] {
  if (text === undefined) return fallback;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new BenchUsageError(`--${flag}: expected a comma-separated list of integers, got ${JSON.stringify(text)}`);
  return parts.map((p) => positiveInt(flag, p, 0, max));
}

/** A number from 0 up (a latency of 0 is allowed). */
export function nonNegativeNumber(flag: string, text: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) throw new BenchUsageError(`--${flag}: expected a number from 0 to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * Runs a bench's main: a usage error is one line plus the usage on stderr
 * and exit code 2; a setup error is one line and exit code 1; any other
 * error is its stack and exit code 1.
 */
export async function runBench(usage: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof BenchUsageError) {
      process.stderr.write(`${err.message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof BenchSetupError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
