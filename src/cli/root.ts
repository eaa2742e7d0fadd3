// rasad's command line: the composition root. Bad input (a flag, a targets
// line, a config key, an unreadable database) is one line on stderr and exit
// code 2; an internal error is exit code 1.
import type { Command, CommandIo } from './command.js';
import { exportCommand } from './commands/export.js';
import { helperCommand } from './commands/helper.js';
import { onceCommand } from './commands/once.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { targetsCommand } from './commands/targets.js';

export const COMMANDS: Command[] = [runCommand, onceCommand, exportCommand, statusCommand, helperCommand, targetsCommand];

/** Error names that mean "your input is bad", not "rasad is broken". */
const INPUT_ERRORS = new Set(['UsageError', 'ConfigError', 'TargetsError', 'StoreOpenError', 'FingerprintsError']);

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: rasad <command> [flags]',
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
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`rasad: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const e = err as Error;
    if (INPUT_ERRORS.has(e.name)) {
      io.stderr.write(`${e.message.split('\n')[0]}\n`);
      return 2;
    }
    io.stderr.write(`rasad ${name}: internal error: ${e.stack ?? e.message}\n`);
    return 1;
  }
}
