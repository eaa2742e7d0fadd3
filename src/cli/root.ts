// rasad's command line: the composition root. An error a user can hit (a
// flag, a targets line, a config key, an unusable database) is one line on
// stderr and the exit code its `code` maps to (src/errors.ts: 2 for bad input);
// anything else is an internal error: its stack, exit code 1.
import { EXIT, exitCodeFor, oneLine } from '../errors.js';
import { softwareVersion } from '../paths.js';
import type { Command, CommandIo } from './command.js';
import { exportCommand } from './commands/export.js';
import { helperCommand } from './commands/helper.js';
import { onceCommand } from './commands/once.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { targetsCommand } from './commands/targets.js';
import { uploadCommand } from './commands/upload.js';

export const COMMANDS: Command[] = [runCommand, onceCommand, exportCommand, statusCommand, helperCommand, targetsCommand, uploadCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: rasad <command> [flags]',
    '       rasad --version',
    '',
    'rasad measures censorship from inside a censored network and stores every',
    'measurement with a verdict. Commands:',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'rasad <command> --help' for a command's flags.",
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    if (rest.length > 0) {
      io.stderr.write(`rasad ${name}: unexpected argument "${rest[0]}"\n`);
      return EXIT.usage;
    }
    io.stdout.write(`rasad ${softwareVersion()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`rasad: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const exit = exitCodeFor(err);
    if (exit !== null) {
      io.stderr.write(`${oneLine(err as Error)}\n`);
      return exit;
    }
    const e = err as Error;
    io.stderr.write(`rasad ${name}: internal error: ${e.stack ?? e.message}\n`);
    return EXIT.internal;
  }
}
