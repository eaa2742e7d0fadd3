// The one flag helper every command uses: declared flags give the parser, the
// --help text and one-line errors that name the flag and the allowed range.
import { describe, expect, it } from 'vitest';
import { defineCommand, parseCommandLine, usageOf, UsageError, type CommandIo } from '../../src/cli/command.js';
import { rasad } from '../helpers/rasad.js';

const spec = {
  name: 'demo',
  summary: 'a command for the test',
  description: 'Does nothing, carefully.',
  flags: {
    db: { type: 'string', value: 'F', help: 'the database' },
    json: { type: 'boolean', help: 'JSON instead of text' },
    limit: { type: 'integer', min: 0, max: 100, default: 10, help: 'how many' },
    workers: { type: 'integer', min: 1, max: 50, help: 'at once' },
    tag: { type: 'string', value: 'TAG', repeatable: true, help: 'a tag' },
    mode: { type: 'string', value: 'M', default: 'fast', help: 'fast or slow' },
  },
  positionals: 1,
} as const;

function messageOf(argv: string[]): string {
  try {
    parseCommandLine(spec, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe('RASAD_USAGE');
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

describe('parseCommandLine', () => {
  it('gives typed values, defaults, repeated values and positionals', () => {
    const { help, flags, positionals } = parseCommandLine(spec, ['--db', 'x.db', '--json', '--tag', 'a', '--tag', 'b', '--workers', '7', 'file.txt']);
    expect(help).toBe(false);
    expect(flags).toMatchObject({ db: 'x.db', json: true, limit: 10, workers: 7, tag: ['a', 'b'], mode: 'fast' });
    expect(positionals).toEqual(['file.txt']);
    expect(parseCommandLine(spec, ['--limit=0']).flags.limit).toBe(0);
    expect(parseCommandLine(spec, []).flags.workers).toBeUndefined();
  });

  it('says --help (or -h) instead of checking anything else', () => {
    expect(parseCommandLine(spec, ['--workers', 'many', '-h']).help).toBe(true);
    expect(parseCommandLine(spec, ['--help']).help).toBe(true);
  });

  it.each([
    [['--workers', '-1'], 'rasad demo: --workers: expected an integer from 1 to 50, got "-1"'],
    [['--workers=-1'], 'rasad demo: --workers: expected an integer from 1 to 50, got "-1"'],
    [['--workers', '0'], 'rasad demo: --workers: expected an integer from 1 to 50, got "0"'],
    [['--workers', '51'], 'rasad demo: --workers: expected an integer from 1 to 50, got "51"'],
    [['--workers', '2.5'], 'rasad demo: --workers: expected an integer from 1 to 50, got "2.5"'],
    [['--workers', 'many'], 'rasad demo: --workers: expected an integer from 1 to 50, got "many"'],
    [['--workers', '1e1'], 'rasad demo: --workers: expected an integer from 1 to 50, got "1e1"'],
    [['--limit', '-0.5'], 'rasad demo: --limit: expected an integer from 0 to 100, got "-0.5"'],
    [['--workers'], 'rasad demo: --workers: needs a value'],
    [['--db', '--json'], 'rasad demo: --db: needs a value (to give one that starts with a dash, write --db=-VALUE)'],
    [['--bogus'], "rasad demo: Unknown option '--bogus'"],
    [['a', 'b'], 'rasad demo: unexpected argument "b"'],
  ])('refuses %j in one line that names the flag', (argv, message) => {
    expect(messageOf(argv)).toBe(message);
  });

  it('keeps a negative number after -- as a positional', () => {
    expect(parseCommandLine(spec, ['--', '-1']).positionals).toEqual(['-1']);
  });
});

describe('usageOf', () => {
  it('generates the synopsis and a flag table with ranges, defaults and repeatable flags', () => {
    const usage = usageOf(spec);
    // Wrapped at 80 columns, the next line indented under the first flag.
    expect(usage.split('\n').slice(0, 2)).toEqual(['Usage: rasad demo [--db F] [--json] [--limit N] [--workers N] [--tag TAG]...', '                  [--mode M]']);
    expect(usage).toContain('\nDoes nothing, carefully.\n');
    expect(usage).toMatch(/^ {2}--limit N +how many \(0 to 100; default: 10\)$/m);
    expect(usage).toMatch(/^ {2}--workers N +at once \(1 to 50\)$/m);
    expect(usage).toMatch(/^ {2}--tag TAG +a tag \(repeatable\)$/m);
    expect(usage).toMatch(/^ {2}--json +JSON instead of text$/m);
    expect(usage.endsWith('\n')).toBe(true);
  });

  it('is what --help prints, on stdout, with exit code 0', async () => {
    let out = '';
    const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: () => true }, env: {}, cwd: '/' } as unknown as CommandIo;
    const command = defineCommand(spec, () => 5);
    expect(await command.run(['--help'], io)).toBe(0);
    expect(out).toBe(command.usage);
    expect(await command.run([], io)).toBe(5);
  });
});

describe('numbers on the real command line', () => {
  it('--concurrency -1 names the flag and its range, not "ambiguous"', async () => {
    const r = await rasad(['once', '--concurrency', '-1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rasad once: --concurrency: expected an integer from 1 to 5000, got "-1"\n');
  });

  it('status --limit and helper --max-concurrency say the same about bad numbers', async () => {
    const limit = await rasad(['status', '--limit', '-5']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toBe('rasad status: --limit: expected an integer from 0 to 1000, got "-5"\n');
    const helper = await rasad(['helper', '--max-concurrency', 'lots']);
    expect(helper.code).toBe(2);
    expect(helper.stderr).toBe('rasad helper: --max-concurrency: expected an integer from 1 to 1000, got "lots"\n');
  });
});
