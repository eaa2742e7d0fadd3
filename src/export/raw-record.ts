// The fast path of the JSONL and CSV exports. A stored record is the JSON
// text JSON.stringify wrote; parsing it into objects and stringifying it again
// costs most of an export's time. Here the top-level values are located in
// the text (strings and nesting skipped, nothing parsed) and reassembled in
// the export's field order, and error strings are scrubbed in the text
// itself. Anything unusual (whitespace, escapes in an error string, an
// address key, an array of error strings, a non-canonical time) returns
// null: the caller then takes the full path (records.ts), which handles
// everything. Both paths give the same bytes (tests/export/raw-record.test.ts).
import { csvField } from './csv.js';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE, UNDERSCORE } from './json-chars.js';
import { PROBE_ADDRESS_KEYS, scrubIps } from './privacy.js';


/** Index of the quote closing the string that opens at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  let j = text.indexOf('"', i + 1);
  while (j > 0) {
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

/** Index just past the JSON value that starts at `i`, or -1. */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) {
    const end = stringEnd(text, i);
    return end < 0 ? -1 : end + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) {
        j = stringEnd(text, j);
        if (j < 0) return -1;
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  for (; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d <= 32) break;
  }
  return j > i ? j : -1;
}

/** The top-level members of a JSON object: keys still JSON-escaped (without quotes), values as JSON text. */
export interface Members {
  keys: string[];
  values: string[];
}

/** The top-level members of a compact JSON object, in their order; null when the text is not one. */
export function topLevelMembers(text: string): Members | null {
  if (text.charCodeAt(0) !== OPEN_BRACE || text.charCodeAt(text.length - 1) !== CLOSE_BRACE) return null;
  const members: Members = { keys: [], values: [] };
  let i = 1;
  if (text.charCodeAt(i) === CLOSE_BRACE) return i === text.length - 1 ? members : null;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return null;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0 || text.charCodeAt(keyEnd + 1) !== COLON) return null;
    const key = text.slice(i + 1, keyEnd);
    const start = keyEnd + 2;
    const end = valueEnd(text, start);
    if (end < 0 || members.keys.includes(key)) return null;
    members.keys.push(key);
    members.values.push(text.slice(start, end));
    const next = text.charCodeAt(end);
    if (next === COMMA) i = end + 1;
    else if (next === CLOSE_BRACE && end === text.length - 1) return members;
    else return null;
  }
}

// Where a key whose string value privacy.ts scrubs may end: the last letters
// of failure, error, message, reason (plural or not), the closing quote, and
// the value's first character. In JSON.stringify's output `x":` can only end
// a key: inside a string a quote is always escaped. The whole word is checked
// after the match (a regex starting with the rarer tails runs faster).
const ERROR_KEY_TAIL = /(ure|ror|age|son)s?":(.)/g;
const WORD_HEADS: Record<string, string> = { ure: 'fail', ror: 'er', age: 'mess', son: 'rea' };
const ADDRESS_KEY = new RegExp(`"(?:${[...PROBE_ADDRESS_KEYS].join('|')})":`);
// Their endings ("_ip", "_address", "_port") with the closing quote: plain substring scans rule most records out cheaply.
const ADDRESS_KEY_TAILS = [...new Set([...PROBE_ADDRESS_KEYS].map((k) => `${k.slice(k.lastIndexOf('_'))}"`))];

/** Does the text hold a key that would carry the probe's own address (which the full path drops)? */
function hasAddressKey(text: string): boolean {
  return ADDRESS_KEY_TAILS.some((tail) => text.includes(tail)) && ADDRESS_KEY.test(text);
}

/**
 * The record text with every IP in an error string scrubbed, exactly as
 * scrubErrorStrings would; null when only the full path can do it.
 */
