// The Citizen Lab importer and its CSV reader, on fixtures of our own (the
// real lists are CC BY-NC-SA and never bundled). csv-parse, a dev dependency,
// cross-checks the reader.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as csvParse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { importCitizenLab } from '../../src/targets/citizenlab.js';
import { readCsv } from '../../src/targets/csv.js';
import { parseTargets } from '../../src/targets/parse.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/citizenlab/${name}`, import.meta.url)), 'utf8');
const sample = fixture('sample.csv');
const bad = fixture('bad.csv');

describe('readCsv', () => {
  it('reads the sample as csv-parse does, with the line each record starts on', () => {
    const ours = readCsv(sample);
    expect(ours.every((r) => r.error === null)).toBe(true);
    expect(ours.map((r) => r.fields)).toEqual(csvParse(sample, { relax_column_count: true, skip_empty_lines: true }));
    expect(ours.map((r) => r.line)).toEqual([1, 2, 3, 4, 6, 7, 8]);
    expect(ours[3]!.fields[5]).toBe('Most reliable in the 2014 survey:\nTOR/ORBOT, then Browsec, Psiphon');
    expect(ours[4]!.fields[5]).toBe('Clone of YouTube "with more bandwidth"');
    expect(ours[6]!.fields).toEqual(['https://www.facebook.com/', 'GRP', 'Social Networking', '2014-07-25', 'rasad-tests, again', '']);
  });

  it('reads CRLF line ends (keeping a quoted CRLF as data), and skips blank lines', () => {
    const crlf = sample.replace(/\n/g, '\r\n');
    const records = readCsv(crlf);
    expect(records.map((r) => r.fields)).toEqual(csvParse(crlf, { relax_column_count: true, skip_empty_lines: true }));
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4, 6, 7, 8]);
    expect(records[3]!.fields[5]).toBe('Most reliable in the 2014 survey:\r\nTOR/ORBOT, then Browsec, Psiphon');
    expect(records[1]!.fields).toEqual(readCsv(sample)[1]!.fields);
    expect(readCsv('a,b\n\n\nc,d').map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [4, ['c', 'd']],
    ]);
    expect(readCsv('a,b\n')).toHaveLength(1);
    expect(readCsv('')).toEqual([]);
  });

  it('reports a malformed record and goes on with the next line', () => {
    const records = readCsv('a,"b"x,c\nd,e"f\ng,h\n"open,\nnever closed');
    expect(records.map((r) => [r.line, r.error])).toEqual([
      [1, 'text after a closing quote (write "" for a quote inside a quoted field)'],
      [2, 'a quote inside an unquoted field (quote the whole field and write "" for the quote)'],
      [3, null],
      [4, 'unterminated quoted field (a " is never closed)'],
    ]);
    expect(records[2]!.fields).toEqual(['g', 'h']);
  });
});

