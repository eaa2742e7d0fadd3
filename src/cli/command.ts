// The shape of one `rasad` subcommand. The CLI's composition root
// (src/cli.ts) lists the commands; a subcommand that is not built is absent.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad flag, value or input file: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  name: string;
  /** One line for `rasad --help`. */
  summary: string;
  /** The whole `rasad <name> --help` text. */
  usage: string;
  /** Returns the exit code. Throws UsageError for bad input. */
  run(argv: string[], io: CommandIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs in strict mode, with its errors turned into one-line UsageErrors. */
export function parseFlags<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`rasad ${command}: ${(err as Error).message.split('\n')[0]!.replace(/\. To specify .*$/, '')}`);
  }
}
