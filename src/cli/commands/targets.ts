// `rasad targets`: work on target lists without measuring anything.
//   check [FILE]                         validate a targets file, print a summary
//   import-citizenlab FILE.csv [--out F] [--tag T]...
//                                        convert a Citizen Lab test list to targets.txt lines
//   import-oonirun FILE.json [--out F]   convert an OONI Run v2 descriptor to targets.txt lines
// Bad input is a UsageError naming FILE:LINE (every bad line also goes to stderr).
import { existsSync } from 'node:fs';
import { OutputRefusedError, writeOutputText } from '../../output-file.js';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../paths.js';
import { importCitizenLab } from '../../targets/citizenlab.js';
import { MAX_TAGS, MAX_TARGETS_FILE_BYTES, parseTargets, readTargetsFile, type TargetLineError } from '../../targets/parse.js';
import { readBoundedText, readFailure } from '../../read-bounded.js';
import { formatSummary, summarizeTargets } from '../../targets/summary.js';
import { TargetsInvalidError } from '../../errors.js';
import { defineCommand, UsageError, type CommandIo } from '../command.js';

const TAG = /^[a-z][a-z0-9_-]{0,31}$/;

export const targetsCommand = defineCommand(
  {
    name: 'targets',
    summary: 'check a targets file, or import a Citizen Lab test list or an OONI Run link',
    synopsis: `rasad targets check [FILE]
       rasad targets import-citizenlab FILE.csv [--out F] [--tag TAG]...
       rasad targets import-oonirun FILE.json [--out F]`,
    description: `  check [FILE]         validate a targets file and print a summary
                       (default: $RASAD_TARGETS, else ./targets.txt, else the bundled list)
  import-citizenlab    convert a Citizen Lab test-list CSV
                       (url,category_code,category_description,date_added,source,notes)
                       to targets.txt lines, on stdout unless --out is given
  import-oonirun       convert an OONI Run v2 descriptor (JSON) to targets.txt lines,
                       on stdout unless --out is given; what cannot be converted
                       is said on stderr`,
    flags: {
      out: { type: 'string', value: 'F', help: 'write the targets file F instead of stdout (both imports)' },
      tag: {
        type: 'string',
        value: 'TAG',
        repeatable: true,
        help: 'import-citizenlab: add TAG to every imported line (e.g. domestic);\nrepeatable, or several at once: --tag domestic,imported',
      },
    },
    positionals: Number.POSITIVE_INFINITY,
    footer: 'The Citizen Lab lists are CC BY-NC-SA: keep the attribution, do not bundle them.',
  },
  async ({ flags: values, positionals }, io) => {
    const [sub, ...args] = positionals;
    if (sub === 'check') {
      if (values.out !== undefined || values.tag !== undefined) throw new UsageError('rasad targets check: --out and --tag belong to import-citizenlab');
      if (args.length > 1) throw new UsageError(`rasad targets check: unexpected argument "${args[1]}"`);
      return check(args[0], io);
    }
    if (sub === 'import-citizenlab' || sub === 'import-oonirun') {
      const what = sub === 'import-citizenlab' ? 'CSV' : 'JSON';
      if (args.length === 0) throw new UsageError(`rasad targets ${sub}: give the ${what} file (rasad targets ${sub} FILE.${what.toLowerCase()})`);
      if (args.length > 1) throw new UsageError(`rasad targets ${sub}: unexpected argument "${args[1]}"`);
      if (sub === 'import-citizenlab') return importList(args[0]!, values.out, values.tag ?? [], io);
      if (values.tag !== undefined) throw new UsageError('rasad targets import-oonirun: --tag belongs to import-citizenlab');
      return importOoniRun(args[0]!, values.out, io);
    }
    if (sub === undefined) throw new UsageError('rasad targets: give a subcommand: check, import-citizenlab or import-oonirun');
    throw new UsageError(`rasad targets: unknown subcommand "${sub}" (check, import-citizenlab, import-oonirun)`);
  },
);

function check(fileArg: string | undefined, io: CommandIo): number {
  const file = fileArg ?? defaultTargetsFile(io);
  // Read up to the size cap only: a runaway file is refused before it is read.
  const text = readTargetsFile(resolve(io.cwd, file), file);
  const { targets, errors, badLines } = parseTargets(text, file);
  if (badLines > 0) failWith(errors, io, badLines);
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
  // Rows that cannot become targets are skipped, each named on stderr; the rest is imported.
  for (const warning of result.warnings) io.stderr.write(`${warning.message}\n`);
  writeTargets(result.text, result.lines.length, file, out, io);
  return 0;
}

async function importOoniRun(file: string, out: string | undefined, io: CommandIo): Promise<number> {
  // Loaded when asked for: the converter is only needed by this subcommand.
  const { convertOoniRunDescriptor } = await import('../../targets/oonirun.js');
  const { lines, warnings } = convertOoniRunDescriptor(readInput(file, io.cwd, 'OONI Run descriptor'), file);
  for (const warning of warnings) io.stderr.write(`${warning}\n`);
  const targets = lines.filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).length;
  if (targets === 0) throw new TargetsInvalidError(`${file}: no URL in this OONI Run descriptor could be converted to a target`);
  writeTargets(lines.map((l) => `${l}\n`).join(''), targets, file, out, io);
  return 0;
}

/** The converted list on stdout, or in the file `out`, written beside it and renamed (a reader never sees half a file), or in place on a device or FIFO (src/output-file.ts). */
function writeTargets(text: string, count: number, from: string, out: string | undefined, io: CommandIo): void {
  if (out === undefined) {
    io.stdout.write(text);
    return;
  }
  const path = resolve(io.cwd, out);
  try {
    writeOutputText(path, text);
  } catch (err) {
    if (err instanceof OutputRefusedError) throw new UsageError(`${out}: ${err.message}`);
    throw new UsageError(`${out}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  io.stderr.write(`rasad targets: wrote ${count} targets from ${from} to ${out}\n`);
}

/** Every bad line on stderr, then the first one (and the count) as the one-line error. */
function failWith(errors: TargetLineError[], io: CommandIo, count = errors.length): never {
  if (count > 1) for (const e of errors) io.stderr.write(e.message + '\n');
  const others = count - 1;
  throw new UsageError(errors[0]!.message + (others > 0 ? ` (and ${others} more bad line${others === 1 ? '' : 's'})` : ''));
}

// An imported list becomes a targets file (5 MiB at most); its source may carry more per line (descriptions, notes).
const MAX_IMPORT_FILE_BYTES = 4 * MAX_TARGETS_FILE_BYTES;

function readInput(file: string, cwd: string, what: string): string {
  try {
    return readBoundedText(resolve(cwd, file), MAX_IMPORT_FILE_BYTES);
  } catch (err) {
    throw new UsageError(`${file}: cannot read the ${what} (${readFailure(err)})`);
  }
}

/** As the daemon finds it: $RASAD_TARGETS, ./targets.txt, else the list bundled with rasad. */
function defaultTargetsFile(io: CommandIo): string {
  if (io.env.RASAD_TARGETS) return io.env.RASAD_TARGETS;
  return existsSync(join(io.cwd, 'targets.txt')) ? 'targets.txt' : join(packageRoot(), 'targets.txt');
}
