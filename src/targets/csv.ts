// A small RFC 4180 reader: comma-separated fields, quoted fields with ""
// for a quote, line breaks (CRLF or LF) inside quotes. It never throws: a
// malformed record comes back with an error and the line it starts on, and
// reading goes on at the next line break outside quotes. Blank lines are
// skipped, as the Citizen Lab lists have none that mean anything.

export interface CsvRecord {
  /** The 1-based physical line the record starts on. */
  line: number;
  fields: string[];
  /** Why the record is malformed; null when it is not (fields are then complete). */
  error: string | null;
}

export function readCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const start = line;
    if (src[i] === '\n' || (src[i] === '\r' && src[i + 1] === '\n')) {
      i += src[i] === '\r' ? 2 : 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    let error: string | null = null;
    // Read fields until the end of the record (a line break outside quotes, or the end of the text).
    for (;;) {
      let value = '';
      if (src[i] === '"') {
        i++;
        let closed = false;
        while (i < src.length) {
          const c = src[i]!;
          if (c === '"') {
            if (src[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        if (!closed) {
          error = 'unterminated quoted field (a " is never closed)';
          break;
        }
        const next = src[i];
        if (next !== undefined && next !== ',' && next !== '\n' && !(next === '\r' && src[i + 1] === '\n')) {
          error = 'text after a closing quote (write "" for a quote inside a quoted field)';
          break;
        }
      } else {
        while (i < src.length && src[i] !== ',' && src[i] !== '\n' && !(src[i] === '\r' && src[i + 1] === '\n')) {
          if (src[i] === '"') {
            error = 'a quote inside an unquoted field (quote the whole field and write "" for the quote)';
            break;
          }
          value += src[i];
          i++;
        }
        if (error) break;
      }
      fields.push(value);
      if (src[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (error) {
      // Skip the rest of the physical line, then go on.
      while (i < src.length && src[i] !== '\n') i++;
    }
    if (src[i] === '\r') i++;
    if (src[i] === '\n') {
      i++;
      line++;
    }
    if (error) records.push({ line: start, fields, error });
    else records.push({ line: start, fields, error: null });
  }
  return records;
}
