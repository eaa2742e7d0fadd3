// The shape of one `rasad` subcommand, and the one helper every command uses
// for its flags: declared once (name, type, help, default, repeatable), they
// give the parser, the `--help` text and the one-line errors for bad values.
// The CLI's composition root (src/cli/root.ts) lists the commands.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export { UsageError };

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
  /** Returns the exit code. Throws UsageError (or another RasadError) for bad input. */
  run(argv: string[], io: CommandIo): Promise<number>;
}

interface BaseFlag {
  /** The help text; more lines after a newline. */
  help: string;
  /** The value's placeholder in the help (F, N, LIST); default: the flag's type in capitals. */
  value?: string;
}
export interface StringFlag extends BaseFlag {
  type: 'string';
  default?: string;
  /** Given more than once, every value is kept (an array). */
  repeatable?: boolean;
}
export interface BooleanFlag extends BaseFlag {
  type: 'boolean';
}
export interface IntegerFlag extends BaseFlag {
  type: 'integer';
  default?: number;
  min: number;
  max: number;
}
export type FlagSpec = StringFlag | BooleanFlag | IntegerFlag;
export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S extends IntegerFlag ? number : S extends BooleanFlag ? boolean : S extends { repeatable: true } ? string[] : string;
/** The parsed flags: a flag with a default is always set, a flag without one may be undefined. */
export type FlagValues<F extends FlagSpecs> = { [K in keyof F]: F[K] extends { default: unknown } ? ValueOf<F[K]> : ValueOf<F[K]> | undefined };

export interface CommandSpec<F extends FlagSpecs> {
  name: string;
  summary: string;
  /** What follows "Usage: " (more lines indented to match); generated from the flags when absent. */
  synopsis?: string;
  /** The paragraphs between the synopsis and the flags. */
  description?: string;
  flags: F;
  /** How many positional arguments the command takes at most (default 0). */
  positionals?: number;
  /** Text after the flags. */
  footer?: string;
}

export interface ParsedCommandLine<F extends FlagSpecs> {
  help: boolean;
  flags: FlagValues<F>;
  positionals: string[];
}

/** A command from its spec: `--help` prints the generated usage, anything else is parsed and handed to `run`. */
export function defineCommand<const F extends FlagSpecs>(
  spec: CommandSpec<F>,
  run: (args: ParsedCommandLine<F>, io: CommandIo) => Promise<number> | number,
): Command {
  const usage = usageOf(spec);
  return {
    name: spec.name,
    summary: spec.summary,
    usage,
    async run(argv, io) {
      const args = parseCommandLine(spec, argv);
      if (args.help) return (io.stdout.write(usage), 0);
      return run(args, io);
    },
  };
}

/** The `rasad <name> --help` text. */
export function usageOf(spec: CommandSpec<FlagSpecs>): string {
  const lead = `Usage: rasad ${spec.name} `;
  const synopsis = spec.synopsis ?? wrapSynopsis(lead.length, Object.entries(spec.flags).map(([name, flag]) => synopsisItem(name, flag)));
  const parts = [`Usage: ${spec.synopsis === undefined ? `rasad ${spec.name} ` : ''}${synopsis}`];
  if (spec.description) parts.push(spec.description);
  const table = flagTable(spec.flags);
  if (table) parts.push(table);
  if (spec.footer) parts.push(spec.footer);
  return parts.map((p) => p.replace(/\n+$/, '')).join('\n\n') + '\n';
}

function placeholder(flag: FlagSpec): string {
  return flag.type === 'boolean' ? '' : ` ${flag.value ?? (flag.type === 'integer' ? 'N' : 'VALUE')}`;
}

function synopsisItem(name: string, flag: FlagSpec): string {
  return `[--${name}${placeholder(flag)}]${flag.type === 'string' && flag.repeatable ? '...' : ''}`;
}

function wrapSynopsis(indent: number, items: string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line && indent + line.length + 1 + item.length > 80) {
      lines.push(line);
      line = item;
    } else {
      line = line ? `${line} ${item}` : item;
    }
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function flagTable(flags: FlagSpecs): string {
  const rows = Object.entries(flags).map(([name, flag]) => [`--${name}${placeholder(flag)}`, helpLines(flag)] as const);
  if (rows.length === 0) return '';
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows
    .map(([left, lines]) => lines.map((text, i) => `  ${(i === 0 ? left : '').padEnd(width)}${text}`.trimEnd()).join('\n'))
    .join('\n');
}