describe('importCitizenLab', () => {
  it('converts every row to a targets line that loads with its category', () => {
    const result = importCitizenLab(sample, 'ir.csv');
    expect(result.errors).toEqual([]);
    expect(result.rows).toBe(6);
    expect(result.lines).toEqual([
      'https://www.bbc.com/persian/ NEWS',
      'http://www.radiozamaneh.com/ NEWS',
      'https://www.torproject.org/  ANON',
      'https://www.aparat.com/      MMED',
      'https://twitter.com/         GRP',
      'https://www.facebook.com/    GRP',
    ]);
    expect(result.text).toMatch(/^# Imported from ir\.csv \(Citizen Lab test-list format\)/);
    expect(result.text).toMatch(/CC BY-NC-SA/);
    const loaded = parseTargets(result.text, 'out.txt');
    expect(loaded.errors).toEqual([]);
    expect(loaded.targets.map((t) => [t.inputs[0], t.category])).toEqual([
      ['https://www.bbc.com/persian/', 'NEWS'],
      ['http://www.radiozamaneh.com/', 'NEWS'],
      ['https://www.torproject.org/', 'ANON'],
      ['https://www.aparat.com/', 'MMED'],
      ['https://twitter.com/', 'GRP'],
      ['https://www.facebook.com/', 'GRP'],
    ]);
    // The notes (with their commas and line breaks) stay out of the targets file.
    expect(result.text).not.toContain('Browsec');
  });

  it('adds the given tags to every line', () => {
    const result = importCitizenLab(sample, 'ir.csv', { tags: ['domestic', 'imported'] });
    const loaded = parseTargets(result.text, 'out.txt');
    expect(loaded.targets).toHaveLength(6);
    for (const t of loaded.targets) expect(t.tags).toEqual(['domestic', 'imported']);
  });

  it('skips each bad row with a warning naming FILE:LINE, and keeps the good ones', () => {
    const result = importCitizenLab(bad, 'bad.csv');
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((e) => e.message)).toEqual([
      'bad.csv:3: unknown scheme "ftp" (expected http://, https://, tcp:// or a bare domain) (row skipped)',
      'bad.csv:4: unknown category code "XYZ" (Citizen Lab codes such as NEWS, GRP, MMED, ANON, COMT; see src/targets/categories.ts) (row skipped)',
      'bad.csv:5: expected 6 fields, got 4 (row skipped)',
      'bad.csv:6: URLs with credentials (user:password@) are not allowed (row skipped)',
      'bad.csv:7: duplicate input "https://www.bbc.com/persian/" (already on line 2) (row skipped)',
      'bad.csv:8: text after a closing quote (write "" for a quote inside a quoted field) (row skipped)',
      'bad.csv:9: empty url (row skipped)',
      'bad.csv:11: bad port "99999" (expected 1 to 65535) (row skipped)',
      'bad.csv:12: unterminated quoted field (a " is never closed) (row skipped)',
    ]);
    expect(result.warnings.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 11, 12]);
    expect(result.lines).toEqual(['https://www.bbc.com/persian/ NEWS', 'https://www.whatsapp.com/    COMT']);
    expect(result.rows).toBe(11);
    // The file says what was left out, and still loads.
    expect(result.text).toContain('# skipped bad.csv:3: unknown scheme "ftp"');
    expect(result.text).not.toContain('(row skipped)');
    expect(parseTargets(result.text, 'out.txt').errors).toEqual([]);
  });

  it('keeps hashbang fragments and trailing-dot hosts, and drops rows that repeat an input once normalised', () => {
    const result = importCitizenLab(fixture('fragments.csv'), 'fragments.csv');
    expect(result.errors).toEqual([]);
    expect(result.lines).toEqual([
      'http://twitter.com/#!/radiofarda  NEWS',
      'http://twitter.com/#!/bbcpersian  NEWS',
      'http://www.kproxy.com/            ANON',
      'https://www.dw.com/fa-ir/#section NEWS',
      'https://psiphon.ca/en/            ANON',
    ]);
    expect(result.warnings.map((w) => w.message)).toEqual([
      'fragments.csv:5: duplicate input "http://www.kproxy.com/" (already on line 4) (row skipped)',
      'fragments.csv:7: duplicate input "https://www.dw.com/fa-ir/" (already on line 6) (row skipped)',
      'fragments.csv:8: unknown scheme "ftp" (expected http://, https://, tcp:// or a bare domain) (row skipped)',
    ]);
    const loaded = parseTargets(result.text, 'out.txt');
    expect(loaded.errors).toEqual([]);
    expect(loaded.targets.map((t) => t.inputs)).toEqual([
      ['http://twitter.com/#!/radiofarda'],
      ['http://twitter.com/#!/bbcpersian'],
      ['http://www.kproxy.com/'],
      ['https://www.dw.com/fa-ir/'],
      ['https://psiphon.ca/en/'],
    ]);
  });

  it('requires a Citizen Lab header row', () => {
    expect(importCitizenLab('', 'e.csv').errors.map((e) => e.message)).toEqual([
      'e.csv:1: empty file (a header row url,category_code,category_description,date_added,source,notes is required)',
    ]);
    expect(importCitizenLab('https://x.com/,NEWS\n', 'h.csv').errors.map((e) => e.message)).toEqual([
      'h.csv:1: the header row must name the columns url,category_code,category_description,date_added,source,notes (unknown column "https://x.com/")',
    ]);
    expect(importCitizenLab('url,notes\nhttps://x.com/,x\n', 'h.csv').errors.map((e) => e.message)).toEqual([
      'h.csv:1: the header row must name the columns url,category_code,category_description,date_added,source,notes (no category_code column)',
    ]);
    expect(importCitizenLab('url,url,category_code\n', 'h.csv').errors[0]!.reason).toMatch(/column "url" appears twice/);
  });

  it('takes the columns by name, in any order, and an empty category as an error', () => {
    const result = importCitizenLab('\uFEFFcategory_code,url\nNEWS,https://www.iranintl.com/\n,https://www.isna.ir/\n', 'o.csv');
    expect(result.lines).toEqual(['https://www.iranintl.com/ NEWS']);
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((e) => e.message)).toEqual(['o.csv:3: empty category_code (row skipped)']);
  });
});
