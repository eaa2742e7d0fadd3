// Property tests (fast-check, fixed seeds, 2,000 runs each): the targets
// parser, the CSV reader and the Citizen Lab importer never throw on any
// input, report every problem as FILE:LINE, and what they accept is stable.
import { parse as csvParse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CITIZEN_LAB_CATEGORIES } from '../../src/targets/categories.js';
import { importCitizenLab } from '../../src/targets/citizenlab.js';
import { readCsv } from '../../src/targets/csv.js';
import { expandTarget, parseTargets } from '../../src/targets/parse.js';

const RUNS = { seed: 20_130_614, numRuns: 2_000 } as const;
const CODES = Object.keys(CITIZEN_LAB_CATEGORIES);
const TAG = /^[a-z][a-z0-9_-]{0,31}$/;

/** The invariants of any parse: errors are located one-liners, targets are normalised and stable. */
function checkParse(text: string, file: string) {
  const lineCount = text.split('\n').length;
  const { targets, errors } = parseTargets(text, file);
  for (const e of errors) {
    expect(e.message).toBe(`${file}:${e.line}: ${e.reason}`);
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.line).toBeLessThanOrEqual(lineCount);
    expect(e.reason).not.toMatch(/[\n\r]/);
  }
  const lines = new Set<number>([...errors.map((e) => e.line), ...targets.map((t) => t.line!)]);
  expect(lines.size).toBe(errors.length + targets.length); // one outcome per line at most
  const inputs = targets.flatMap((t) => t.inputs);
  expect(new Set(inputs).size).toBe(inputs.length);
  for (const t of targets) {
    expect(CODES).toContain(t.category);
    for (const tag of t.tags) expect(tag).toMatch(TAG);
    for (const input of t.inputs) {
      expect(input).toMatch(/^(https?|tcp):\/\//);
      expect(expandTarget(input)).toEqual({ inputs: [input] });
    }
  }
  return { targets, errors };
}

// Pieces of target lines: good ones and the kinds of junk that reach parsers.
const junk = fc.string({ unit: 'binary', maxLength: 12 });
const ipv4 = fc.tuple(fc.nat(300), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.ipV6().map((a) => `[${a}]`);
const host = fc.oneof(fc.domain(), fc.domain().map((d) => d.toUpperCase()), ipv4, ipv6, junk, fc.constant('bücher.de'), fc.constant('a..b'));
const scheme = fc.constantFrom('', 'http://', 'https://', 'tcp://', 'HTTP://', 'ftp://', 'http:/', 'mailto:');
const port = fc.oneof(fc.constant(''), fc.integer({ min: -1, max: 70_000 }).map((p) => `:${p}`), fc.constant(':abc'), fc.constant(':'));
const path = fc.oneof(fc.constant(''), fc.webPath(), junk.map((j) => `/${j}`), fc.constant('/#frag'), fc.constant('?q=1'));
const userinfo = fc.oneof({ weight: 5, arbitrary: fc.constant('') }, fc.constant('u:p@'), fc.constant('@'));
const category = fc.oneof(fc.constant(''), fc.constantFrom(...CODES), fc.constantFrom('news', 'NOPE', 'X1'), junk);
const tags = fc.array(fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), junk, fc.constantFrom(...CODES)), { maxLength: 10 });
const comment = fc.oneof({ weight: 3, arbitrary: fc.constant('') }, junk.map((j) => ` # ${j}`), fc.constant('#'));
const targetLine = fc
  .tuple(scheme, userinfo, host, port, path, category, tags, comment)
  .map(([s, u, h, p, pa, c, t, co]) => [`${s}${u}${h}${p}${pa}`, c, ...t].join(' ') + co);

