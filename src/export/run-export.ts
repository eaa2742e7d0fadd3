// One export: rows from the store, one encoder per format, out to a sink.
// Rows are read through the store's iterators and written one at a time,
// waiting for the sink whenever it has a full chunk: nothing is collected, so
// memory stays flat from a hundred rows to millions.
import type { Measurement, StoredEvent } from '../model.js';
import type { MeasurementFilter, Store } from '../store/store.js';
import { csvRecord, csvRow } from './csv.js';
import { ooniMeasurements, type OoniStats } from './ooni/measurements.js';
import { csvFromMembers, exportMembers, jsonlFromMembers } from './raw-record.js';
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
}

export interface ExportResult {
  /** Rows read from the store (measurements or events). */
  read: number;
  /** Records written (lines; for OONI, one per web unit or long-lived measurement). */
  written: number;
  /** Measurements left out of an OONI export (a probe kind it does not know). */
  skipped: number;
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
  if (request.events) {
    const encode =
      request.format === 'csv' ? (e: StoredEvent) => csvRecord(EVENT_FIELDS, eventRecord(e, options)) : (e: StoredEvent) => jsonLine(eventRecord(e, options));
    if (request.format === 'csv') await sink.write(csvRow(EVENT_FIELDS));
    return writeRows(store.iterateEvents(eventFilter(request.filter)), encode, sink, onProgress);
  }
  switch (request.format) {
    case 'jsonl':
      return writeRows(store.iterateExportTexts(request.filter), (row: [string, number]) => jsonlRow(row, options), sink, onProgress);
    case 'csv':
      await sink.write(csvRow(MEASUREMENT_FIELDS));
      return writeRows(store.iterateMeasurementTexts(request.filter), (text: string) => csvMeasurement(text, options), sink, onProgress);
    case 'ooni':
      return writeOoni(store, request, sink, onProgress);
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

function csvMeasurement(text: string, options: RecordOptions): string {
  const members = exportMembers(text, MEASUREMENT_FIELDS, 'started_at', options.includeIp);
  return members ? csvFromMembers(members, MEASUREMENT_FIELDS) : csvRecord(MEASUREMENT_FIELDS, measurementRecord(JSON.parse(text) as Measurement, options));
}

async function writeRows<T>(rows: Iterable<T>, encode: (row: T) => string, sink: ExportSink, onProgress: (read: number) => void): Promise<ExportResult> {
  let read = 0;
  for (const row of rows) {
    const pending = sink.write(encode(row));
    if (pending) await pending;
    onProgress(++read);
  }
  return { read, written: read, skipped: 0 };
}

async function writeOoni(store: Store, request: ExportRequest, sink: ExportSink, onProgress: (read: number) => void): Promise<ExportResult> {
  // Read before streaming: while an iterator is open the connection cannot run another query.
  const runStarts = store.runStartTimes();
  const stats: OoniStats = { read: 0, written: 0, skipped: 0 };
  const measurements = ooniMeasurements(
    store.iterateMeasurementsByUnit(request.filter),
    {
      includeIp: request.includeIp,
      probeAsn: request.probeAsn,
      probeCc: request.probeCc,
      runStart: (runId) => parseStoredTime(runStarts.get(runId)),
    },
    stats,
  );
  for (const m of measurements) {
    const pending = sink.write(jsonLine(m));
    if (pending) await pending;
    onProgress(stats.read);
  }
  return { read: stats.read, written: stats.written, skipped: stats.skipped };
}