/** The help text, with what the declaration says and the text does not (range, default, repeatable) added in parentheses. */
function helpLines(flag: FlagSpec): string[] {
  const lines = flag.help.split('\n');
  const notes: string[] = [];
  if (flag.type === 'integer' && !flag.help.includes(`${flag.min} to ${flag.max}`)) notes.push(`${flag.min} to ${flag.max}`);
  if (flag.type !== 'boolean' && flag.default !== undefined && !/\(default/.test(flag.help)) notes.push(`default: ${flag.default}`);
  if (flag.type === 'string' && flag.repeatable && !/repeatable/.test(flag.help)) notes.push('repeatable');
  if (notes.length === 0) return lines;
  const last = lines.length - 1;
  // One parenthesis at the end: "(default: 16; 1 to 1000)", not two.
  lines[last] = lines[last]!.endsWith(')') ? `${lines[last]!.slice(0, -1)}; ${notes.join('; ')})` : `${lines[last]} (${notes.join('; ')})`;
  return lines;
}

/** Parses argv against the spec: unknown flags, stray arguments and bad numbers are one-line UsageErrors. */
export function parseCommandLine<F extends FlagSpecs>(spec: CommandSpec<F>, argv: string[]): ParsedCommandLine<F> {
  const fail = (message: string): never => {
    throw new UsageError(`rasad ${spec.name}: ${message}`);
  };
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string }> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.type === 'boolean') options[name] = { type: 'boolean' };
    else if (flag.type === 'integer') options[name] = { type: 'string' };
    else options[name] = { type: 'string', ...(flag.repeatable ? { multiple: true } : {}) };
  }
  options.help = { type: 'boolean', short: 'h' };

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinNegativeNumbers(argv, spec.flags), options, strict: true, allowPositionals: true });
  } catch (err) {
    fail(parseArgsMessage((err as Error).message));
  }
  const values = parsed!.values as Record<string, string | string[] | boolean | number | undefined>;
  const positionals = parsed!.positionals;
  if (values.help) return { help: true, flags: values as FlagValues<F>, positionals };
  if (positionals.length > (spec.positionals ?? 0)) fail(`unexpected argument "${positionals[spec.positionals ?? 0]}"`);

  for (const [name, flag] of Object.entries(spec.flags)) {
    const given = values[name];
    if (flag.type === 'integer') {
      if (given === undefined) values[name] = flag.default;
      else values[name] = integerValue(name, String(given), flag, fail);
    } else if (flag.type === 'string' && given === undefined && flag.default !== undefined) {
      values[name] = flag.repeatable ? [flag.default] : flag.default;
    }
  }
  return { help: false, flags: values as FlagValues<F>, positionals };
}

function integerValue(name: string, given: string, flag: IntegerFlag, fail: (message: string) => never): number {
  const n = /^[+-]?\d+$/.test(given.trim()) ? Number(given) : NaN;
  if (!Number.isSafeInteger(n) || n < flag.min || n > flag.max) fail(`--${name}: expected an integer from ${flag.min} to ${flag.max}, got "${given}"`);
  return n;
}

/**
 * `--limit -1` is a value, not a flag: parseArgs would call it ambiguous.
 * For flags that take a value, a following negative number is joined as
 * `--limit=-1`, so that the range check can say what is wrong with it.
 */
function joinNegativeNumbers(argv: string[], flags: FlagSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const flag = arg.startsWith('--') ? flags[arg.slice(2)] : undefined;
    const next = argv[i + 1];
    if (flag && flag.type !== 'boolean' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** parseArgs' messages, made one line and told in rasad's words where they are unclear. */
function parseArgsMessage(message: string): string {
  const ambiguous = /^Option '(--[^' ]+)(?: <value>)?' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]}: needs a value (to give one that starts with a dash, write ${ambiguous[1]}=-VALUE)`;
  const missing = /^Option '(--[^' ]+) <value>' argument missing/.exec(message);
  if (missing) return `${missing[1]}: needs a value`;
  return message.split('\n')[0]!.replace(/\. To specify .*$/, '');
}
