// The Citizen Lab test-list CSV (citizenlab/test-lists, lists/*.csv) to
// targets.txt lines. Columns: url,category_code,category_description,
// date_added,source,notes, with a header row. Each row becomes one target
// line; the url and the code are checked by the targets parser itself, so an
// import that succeeds is a file that loads. The lists are CC BY-NC-SA:
// rasad never bundles one, and the output says where it came from.
//
// A bad row (a bad URL, an unknown code, a row that repeats an earlier one
// once normalised) is skipped with a warning naming its line: one odd row
// must not cost a volunteer the whole country list. Only a file that is not
// a Citizen Lab list at all (no header row) fails the import.
import { basename } from 'node:path';
import { isCategoryCode } from './categories.js';
import { readCsv } from './csv.js';
import { show } from './host.js';
import { MAX_TARGETS, parseTargetLine, unknownCategory, type TargetLineError } from './parse.js';

export const CITIZEN_LAB_COLUMNS = ['url', 'category_code', 'category_description', 'date_added', 'source', 'notes'] as const;

export interface CitizenLabImport {
  /** The targets file: a comment header, then one line for each good row. */
  text: string;
  /** The target lines alone, in row order. */
  lines: string[];
  /** Data rows read (good and bad). */
  rows: number;
  /** Why the file cannot be imported at all (no header row, too many targets); empty when it can. */
  errors: TargetLineError[];
  /** The rows skipped, each naming its line ("FILE:LINE: reason (row skipped)"). */
  warnings: TargetLineError[];
}

export interface ImportOptions {
  /** Tags added to every imported line, e.g. ["domestic"]. Checked by the caller. */
  tags?: string[];
}

export function importCitizenLab(csvText: string, file: string, options: ImportOptions = {}): CitizenLabImport {
  const errors: TargetLineError[] = [];
  const warnings: TargetLineError[] = [];
  const fail = (line: number, reason: string) => errors.push({ file, line, reason, message: `${file}:${line}: ${reason}` });
  const skip = (line: number, reason: string) => warnings.push({ file, line, reason, message: `${file}:${line}: ${reason} (row skipped)` });
  const records = readCsv(csvText);
  const header = records[0];
  if (header === undefined) {
    fail(1, `empty file (a header row ${CITIZEN_LAB_COLUMNS.join(',')} is required)`);
    return { text: '', lines: [], rows: 0, errors, warnings };
  }
  const columns = headerColumns(header.fields);
  if (header.error !== null || typeof columns === 'string') {
    fail(header.line, header.error ?? (columns as string));
    return { text: '', lines: [], rows: records.length - 1, errors, warnings };
  }

  const tags = options.tags ?? [];
  const entries: { target: string; category: string; line: number }[] = [];
  const seen = new Map<string, number>();
  for (const record of records.slice(1)) {
    const row = readRow(record.fields, record.error, columns, tags);
    if ('error' in row) {
      skip(record.line, row.error);
      continue;
    }
    // Rows that are one input once normalised (a trailing dot, a dropped fragment): the first one stays.
    const repeated = row.inputs.find((input) => seen.has(input));
    if (repeated !== undefined) {
      skip(record.line, `duplicate input ${show(repeated)} (already on line ${seen.get(repeated)})`);
      continue;
    }
    if (entries.length === MAX_TARGETS) {
      fail(record.line, `more than ${MAX_TARGETS} targets, the limit of a targets list (split the CSV file)`);
      break;
    }
    for (const input of row.inputs) seen.set(input, record.line);
    entries.push({ target: row.target, category: row.category, line: record.line });
  }

  // Align the category column for a file people read and edit.
  const width = Math.min(60, Math.max(0, ...entries.map((e) => e.target.length)));
  const lines = entries.map((e) => formatTargetLine(e.target, e.category, tags, width));
  const head = [
    `# Imported from ${basename(file)} (Citizen Lab test-list format) by \`rasad targets import-citizenlab\`.`,
    '# The Citizen Lab test lists (https://github.com/citizenlab/test-lists) are CC BY-NC-SA:',
    '# keep this attribution, share alike, and do not use the list commercially.',
    ...warnings.map((w) => `# skipped ${w.message.replace(/ \(row skipped\)$/, '')}`),
    '',
  ];
  return { text: [...head, ...lines].join('\n') + '\n', lines, rows: records.length - 1, errors, warnings };
}

/** One data row as a target (as the targets file will hold it), or why it is not one. */
function readRow(
  fields: string[],
  csvError: string | null,
  columns: { url: number; category: number; count: number },
  tags: readonly string[],
): { target: string; category: string; inputs: string[] } | { error: string } {
  if (csvError !== null) return { error: csvError };
  if (fields.length !== columns.count) return { error: `expected ${columns.count} fields, got ${fields.length}` };
  const url = fields[columns.url]!.trim();
  const category = fields[columns.category]!.trim();
  if (url === '') return { error: 'empty url' };
  if (/\s/.test(url)) return { error: `url ${show(url)} contains whitespace` };
  if (category === '') return { error: 'empty category_code' };
  if (!isCategoryCode(category)) return { error: unknownCategory(category) };
  const parsed = parseTargetLine(formatTargetLine(url, category, tags));
  if (parsed === null) return { error: `url ${show(url)} is not a target` };
  if ('error' in parsed) return parsed;
  // "http://www.kproxy.com." is written as the parser reads it, without the dot.
  const target = parsed.inputs.length === 1 && hostHasTrailingDot(url) ? parsed.inputs[0]! : url;
  return { target, category, inputs: parsed.inputs };
}

function hostHasTrailingDot(url: string): boolean {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1] ?? '';
  return /\.(:[0-9]*)?$/.test(authority);
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
