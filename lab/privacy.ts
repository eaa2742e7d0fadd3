// Looking for an IP address where a volunteer's data could leak it: rasad's
// exports and every text cell of its SQLite database (issue 9: the probe's own
// address is never stored or exported). The lab knows the client's address,
// so it can search for it byte for byte.
import { gunzipSync, inflateSync } from 'node:zlib';
import Database from 'better-sqlite3';

/** One place the address was found, with a little context around it. */
export interface AddressHit {
  where: string;
  context: string;
}

/** The address as a whole token (10.77.1.2 is not found inside 10.77.1.20 or 110.77.1.2), also inside ::ffff:10.77.1.2. */
function addressPattern(ip: string): RegExp {
  const escaped = ip.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9.])${escaped}(?![0-9])`, 'g');
}

/** Every occurrence of `ip` in `text`, each with 40 characters either side. */
export function findAddress(text: string, ip: string, where: string): AddressHit[] {
  const hits: AddressHit[] = [];
  for (const m of text.matchAll(addressPattern(ip))) {
    const at = m.index ?? 0;
    hits.push({ where, context: text.slice(Math.max(0, at - 40), at + ip.length + 40) });
  }
  return hits;
}

/** A blob as text: as stored, and decompressed when it is gzip or zlib data (a record could be kept compressed). */
function blobTexts(blob: Buffer): string[] {
  const texts = [blob.toString('utf8'), blob.toString('latin1')];
  for (const inflate of [gunzipSync, inflateSync]) {
    try {
      texts.push(inflate(blob).toString('utf8'));
    } catch {
      // not this kind of compressed data
    }
  }
  return texts;
}

export interface DatabaseScan {
  /** Text (and blob) cells read. */
  cells: number;
  tables: string[];
  hits: AddressHit[];
}

/** Reads every cell of every table (read-only) and reports where `ip` occurs. */
export function scanDatabase(file: string, ip: string): DatabaseScan {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    let cells = 0;
    const hits: AddressHit[] = [];
    for (const table of tables) {
      const quoted = `"${table.replace(/"/g, '""')}"`;
      for (const row of db.prepare(`SELECT * FROM ${quoted}`).iterate() as IterableIterator<Record<string, unknown>>) {
        for (const [column, value] of Object.entries(row)) {
          const where = `${table}.${column}`;
          if (typeof value === 'string') {
            cells++;
            hits.push(...findAddress(value, ip, where));
          } else if (Buffer.isBuffer(value)) {
            cells++;
            const found = blobTexts(value).flatMap((t) => findAddress(t, ip, `${where} (blob)`));
            if (found.length > 0) hits.push(found[0]!);
          }
        }
      }
    }
    return { cells, tables, hits };
  } finally {
    db.close();
  }
}
