// Bad flags and bad databases are UsageErrors: one line that names the flag
// or the file (the CLI turns it into exit code 2), and nothing is written.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { makeFixtureDb, runExport, type FixtureDb } from './helpers.js';

let fx: FixtureDb;
beforeAll(() => {
  fx = makeFixtureDb();
  writeFileSync(join(fx.dir, 'notes.txt'), 'this is not a database\n');
  const foreign = new BetterSqlite3(join(fx.dir, 'foreign.db'));
  foreign.exec('CREATE TABLE t (x)');
  foreign.close();
  mkdirSync(join(fx.dir, 'adir'));
});
afterAll(() => fx.cleanup());

async function usageError(argv: string[]): Promise<string> {
  const err = await runExport(argv, { cwd: fx.dir }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  const message = (err as UsageError).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('bad flags', () => {
  it.each<[string, string[], RegExp]>([
    ['an unknown flag', ['--db', 'rasad.db', '--format', 'jsonl', '--bogus'], /--bogus/],
    ['a stray argument', ['--db', 'rasad.db', '--format', 'jsonl', 'extra'], /unexpected argument "extra"/],
    ['no --db', ['--format', 'jsonl'], /--db/],
    ['an empty --db', ['--db', '', '--format', 'jsonl'], /--db/],
    ['no --format', ['--db', 'rasad.db'], /--format is required/],
    ['an unknown format', ['--db', 'rasad.db', '--format', 'xml'], /--format: unknown format "xml"/],
    ['a --since that is no date', ['--db', 'rasad.db', '--format', 'csv', '--since', 'yesterday'], /--since: not an ISO-8601/],
    ['a --since that is no calendar day', ['--db', 'rasad.db', '--format', 'csv', '--since', '2025-02-30'], /--since/],
    ['an --until hour 25', ['--db', 'rasad.db', '--format', 'csv', '--until', '2025-06-01T25:00'], /--until/],
    ['--since after --until', ['--db', 'rasad.db', '--format', 'csv', '--since', '2025-06-02', '--until', '2025-06-01'], /--since .* is not before --until/],
    ['an unknown probe', ['--db', 'rasad.db', '--format', 'jsonl', '--probe', 'dns,smtp'], /--probe: unknown probe kind "smtp"/],
    ['an empty probe list', ['--db', 'rasad.db', '--format', 'jsonl', '--probe', ','], /--probe: give at least one/],
    ['an unknown verdict', ['--db', 'rasad.db', '--format', 'jsonl', '--verdict', 'blocked'], /--verdict: unknown verdict "blocked"/],
    ['an empty --target', ['--db', 'rasad.db', '--format', 'jsonl', '--target', ' '], /--target/],
    ['--events in OONI form', ['--db', 'rasad.db', '--format', 'ooni', '--events'], /events have no OONI form/],
    ['--events with --probe', ['--db', 'rasad.db', '--format', 'jsonl', '--events', '--probe', 'dns'], /--events: --probe applies to measurements/],
    ['--events with --anomalies-only', ['--db', 'rasad.db', '--format', 'csv', '--events', '--anomalies-only'], /--anomalies-only/],
    ['a malformed --probe-asn', ['--db', 'rasad.db', '--format', 'ooni', '--probe-asn', '58224'], /--probe-asn/],
    ['a malformed --probe-cc', ['--db', 'rasad.db', '--format', 'ooni', '--probe-cc', 'IRN'], /--probe-cc/],
    ['--probe-cc outside OONI', ['--db', 'rasad.db', '--format', 'csv', '--probe-cc', 'IR'], /--probe-cc applies to --format ooni only/],
  ])('rejects %s', async (_what, argv, pattern) => {
    expect(await usageError(argv)).toMatch(pattern);
  });
});

describe('bad databases and outputs', () => {
  it('names a database file that does not exist', async () => {
    expect(await usageError(['--db', 'missing.db', '--format', 'jsonl'])).toMatch(/--db missing\.db: no such database file/);
  });

  it('names a file that is not SQLite', async () => {
    expect(await usageError(['--db', 'notes.txt', '--format', 'jsonl'])).toMatch(/--db notes\.txt: .*not a rasad database/);
  });

  it('names a SQLite database that is not rasad\'s', async () => {
    expect(await usageError(['--db', 'foreign.db', '--format', 'jsonl'])).toMatch(/--db foreign\.db: not a rasad database/);
  });

  it('names a database path that is a directory', async () => {
    expect(await usageError(['--db', 'adir', '--format', 'jsonl'])).toMatch(/--db adir: is a directory/);
  });

  it('refuses an --out in a directory that does not exist, an --out that is a directory, and the database itself', async () => {
    expect(await usageError(['--db', 'rasad.db', '--format', 'jsonl', '--out', 'nodir/x.jsonl'])).toMatch(/--out .*nodir.*does not exist/);
    expect(await usageError(['--db', 'rasad.db', '--format', 'jsonl', '--out', 'adir'])).toMatch(/--out .*adir: is a directory/);
    expect(await usageError(['--db', 'rasad.db', '--format', 'jsonl', '--out', 'rasad.db'])).toMatch(/--out .*rasad\.db: is the database itself/);
  });

  it('prints its usage for --help and exits 0', async () => {
    const { code, stdout } = await runExport(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: rasad export --db F --format jsonl\|csv\|ooni/);
  });
});
