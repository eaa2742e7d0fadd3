// A damaged database (issue 16 #2): a writable open refuses it with a stable
// code and a message that says what to do, and writes nothing into it; the
// export reads what it can, and reports what it left out.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportIncomplete, writeExport, type ExportFormat, type ExportRequest } from '../../src/export/run-export.js';
import type { ExportSink } from '../../src/export/sink.js';
import type { Measurement } from '../../src/model.js';
import { Store, StoreOpenError, lockPathFor } from '../../src/store/store.js';
import { fakeMeasurement } from '../helpers/measurements.js';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

class MemorySink implements ExportSink {
  text = '';
  write(text: string): undefined {
    this.text += text;
    return undefined;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

const request = (format: ExportFormat): ExportRequest => ({ format, events: false, filter: {}, includeIp: false, probeAsn: 'AS0', probeCc: 'ZZ', salvage: true });

/** A closed database (no -wal: everything in the file) with `n` measurements, one of them marked in its details. */
function filledDb(n: number): { file: string; rows: Measurement[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'rasad-corrupt-')), 'rasad.db');
  const store = Store.open(file);
  store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00.000Z', probes: ['dns'], inputs_total: n });
  const rows = Array.from({ length: n }, (_, i) =>
    fakeMeasurement({
      url: `https://site-${i}.test/`,
      started_at: new Date(Date.UTC(2026, 10, 1, 10, 0, i)).toISOString(),
      details: { hostname: `site-${i}.test`, note: i === Math.floor(n / 2) ? 'MARKERMARKER' : 'x'.repeat(800) },
    }),
  );
  store.insertMeasurements(rows);
  store.close();
  return { file, rows };
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

describe('a database with damaged pages', () => {
  it('is refused by a writable open with RASAD_DB_CORRUPT and what to do, and left as it was', () => {
    const { file } = filledDb(400);
    const pageSize = 4096;
    const pages = statSync(file).size / pageSize;
    expect(pages).toBeGreaterThan(20);
    // Garbage over a run of pages in the middle: b-tree pages SQLite can no longer read.
    overwrite(file, Math.floor(pages / 2) * pageSize, Buffer.alloc(pageSize * 3, 0xa5));
    const before = sha(file);
    let error: StoreOpenError | undefined;
    try {
      Store.open(file);
    } catch (err) {
      error = err as StoreOpenError;
    }
    expect(error).toBeInstanceOf(StoreOpenError);
    expect(error!.code).toBe('RASAD_DB_CORRUPT');
    expect(error!.message).toMatch(/corrupt/);
    expect(error!.message).toMatch(/move .* aside/);
    expect(error!.message).toContain('rasad export');
    expect(error!.message).not.toContain('\n');
    expect(sha(file)).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(existsSync(lockPathFor(file))).toBe(false);
  });

  it('exports what it can read and reports the damage (every format)', async () => {
    const { file } = filledDb(400);
    const pages = statSync(file).size / 4096;
    overwrite(file, Math.floor(pages / 2) * 4096, Buffer.alloc(4096 * 3, 0xa5));
    for (const format of ['jsonl', 'csv', 'ooni'] as const) {
      const store = Store.openReadOnly(file);
      const sink = new MemorySink();
      try {
        const result = await writeExport(store, request(format), sink);
        expect(exportIncomplete(result)).toBe(true);
        expect(result.damaged ?? '').toMatch(/malformed|corrupt/i);
        // Whatever was read before the damage was written, whole (an index page may be what broke: then nothing).
        expect(result.read).toBeLessThan(400);
        const lines = sink.text.split(/\r?\n/).filter(Boolean);
        for (const line of format === 'csv' ? [] : lines) expect(() => JSON.parse(line)).not.toThrow();
      } finally {
        store.close();
      }
    }
  });
});

describe('a record whose JSON was damaged inside an intact page', () => {
  it('is skipped and counted by every export format; the others are written', async () => {
    const { file, rows } = filledDb(20);
    const bytes = readFileSync(file);
    const at = bytes.indexOf('"MARKERMARKER"');
    expect(at).toBeGreaterThan(0);
    // Same length, so the page stays valid; the JSON does not.
    overwrite(file, at, Buffer.from('{MARKERMARKE\x01'.padEnd(14, '\x01')));
    // quick_check looks at the pages, not inside the text: the daemon still opens it.
    Store.open(file).close();
    for (const format of ['jsonl', 'csv', 'ooni'] as const) {
      const store = Store.openReadOnly(file);
      const sink = new MemorySink();
      try {
        const result = await writeExport(store, request(format), sink);
        expect(result.unreadable, format).toBe(1);
        expect(result.damaged).toBeNull();
        expect(exportIncomplete(result)).toBe(true);
        expect(sink.text).not.toContain('MARKERMARKE');
        if (format === 'jsonl') expect(sink.text.trim().split('\n')).toHaveLength(rows.length - 1);
        if (format === 'csv') expect(sink.text.trim().split('\r\n')).toHaveLength(rows.length); // header + 19
      } finally {
        store.close();
      }
    }
    // Without salvage the export fails on the row, as it always has.
    const store = Store.openReadOnly(file);
    try {
      await expect(writeExport(store, { ...request('jsonl'), salvage: false }, new MemorySink())).rejects.toThrow(/JSON/);
    } finally {
      store.close();
    }
  });
});
