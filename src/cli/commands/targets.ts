// `rasad targets`: work on target lists without measuring anything.
//   check [FILE]                         validate a targets file, print a summary
//   import-citizenlab FILE.csv [--out F] [--tag T]...
//                                        convert a Citizen Lab test list to targets.txt lines
// Bad input is a UsageError naming FILE:LINE (every bad line also goes to stderr).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../paths.js';
import { importCitizenLab } from '../../targets/citizenlab.js';
import { MAX_TAGS, parseTargets, type TargetLineError } from '../../targets/parse.js';
import { formatSummary, summarizeTargets } from '../../targets/summary.js';
import { parseFlags, UsageError, type Command, type CommandIo } from '../command.js';

const usage = `Usage: rasad targets check [FILE]
       rasad targets import-citizenlab FILE.csv [--out F] [--tag TAG]...

  check [FILE]         validate a targets file and print a summary
                       (default: $RASAD_TARGETS, else ./targets.txt, else the bundled list)
  import-citizenlab    convert a Citizen Lab test-list CSV
                       (url,category_code,category_description,date_added,source,notes)
                       to targets.txt lines, on stdout unless --out is given
    --out F            write the targets file F instead of stdout
    --tag TAG          add TAG to every imported line (e.g. domestic); repeatable,
                       or several at once: --tag domestic,imported

The Citizen Lab lists are CC BY-NC-SA: keep the attribution, do not bundle them.
`;

const TAG = /^[a-z][a-z0-9_-]{0,31}$/;

export const targetsCommand: Command = {
  name: 'targets',
  summary: 'check a targets file, or import a Citizen Lab test list',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseFlags('targets', argv, {
      out: { type: 'string' },
      tag: { type: 'string', multiple: true },
    });
    if (values.help) return (io.stdout.write(usage), 0);
    const [sub, ...args] = positionals;
    if (sub === 'check') {
      if (values.out !== undefined || values.tag !== undefined) throw new UsageError('rasad targets check: --out and --tag belong to import-citizenlab');
      if (args.length > 1) throw new UsageError(`rasad targets check: unexpected argument "${args[1]}"`);
      return check(args[0], io);
    }
    if (sub === 'import-citizenlab') {
      if (args.length === 0) throw new UsageError('rasad targets import-citizenlab: give the CSV file (rasad targets import-citizenlab FILE.csv)');
      if (args.length > 1) throw new UsageError(`rasad targets import-citizenlab: unexpected argument "${args[1]}"`);
      return importList(args[0]!, values.out, values.tag ?? [], io);
    }
    if (sub === undefined) throw new UsageError('rasad targets: give a subcommand: check or import-citizenlab');
    throw new UsageError(`rasad targets: unknown subcommand "${sub}" (check, import-citizenlab)`);
  },
};

function check(fileArg: string | undefined, io: CommandIo): number {
  const file = fileArg ?? defaultTargetsFile(io);
  const text = readInput(file, io.cwd, 'targets file');
  const { targets, errors } = parseTargets(text, file);
  if (errors.length > 0) failWith(errors, io);
  if (targets.length === 0) throw new UsageError(`${file}: no targets (every line is blank or a comment)`);
  io.stdout.write(formatSummary(file, summarizeTargets(targets)));
  return 0;
}

function importList(file: string, out: string | undefined, tagArgs: string[], io: CommandIo): number {
  const tags = [...new Set(tagArgs.flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== ''))];
  for (const tag of tags) {
    if (!TAG.test(tag)) throw new UsageError(`--tag: "${tag}" is not a tag (lower-case letters, digits, - and _, starting with a letter)`);
  }
  if (tags.length > MAX_TAGS) throw new UsageError(`--tag: at most ${MAX_TAGS} tags`);
  const result = importCitizenLab(readInput(file, io.cwd, 'CSV file'), file, { tags });
  if (result.errors.length > 0) failWith(result.errors, io);
  if (out === undefined) {
    io.stdout.write(result.text);
  } else {
    // Write beside the destination, then rename: a reader never sees half a file.
    const path = resolve(io.cwd, out);
    const partial = `${path}.partial-${process.pid}`;
    try {
      writeFileSync(partial, result.text);
      renameSync(partial, path);
    } catch (err) {
      throw new UsageError(`${out}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    io.stderr.write(`rasad targets: wrote ${result.lines.length} targets from ${file} to ${out}\n`);
  }
  return 0;
}

/** Every bad line on stderr, then the first one (and the count) as the one-line error. */
function failWith(errors: TargetLineError[], io: CommandIo): never {
  if (errors.length > 1) for (const e of errors) io.stderr.write(e.message + '\n');
  const others = errors.length - 1;
  throw new UsageError(errors[0]!.message + (others > 0 ? ` (and ${others} more bad line${others === 1 ? '' : 's'})` : ''));
}

function readInput(file: string, cwd: string, what: string): string {
  try {
    return readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** As the daemon finds it: $RASAD_TARGETS, ./targets.txt, else the list bundled with rasad. */
function defaultTargetsFile(io: CommandIo): string {
  if (io.env.RASAD_TARGETS) return io.env.RASAD_TARGETS;
  return existsSync(join(io.cwd, 'targets.txt')) ? 'targets.txt' : join(packageRoot(), 'targets.txt');
}
