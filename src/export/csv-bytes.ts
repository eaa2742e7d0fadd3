// The CSV export's fast path, in bytes. An export-ready stored record
// (scrubbed, its first members the CSV columns in order:
// src/records/stored-record.ts) is encoded to UTF-8 once, and one pass over
// its bytes finds the column values and copies them into the output chunk,
// doubling the quotes of JSON columns as it goes. Building strings per field
// and doubling quotes with replaceAll cost about three times as much. A row
// the pass cannot take (an escape in a string column, a non-canonical time,
// a layout that is not the export's) is handed back: the caller encodes it
// the string way (raw-record.ts, records.ts), with the same bytes.
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, CR, LF, OPEN_BRACE, OPEN_BRACKET, QUOTE, ZERO } from './json-chars.js';
import { isCanonicalTime } from './raw-record.js';

// null
const N = 110;
const U = 117;
const L = 108;

/** Output chunks of about this size go to the sink. */
export const CSV_CHUNK_BYTES = 64 * 1024;

// "YYYY-MM-DDTHH:MM:SS.mmmZ" with its quotes: where the digits are.
const TIME_DIGITS = [1, 2, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16, 18, 19, 21, 22, 23];
const TIME_MARKS: [number, number][] = [
  [5, 45], // -
  [8, 45],
  [11, 84], // T
  [14, 58], // :
  [17, 58],
  [20, 46], // .
  [24, 90], // Z
];

function digit(src: Buffer, at: number): number {
  return src[at]! - ZERO;
}

/** Is the quoted time at [start, end) as toISOString writes it (checked by isCanonicalTime, which also knows the calendar)? */
function canonicalTimeAt(src: Buffer, start: number, end: number): boolean {
  if (end - start !== 26) return false;
  for (const at of TIME_DIGITS) {
    const d = digit(src, start + at);
    if (d < 0 || d > 9) return false;
  }
  for (const [at, mark] of TIME_MARKS) if (src[start + at] !== mark) return false;
  const day = digit(src, start + 9) * 10 + digit(src, start + 10);
  // Days 1-28 exist in every month; anything else asks the calendar.
  if (day >= 1 && day <= 28) {
    const month = digit(src, start + 6) * 10 + digit(src, start + 7);
    const hour = digit(src, start + 12) * 10 + digit(src, start + 13);
    return month >= 1 && month <= 12 && hour < 24 && digit(src, start + 15) < 6 && digit(src, start + 18) < 6;
  }
  return isCanonicalTime(src.toString('latin1', start, end));
}

export class CsvByteEncoder {
  // Column keys as they open a member: `"name":`.
  private readonly keys: Buffer[];
  private readonly timeColumn: number;
  private scratch = Buffer.allocUnsafe(16 * 1024);
  private out = Buffer.allocUnsafe(CSV_CHUNK_BYTES * 2);
  private pos = 0;

  constructor(columns: readonly string[], timeColumn: string) {
    this.keys = columns.map((c) => Buffer.from(`${JSON.stringify(c)}:`, 'utf8'));
    this.timeColumn = columns.indexOf(timeColumn);
  }

