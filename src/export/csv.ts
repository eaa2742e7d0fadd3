// RFC 4180 CSV: CRLF line ends; a field holding a comma, a double quote, CR
// or LF is quoted, with its quotes doubled. Nested values (details, control,
// evidence, tags, measurement_ids) are JSON in one column; null is an empty
// field.

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record with its CRLF. */
export function csvRow(values: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : ',') + csvField(values[i]);
  return line + '\r\n';
}

/** A record's values in the order of `columns`; keys beyond them are left out (CSV has fixed columns). */
export function csvRecord(columns: readonly string[], record: Record<string, unknown>): string {
  return csvRow(columns.map((c) => record[c]));
}