describe('parseTargets never throws and locates every error', () => {
  it('on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        checkParse(text, 'any.txt');
      }),
      RUNS,
    );
  });

  it('on lines built from target-like pieces', () => {
    fc.assert(
      fc.property(fc.array(targetLine, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        checkParse(lines.join(eol), 'built.txt');
      }),
      RUNS,
    );
  });

  it('accepts every well-formed line, with the inputs it stands for', () => {
    const good = fc.tuple(
      fc.constantFrom('', 'http://', 'https://'),
      fc.domain(),
      fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
      fc.constantFrom(...CODES),
      fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), { maxLength: 8 }),
    );
    fc.assert(
      fc.property(good, ([s, domain, p, code, tagList]) => {
        const written = `${s}${domain}${s !== '' && p !== undefined ? `:${p}` : ''}/`;
        const { targets, errors } = checkParse(`${written} ${code} ${tagList.join(' ')}`, 'good.txt');
        expect(errors).toEqual([]);
        expect(targets).toHaveLength(1);
        expect(targets[0]!.category).toBe(code);
        expect(targets[0]!.tags).toEqual(tagList);
        expect(targets[0]!.inputs).toHaveLength(s === '' ? 2 : 1);
        for (const input of targets[0]!.inputs) expect(new URL(input).hostname).toBe(domain.toLowerCase());
      }),
      RUNS,
    );
  });
});

/** RFC 4180 writer for the round trip: quotes what must be quoted, and some fields that need not be. */
function writeCsv(rows: string[][], eol: string, quoteAll: boolean): string {
  return rows
    .map((row) =>
      row
        .map((field) => (quoteAll || /[",\r\n]/.test(field) || (row.length === 1 && field === '') ? `"${field.replace(/"/g, '""')}"` : field))
        .join(','),
    )
    .join(eol);
}

describe('readCsv', () => {
  it('reads back what an RFC 4180 writer wrote, as csv-parse does', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r\n', 'é'), maxLength: 8 });
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), (rows, eol, quoteAll) => {
        const text = writeCsv(rows, eol, quoteAll);
        const records = readCsv(text);
        expect(records.map((r) => r.error)).toEqual(rows.map(() => null));
        expect(records.map((r) => r.fields)).toEqual(rows);
        if (rows.length > 0) expect(records.map((r) => r.fields)).toEqual(csvParse(text, { relax_column_count: true, skip_empty_lines: true }));
      }),
      RUNS,
    );
  });

  it('agrees with csv-parse on arbitrary text: the same records, or an error where it throws', () => {
    const text = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r\n', ' '), maxLength: 30 });
    fc.assert(
      fc.property(text, (t) => {
        const ours = readCsv(t);
        let theirs: string[][] | null;
        try {
          // Both line ends, always: csv-parse otherwise guesses one from the first it sees.
          theirs = csvParse(t, { relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] });
        } catch {
          theirs = null;
        }
        if (theirs === null) expect(ours.some((r) => r.error !== null)).toBe(true);
        else {
          expect(ours.filter((r) => r.error !== null)).toEqual([]);
          expect(ours.map((r) => r.fields)).toEqual(theirs);
        }
      }),
      RUNS,
    );
  });

  it('never throws on any text, and numbers records in order', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (t) => {
        const records = readCsv(t);
        const lineCount = t.split('\n').length;
        records.forEach((r, i) => {
          expect(r.line).toBeGreaterThanOrEqual(1);
          expect(r.line).toBeLessThanOrEqual(lineCount);
          if (i > 0) expect(r.line).toBeGreaterThan(records[i - 1]!.line);
        });
      }),
      RUNS,
    );
  });
});

describe('importCitizenLab', () => {
  const header = 'url,category_code,category_description,date_added,source,notes\n';
  const row = fc
    .tuple(fc.oneof(targetLine.map((l) => l.split(' ')[0]!), fc.webUrl()), fc.oneof(fc.constantFrom(...CODES), junk), junk, junk)
    .map(([url, code, desc, notes]) => writeCsv([[url, code, desc, '2014-07-25', 'fuzz', notes]], '\n', false));

  it('never throws, locates every error, and what it writes always loads', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.array(row, { maxLength: 10 }).map((rows) => header + rows.join('\n'))), (csv) => {
        const result = importCitizenLab(csv, 'fuzz.csv');
        for (const e of result.errors) {
          expect(e.message).toBe(`fuzz.csv:${e.line}: ${e.reason}`);
          expect(e.reason).not.toMatch(/[\n\r]/);
        }
        const loaded = parseTargets(result.text, 'out.txt');
        expect(loaded.errors).toEqual([]);
        expect(loaded.targets).toHaveLength(result.lines.length);
      }),
      RUNS,
    );
  });
});