  /**
   * Appends the CSV record of an export-ready stored text; false (and nothing
   * appended) when the text is not one this pass can take.
   */
  appendReady(text: string): boolean {
    if (this.scratch.length < text.length * 3) this.scratch = Buffer.allocUnsafe(text.length * 3);
    const src = this.scratch;
    const n = src.write(text, 0, 'utf8');
    // At worst every byte is a doubled quote, plus a quote pair and a comma per column.
    this.reserve(2 * n + 3 * this.keys.length + 2);
    const out = this.out;
    let o = this.pos;
    if (src[0] !== OPEN_BRACE || src[n - 1] !== CLOSE_BRACE) return false;
    let i = 1;
    for (let c = 0; c < this.keys.length; c++) {
      const key = this.keys[c]!;
      // A loop, not Buffer.compare: a native call per column costs more than these few bytes.
      const keyEnd = i + key.length;
      if (keyEnd > n) return false;
      for (let k = 0; i < keyEnd; i++, k++) if (src[i] !== key[k]) return false;
      if (c > 0) out[o++] = COMMA;
      const start = i;
      const b = src[i];
      if (b === QUOTE) {
        // A string: its text, quoted as a whole (its JSON text) when it holds a comma.
        let comma = false;
        let j = i + 1;
        for (; j < n; j++) {
          const d = src[j]!;
          if (d === QUOTE) break;
          if (d === BACKSLASH) return false; // escapes: JSON.parse reads it on the other path
          if (d === COMMA || d === CR || d === LF) comma = true;
        }
        if (j >= n) return false;
        i = j + 1;
        if (c === this.timeColumn && !canonicalTimeAt(src, start, i)) return false;
        // A loop, not Buffer.copy: these are short, and a copy's checks cost more than the bytes.
        for (let k = comma ? start : start + 1, end = comma ? i : j; k < end; k++) out[o++] = src[k]!;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        // JSON text in one field: quoted, its quotes doubled (unquoted when it holds no quote and no comma: "[]").
        const open = o++;
        let depth = 0;
        let special = false;
        while (i < n) {
          const d = src[i++]!;
          out[o++] = d;
          if (d === QUOTE) {
            // A string inside: copied to its closing quote by a loop of its own (most bytes are in strings).
            out[o++] = QUOTE;
            special = true;
            while (i < n) {
              const e = src[i++]!;
              out[o++] = e;
              if (e === QUOTE) {
                out[o++] = QUOTE;
                break;
              }
              if (e === BACKSLASH && i < n) {
                const escaped = src[i++]!;
                out[o++] = escaped;
                if (escaped === QUOTE) out[o++] = QUOTE;
              }
            }
          } else if (d === COMMA || d === CR || d === LF) special = true;
          else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
          else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
            if (--depth === 0) break;
          }
        }
        if (depth !== 0) return false;
        if (special) {
          out[open] = QUOTE;
          out[o++] = QUOTE;
        } else {
          out.copyWithin(open, open + 1, o);
          o--;
        }
      } else {
        // A number, true, false or null (an empty field).
        let j = i;
        for (; j < n; j++) {
          const d = src[j]!;
          if (d === COMMA || d === CLOSE_BRACE || d <= 32) break;
        }
        if (j === i) return false;
        if (!(b === N && j - i === 4 && src[i + 1] === U && src[i + 2] === L && src[i + 3] === L)) for (let k = i; k < j; k++) out[o++] = src[k]!;
        i = j;
      }
      const next = src[i];
      if (next === COMMA) i++;
      else if (!(next === CLOSE_BRACE && i === n - 1)) return false;
    }
    out[o++] = CR;
    out[o++] = LF;
    this.pos = o;
    return true;
  }

  /** Appends text as it is (the header, a row encoded the string way). */
  appendText(text: string): void {
    this.reserve(text.length * 3);
    this.pos += this.out.write(text, this.pos, 'utf8');
  }

  /** The bytes gathered when they make a full chunk (handed over, never reused), else null. */
  fullChunk(): Buffer | null {
    return this.pos >= CSV_CHUNK_BYTES ? this.take() : null;
  }

  /** Whatever is gathered (possibly nothing), handed over. */
  take(): Buffer {
    const chunk = this.out.subarray(0, this.pos);
    this.out = Buffer.allocUnsafe(CSV_CHUNK_BYTES * 2);
    this.pos = 0;
    return chunk;
  }

  /** Room for `bytes` more: a larger buffer, the gathered bytes copied over (a chunk is taken at 64 KiB, so this is rare). */
  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + bytes));
    this.out.copy(bigger, 0, 0, this.pos);
    this.out = bigger;
  }
}
