// The Citizen Lab test-list CSV (citizenlab/test-lists, lists/*.csv) to
// targets.txt lines. Columns: url,category_code,category_description,
// date_added,source,notes, with a header row. Each row becomes one target
// line; the url and the code are checked by the targets parser itself, so an
// import that succeeds is a file that loads. The lists are CC BY-NC-SA:
// rasad never bundles one, and the output says where it came from.
import { basename } from 'node:path';
import { isCategoryCode } from './categories.js';
import { readCsv } from './csv.js';
import { show } from './host.js';
import { parseTargetLine, unknownCategory, type TargetLineError } from './parse.js';

export const CITIZEN_LAB_COLUMNS = ['url', 'category_code', 'category_description', 'date_added', 'source', 'notes'] as const;

export interface CitizenLabImport {
  /** The targets file: a comment header, then one line for each good row. */
  text: string;
  /** The target lines alone, in row order. */
  lines: string[];
  /** Data rows read (good and bad). */
  rows: number;
  errors: TargetLineError[];
}

export interface ImportOptions {
  /** Tags added to every imported line, e.g. ["domestic"]. Checked by the caller. */
  tags?: string[];
}

export function importCitizenLab(csvText: string, file: string, options: ImportOptions = {}): CitizenLabImport {
  const errors: TargetLineError[] = [];
  const fail = (line: number, reason: string) => errors.push({ file, line, reason, message: `${file}:${line}: ${reason}` });
  const records = readCsv(csvText);
  const header = records[0];
  if (header === undefined) {
    fail(1, `empty file (a header row ${CITIZEN_LAB_COLUMNS.join(',')} is required)`);
    return { text: '', lines: [], rows: 0, errors };
  }
  const columns = headerColumns(header.fields);
  if (header.error !== null || typeof columns === 'string') {
    fail(header.line, header.error ?? (columns as string));
    return { text: '', lines: [], rows: records.length - 1, errors };
  }

  const tags = options.tags ?? [];
  const entries: { url: string; category: string; line: number }[] = [];
  const seen = new Map<string, number>();
  for (const record of records.slice(1)) {
    if (record.error !== null) {
      fail(record.line, record.error);
      continue;
    }
    if (record.fields.length !== columns.count) {
      fail(record.line, `expected ${columns.count} fields, got ${record.fields.length}`);
      continue;
    }
    const url = record.fields[columns.url]!.trim();
    const category = record.fields[columns.category]!.trim();
    if (url === '') {
      fail(record.line, 'empty url');
      continue;
    }
    if (/\s/.test(url)) {
      fail(record.line, `url ${show(url)} contains whitespace`);
      continue;
    }
    if (category === '') {
      fail(record.line, 'empty category_code');
      continue;
    }
    if (!isCategoryCode(category)) {
      fail(record.line, unknownCategory(category));
      continue;
    }
    const parsed = parseTargetLine(formatTargetLine(url, category, tags));
    if (parsed === null) {
      fail(record.line, `url ${show(url)} is not a target`);
      continue;
    }
    if ('error' in parsed) {
      fail(record.line, parsed.error);
      continue;
    }
    const repeated = parsed.inputs.find((input) => seen.has(input));
    if (repeated !== undefined) {
      fail(record.line, `duplicate input ${show(repeated)} (already on line ${seen.get(repeated)})`);
      continue;
    }
    for (const input of parsed.inputs) seen.set(input, record.line);
    entries.push({ url, category, line: record.line });
  }

  // Align the category column for a file people read and edit.
  const width = Math.min(60, Math.max(0, ...entries.map((e) => e.url.length)));
  const lines = entries.map((e) => formatTargetLine(e.url, e.category, tags, width));
  const head = [
    `# Imported from ${basename(file)} (Citizen Lab test-list format) by \`rasad targets import-citizenlab\`.`,
    '# The Citizen Lab test lists (https://github.com/citizenlab/test-lists) are CC BY-NC-SA:',
    '# keep this attribution, share alike, and do not use the list commercially.',
    '',
  ];
  return { text: [...head, ...lines].join('\n') + '\n', lines, rows: records.length - 1, errors };
}

export function formatTargetLine(target: string, category: string, tags: readonly string[], width = 0): string {
  return [target.padEnd(width), category, ...tags].join(' ').trimEnd();
}

/**
 * Where the url and category_code columns are, or why the header is not a
 * Citizen Lab header. The columns may come in any order and the four
 * informative ones may be absent; an unknown or repeated column is an error.
 */
function headerColumns(fields: string[]): { url: number; category: number; count: number } | string {
  const names = fields.map((f) => f.trim().toLowerCase());
  const expected = `the header row must name the columns ${CITIZEN_LAB_COLUMNS.join(',')}`;
  for (const name of names) {
    if (!(CITIZEN_LAB_COLUMNS as readonly string[]).includes(name)) return `${expected} (unknown column ${show(name, 40)})`;
    if (names.indexOf(name) !== names.lastIndexOf(name)) return `${expected} (column ${show(name, 40)} appears twice)`;
  }
  const url = names.indexOf('url');
  const category = names.indexOf('category_code');
  if (url === -1) return `${expected} (no url column)`;
  if (category === -1) return `${expected} (no category_code column)`;
  return { url, category, count: names.length };
}