export function scrubRecordText(text: string): string | null {
  if (hasAddressKey(text)) return null;
  let out = '';
  let copied = 0;
  ERROR_KEY_TAIL.lastIndex = 0;
  for (let m = ERROR_KEY_TAIL.exec(text); m; m = ERROR_KEY_TAIL.exec(text)) {
    const head = WORD_HEADS[m[1]!]!;
    const wordStart = m.index - head.length;
    if (wordStart < 1 || !text.startsWith(head, wordStart)) continue;
    // privacy.ts's rule is (^|_)word(s)?$: the key must be the word itself or end in _word.
    const before = text.charCodeAt(wordStart - 1);
    if (before !== QUOTE && before !== UNDERSCORE) continue;
    const first = m[2];
    if (first === '[') return null; // an array of error strings
    if (first !== '"') continue; // null, a number, an object: nothing to scrub here
    const open = m.index + m[0].length - 1;
    const close = stringEnd(text, open);
    if (close < 0) return null;
    const value = text.slice(open + 1, close);
    const scrubbed = scrubIps(value);
    if (scrubbed === value) continue;
    if (value.includes('\\')) return null; // escapes: let JSON.parse read it
    out += text.slice(copied, open + 1) + scrubbed;
    copied = close;
    ERROR_KEY_TAIL.lastIndex = close;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

const CANONICAL_TIME = /^"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A quoted time exactly as toISOString writes it, and a real one ("2025-02-30" would be moved to March by the full path). */
export function isCanonicalTime(json: string): boolean {
  if (!CANONICAL_TIME.test(json)) return false;
  const year = Number(json.slice(1, 5));
  const month = Number(json.slice(6, 8));
  const day = Number(json.slice(9, 11));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  return day <= days && Number(json.slice(12, 14)) < 24 && Number(json.slice(15, 17)) < 60 && Number(json.slice(18, 20)) < 60;
}

// Keys a JavaScript object would not keep in place: array indices go first;
// __proto__, constructor, toString and the other names a plain object
// inherits are left out by records.ts (`key in record`).
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * The export's fields of a stored record as JSON texts, in `fields` order
 * first (a missing one is "null"), then the record's other members; null when
 * the full path must be taken. `timeField` must already be ISO-8601 UTC as
 * toISOString writes it.
 */
export function exportMembers(recordText: string, fields: readonly string[], timeField: string, includeIp: boolean): [string, string][] | null {
  const text = includeIp ? recordText : scrubRecordText(recordText);
  if (text === null) return null;
  const members = topLevelMembers(text);
  if (members === null) return null;
  const { keys, values } = members;
  const out: [string, string][] = [];
  for (const field of fields) {
    const at = keys.indexOf(field);
    out.push([field, at < 0 ? 'null' : values[at]!]);
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === timeField) {
      const time = values[i]!;
      if (time !== 'null' && !isCanonicalTime(time)) return null;
    }
    const c = key.charCodeAt(0);
    if ((c >= 48 && c <= 57 && ARRAY_INDEX.test(key)) || key in Object.prototype) return null;
    if (!fields.includes(key)) out.push([key, values[i]!]);
  }
  return out;
}

/** A JSONL line from exportMembers' output. */
export function jsonlFromMembers(members: [string, string][]): string {
  let line = '{';
  for (let i = 0; i < members.length; i++) line += `${i === 0 ? '"' : ',"'}${members[i]![0]}":${members[i]![1]}`;
  return line + '}\n';
}

/**
 * A CSV record from exportMembers(text, columns, ...)'s output: its first
 * columns.length members are the columns; the others are left out, as csvRecord does.
 */
export function csvFromMembers(members: [string, string][], columns: readonly string[]): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    const value = members[i]![1];
    line += (i === 0 ? '' : ',') + csvField(jsonTextToCsvValue(value));
  }
  return line + '\r\n';
}

/** What csvField would be given for this JSON value: a string unescaped, null, or the JSON text of anything else. */
function jsonTextToCsvValue(json: string): string | null {
  if (json === 'null') return null;
  if (json.charCodeAt(0) !== QUOTE) return json;
  return json.includes('\\') ? (JSON.parse(json) as string) : json.slice(1, -1);
}

/**
 * The CSV record of an export-ready stored text (scrubbed, its first members
 * the columns in order: src/records/stored-record.ts): only the first
 * columns.length values are located, nothing is rearranged. Null when the
 * text is not laid out so (the caller takes exportMembers' path).
 */
export function csvFromReadyText(text: string, columns: readonly string[]): string | null {
  if (text.charCodeAt(0) !== OPEN_BRACE) return null;
  let line = '';
  let i = 1;
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c]!;
    // "key": with no escapes in a column name, so the key is matched as written.
    if (text.charCodeAt(i) !== QUOTE || !text.startsWith(column, i + 1) || text.charCodeAt(i + 1 + column.length) !== QUOTE || text.charCodeAt(i + 2 + column.length) !== COLON) return null;
    const start = i + 3 + column.length;
    const end = valueEnd(text, start);
    if (end < 0) return null;
    const next = text.charCodeAt(end);
    if (next !== COMMA && !(next === CLOSE_BRACE && end === text.length - 1)) return null;
    if (column === 'started_at' && !isCanonicalTime(text.slice(start, end))) return null;
    line += (c === 0 ? '' : ',') + csvField(jsonTextToCsvValue(text.slice(start, end)));
    i = end + 1;
  }
  return line + '\r\n';
}
