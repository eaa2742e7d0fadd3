// One export: rows from the store, one encoder per format, out to a sink.
// Rows are read through the store's iterators and written one at a time,
// waiting for the sink whenever it has a full chunk: nothing is collected, so
// memory stays flat from a hundred rows to millions.
import type { Measurement, StoredEvent } from '../model.js';
import type { MeasurementFilter, Store, UnreadableRows } from '../store/store.js';
import { csvRecord, csvRow } from './csv.js';
import { CsvByteEncoder } from './csv-bytes.js';
import { ooniLines, type OoniStats } from './ooni/measurements.js';
import { iterateUnitRows } from './ooni/unit-rows.js';
import { csvFromMembers, csvFromReadyText, exportMembers, jsonlFromMembers } from './raw-record.js';
import { EVENT_FIELDS, MEASUREMENT_FIELDS, eventRecord, measurementRecord, type RecordOptions } from './records.js';
import type { ExportSink } from './sink.js';
import { parseStoredTime } from './time.js';

export const EXPORT_FORMATS = ['jsonl', 'csv', 'ooni'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRequest {
  format: ExportFormat;
  /** Export the change events instead of the measurements (jsonl and csv only). */
  events: boolean;
  /** For events only since, until and target apply. */
  filter: MeasurementFilter;
  /** Keep IP addresses inside error strings. */
  includeIp: boolean;
  /** OONI metadata: "AS0" and "ZZ" when withheld. */
  probeAsn: string;
  probeCc: string;
  /**
   * Save what is readable from a damaged database: rows whose stored JSON
   * cannot be read are skipped and counted (ExportResult.unreadable), and
   * damage SQLite reports mid-read ends the export with the rows before it
   * (ExportResult.damaged). Without it, either fails the export, as before.
   */
  salvage?: boolean;
}

export interface ExportResult {
  /** Rows read from the store (measurements or events). */
  read: number;
  /** Records written (lines; for OONI, one per web unit or long-lived measurement). */
  written: number;
  /** Measurements left out of an OONI export (a probe kind it does not know). */
  skipped: number;
  /** Rows left out because their stored JSON could not be read (a damaged database). */
  unreadable: number;
  /**
   * Set when SQLite reported damage while reading: the export stopped there,
   * with every row before it written. The CLI should still finish the output
   * (it is what could be saved) and exit non-zero.
   */
  damaged: string | null;
}

/** true when the export left something out for damage: the CLI exits non-zero (and says so). */
export function exportIncomplete(result: ExportResult): boolean {
  return result.unreadable > 0 || result.damaged !== null;
}

/** How many rows the export will read, for a progress bar. */
export function countRows(store: Store, request: ExportRequest): number {
  return request.events ? store.countEvents(eventFilter(request.filter)) : store.countMeasurements(request.filter);
}

function eventFilter(filter: MeasurementFilter) {
  return { since: filter.since, until: filter.until, target: filter.target };
}

export async function writeExport(
  store: Store,
  request: ExportRequest,
  sink: ExportSink,
  onProgress: (read: number) => void = () => {},
): Promise<ExportResult> {
  const options = { includeIp: request.includeIp };
  const counter: UnreadableRows = { count: 0 };
  const unreadable = request.salvage ? counter : undefined;
  if (request.events) {
    const encode =
      request.format === 'csv' ? (e: StoredEvent) => csvRecord(EVENT_FIELDS, eventRecord(e, options)) : (e: StoredEvent) => jsonLine(eventRecord(e, options));
    if (request.format === 'csv') await sink.write(csvRow(EVENT_FIELDS));
    return writeRows(store.iterateEvents(eventFilter(request.filter), { unreadable }), encode, sink, onProgress, request.salvage === true, counter);
  }
  switch (request.format) {
    case 'jsonl':
      // Always counted: a text that is not JSON must never be written as a line (the fast path does not parse).
      return writeRows(store.iterateExportTexts(request.filter, { unreadable: counter }), (row: [string, number]) => jsonlRow(row, options), sink, onProgress, request.salvage === true, counter);
    case 'csv':
      return writeRows(store.iterateExportTexts(request.filter, { unreadable: counter }), csvMeasurementBytes(options, sink), sink, onProgress, request.salvage === true, counter);
    case 'ooni':
      return writeOoni(store, request, sink, onProgress, unreadable, counter);
  }
}

function jsonLine(record: unknown): string {
  return JSON.stringify(record) + '\n';
}

// A record stored export-ready (scrubbed, keys in order: stored-record.ts) is
// its own line. --include-ip takes the other path: the row may predate the
// scrub at storage, and the other path gives the same bytes for one after it.
function jsonlRow([text, exportReady]: [string, number], options: RecordOptions): string {
  if (exportReady === 1 && !options.includeIp && looksWhole(text)) return text + '\n';
  return jsonlMeasurement(text, options);
}

// Two characters, not a scan: a record cut short by an edit outside the store
// still goes to the full path, whose JSON.parse fails the export instead of
// writing a broken line.
function looksWhole(text: string): boolean {
  return text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125; // { and }
}

// A stored record is rearranged as text when it can be (raw-record.ts), and parsed otherwise: same bytes either way.
function jsonlMeasurement(text: string, options: RecordOptions): string {
  const members = exportMembers(text, MEASUREMENT_FIELDS, 'started_at', options.includeIp);
  return members ? jsonlFromMembers(members) : jsonLine(measurementRecord(JSON.parse(text) as Measurement, options));
}

// An export-ready row's first members are the CSV columns, in order and
// scrubbed: only their values are located (raw-record.ts csvFromReadyText).
function csvMeasurement([text, exportReady]: [string, number], options: RecordOptions): string {
  if (exportReady === 1 && !options.includeIp) {
    const line = csvFromReadyText(text, MEASUREMENT_FIELDS);
    if (line !== null) return line;
  }
  const members = exportMembers(text, MEASUREMENT_FIELDS, 'started_at', options.includeIp);
  return members ? csvFromMembers(members, MEASUREMENT_FIELDS) : csvRecord(MEASUREMENT_FIELDS, measurementRecord(JSON.parse(text) as Measurement, options));
}

// The CSV rows go out as bytes: an export-ready row is encoded by one pass
// over its bytes (csv-bytes.ts), any other the string way; the header first.
function csvMeasurementBytes(options: RecordOptions, sink: ExportSink): RowOutput<[string, number]> {
  const encoder = new CsvByteEncoder(MEASUREMENT_FIELDS, 'started_at');
  encoder.appendText(csvRow(MEASUREMENT_FIELDS));
  const send = (chunk: Buffer) => (sink.writeBytes ? sink.writeBytes(chunk) : sink.write(chunk.toString('utf8')));
  return {
    put(row) {
      if (row[1] !== 1 || options.includeIp || !encoder.appendReady(row[0])) encoder.appendText(csvMeasurement(row, options));
      const chunk = encoder.fullChunk();
      return chunk ? send(chunk) : undefined;
    },
    flush: () => send(encoder.take()),
  };
}

/** SQLite's word for a damaged file: the export stops there and reports it, keeping what it wrote. */
function damage(err: unknown): string | null {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') ? (err as Error).message : null;
}

/** Where writeRows puts rows: encoded and gathered, a promise when a full chunk went out (await it). */
interface RowOutput<T> {
  put(row: T): Promise<void> | undefined;
  /** Sends what is gathered and not yet sent. */
  flush(): Promise<void> | undefined;
}

async function writeRows<T>(
  rows: Iterable<T>,
  encode: ((row: T) => string) | RowOutput<T>,
  sink: ExportSink,
  onProgress: (read: number) => void,
  salvage: boolean,
  unreadable: UnreadableRows,
): Promise<ExportResult> {
  let read = 0;
  let damaged: string | null = null;
  const refuseUnreadable = () => {
    if (!salvage && unreadable.count > 0) throw new Error('a stored record is not valid JSON (the database is damaged)');
  };
  const output: RowOutput<T> = typeof encode === 'function' ? { put: (row) => sink.write(encode(row)), flush: () => undefined } : encode;
  try {
    for (const row of rows) {
      refuseUnreadable();
      const pending = output.put(row);
      if (pending) await pending;
      onProgress(++read);
    }
    refuseUnreadable();
  } catch (err) {
    if (!salvage || (damaged = damage(err)) === null) throw err;
  }
  // The rows before damage are kept (salvage): what is gathered goes out in both cases.
  await output.flush();
  return { read, written: read, skipped: 0, unreadable: unreadable.count, damaged };
}

async function writeOoni(
  store: Store,
  request: ExportRequest,
  sink: ExportSink,
  onProgress: (read: number) => void,
  unreadable: UnreadableRows | undefined,
  counter: UnreadableRows,
): Promise<ExportResult> {
  // Read before streaming: while an iterator is open the connection cannot run another query.
  const runStarts = store.runStartTimes();
  const stats: OoniStats = { read: 0, written: 0, skipped: 0 };
  const lines = ooniLines(
    iterateUnitRows(store, request.filter, { unreadable }),
    {
      includeIp: request.includeIp,
      probeAsn: request.probeAsn,
      probeCc: request.probeCc,
      runStart: (runId) => parseStoredTime(runStarts.get(runId)),
    },
    stats,
  );
  let damaged: string | null = null;
  try {
    for (const line of lines) {
      const pending = sink.write(line);
      if (pending) await pending;
      onProgress(stats.read);
    }
  } catch (err) {
    if (!request.salvage || (damaged = damage(err)) === null) throw err;
  }
  return { read: stats.read, written: stats.written, skipped: stats.skipped, unreadable: counter.count, damaged };
}
