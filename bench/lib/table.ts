// Figure tables: printed for people (aligned columns, a unit in every
// header) and read back by the CI smoke test and run-all. Headers and cells
// hold no spaces, so a row splits on whitespace; a table starts with a
// header row whose first cell is known, and ends at the first blank line.

export interface Column {
  /** No spaces: "wall-s", "peak-rss-MiB". */
  header: string;
  /** Right-aligned unless said otherwise (numbers). */
  align?: 'left' | 'right';
}

/** Lines of an aligned table: the header row, then one row per entry. */
export function formatTable(columns: Column[], rows: string[][]): string[] {
  for (const c of columns) if (/\s/.test(c.header) || c.header === '') throw new Error(`a column header must be one word: ${JSON.stringify(c.header)}`);
  const cells = rows.map((r) => columns.map((_, i) => (r[i] ?? '-').replace(/\s+/g, '_') || '-'));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'left' ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

/** A number with a fixed count of decimals; "-" when it is not finite (nothing measured). */
export function fixed(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

export interface ParsedTable {
  headers: string[];
  /** One record per row: header -> cell text. */
  rows: Record<string, string>[];
}

/**
 * Finds the table whose header row starts with `firstHeader` in `text` (the
 * last one, when a script printed several) and reads its rows up to the
 * first blank or differently shaped line. Null when there is no such table.
 */
export function parseTable(text: string, firstHeader: string): ParsedTable | null {
  const lines = text.split('\n');
  let found: ParsedTable | null = null;
  for (let i = 0; i < lines.length; i++) {
    const headers = lines[i]!.trim().split(/\s+/);
    if (headers[0] !== firstHeader) continue;
    const rows: Record<string, string>[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const cells = lines[j]!.trim().split(/\s+/);
      if (lines[j]!.trim() === '' || cells.length !== headers.length) break;
      rows.push(Object.fromEntries(headers.map((h, k) => [h, cells[k]!])));
    }
    found = { headers, rows };
  }
  return found;
}
