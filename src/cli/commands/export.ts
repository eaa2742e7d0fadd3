// `rasad export`: measurements (or change events) for researchers, as JSONL,
// CSV or OONI's data format, streamed from a read-only store. Bad flags and an
// unreadable database are UsageErrors (exit 2); a failure while writing is
// exit 1 and, with --out, leaves no file behind; a damaged database gives up
// every readable row and exits 1, saying how many rows it skipped.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PROBE_KINDS } from '../../experiments/registry.js';
import { VERDICTS } from '../../model.js';
import { countRows, EXPORT_FORMATS, exportIncomplete, writeExport, type ExportFormat, type ExportRequest } from '../../export/run-export.js';
import { createFileSink, InPlaceFileSink, StreamSink, type ExportSink } from '../../export/sink.js';
import { parseIsoInstant } from '../../export/time.js';
import { OutputRefusedError, resolveOutput } from '../../output-file.js';
import { Store, type MeasurementFilter } from '../../store/store.js';
import { defineCommand, UsageError, type CommandIo } from '../command.js';
import { createProgress, type Progress } from '../progress.js';

export const exportCommand = defineCommand(
  {
    name: 'export',
    summary: 'export measurements or events as JSONL, CSV or OONI data format',
    synopsis: `rasad export --db F --format jsonl|csv|ooni [--since ISO] [--until ISO]
                    [--target T] [--probe dns,http,...] [--verdict V,...] [--anomalies-only]
                    [--events] [--out F] [--include-ip] [--probe-asn ASN] [--probe-cc CC]`,
    description: 'Writes the stored measurements for researchers, oldest first (OONI: by run and URL).',
    flags: {
      db: { type: 'string', value: 'F', help: 'the SQLite database (opened read-only)' },
      format: {
        type: 'string',
        value: 'FMT',
        help: `jsonl: one measurement per line, contract fields first
csv:   RFC 4180, one row per measurement; details, control and
       evidence as JSON columns
ooni:  OONI's data format: a URL's dns/tcp/tls/http measurements of
       one run become one web_connectivity measurement; long-lived
       probes become rasad_tls_duration, rasad_throughput and
       rasad_protocol_filter measurements`,
      },
      since: { type: 'string', value: 'ISO', help: 'only measurements started at or after this time (UTC unless a zone is given)' },
      until: { type: 'string', value: 'ISO', help: 'only measurements started before this time' },
      target: { type: 'string', value: 'T', help: 'only this target (as written in targets.txt) or input URL' },
      probe: { type: 'string', value: 'LIST', help: `only these probe kinds (${PROBE_KINDS.join(',')})` },
      verdict: { type: 'string', value: 'LIST', help: 'only these verdicts (e.g. dns.injected,http.blockpage)' },
      'anomalies-only': { type: 'boolean', help: 'only measurements whose verdict is not ok' },
      events: { type: 'boolean', help: 'export the change events (blocked, unblocked, ...) instead (jsonl or csv)' },
      out: { type: 'string', value: 'F', help: 'write F instead of stdout: a file atomically (nothing is left behind on failure), a device or FIFO in place' },
      'include-ip': {
        type: 'boolean',
        help: `keep IP addresses inside error strings (scrubbed by default). Only
rows stored before schema version 3 still hold any: rasad now
scrubs them before it stores a measurement, and this flag
cannot bring back what was scrubbed at storage`,
      },
      'probe-asn': { type: 'string', value: 'ASN', help: 'OONI probe_asn, e.g. AS12880 (default AS0: withheld)' },
      'probe-cc': { type: 'string', value: 'CC', help: 'OONI probe_cc, e.g. IR (default ZZ: withheld)' },
    },
  },
  async ({ flags: values }, io) => {
    const request = readRequest(values);
    const dbPath = values.db === undefined ? fail('--db F is required (the database to export)') : resolve(io.cwd, nonEmpty('--db', values.db));
    const outPath = values.out === undefined ? null : checkOut(resolve(io.cwd, nonEmpty('--out', values.out)), dbPath);

    const store = openStore(values.db!, dbPath);
    try {
      // The count is only for the progress bar: a full index scan that a pipe or a log does not need.
      const total = io.stderr.isTTY ? countRows(store, request) : 0;
      return await exportTo(store, request, total, outPath, io);
    } finally {
      store.close();
    }
  },
);

function fail(message: string): never {
  throw new UsageError(`rasad export: ${message}`);
}

function nonEmpty(flag: string, value: string): string {
  if (value.trim() === '') fail(`${flag}: empty value`);
  return value;
}

type Flags = Record<string, string | boolean | undefined>;

function readRequest(values: Flags): ExportRequest {
  const format = values.format as string | undefined;
  if (format === undefined) fail(`--format is required (${EXPORT_FORMATS.join(', ')})`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) fail(`--format: unknown format "${format}" (${EXPORT_FORMATS.join(', ')})`);

  const filter: MeasurementFilter = {};
  if (values.since !== undefined) filter.since = isoFlag('--since', values.since as string);
  if (values.until !== undefined) filter.until = isoFlag('--until', values.until as string);
  if (filter.since && filter.until && filter.since >= filter.until) fail(`--since ${values.since} is not before --until ${values.until}`);
  if (values.target !== undefined) filter.target = nonEmpty('--target', values.target as string);
  if (values.probe !== undefined) filter.probe = listFlag('--probe', values.probe as string, PROBE_KINDS, 'probe kind');
  if (values.verdict !== undefined) filter.verdict = listFlag('--verdict', values.verdict as string, VERDICTS, 'verdict');
  if (values['anomalies-only']) filter.anomaliesOnly = true;

  const events = values.events === true;
  if (events) {
    if (format === 'ooni') fail('--events: change events have no OONI form; use --format jsonl or csv');
    for (const flag of ['probe', 'verdict', 'anomalies-only'] as const) {
      if (values[flag] !== undefined) fail(`--events: --${flag} applies to measurements, not to events`);
    }
  }
  for (const flag of ['probe-asn', 'probe-cc'] as const) {
    if (values[flag] !== undefined && format !== 'ooni') fail(`--${flag} applies to --format ooni only`);
  }
  const asn = (values['probe-asn'] as string | undefined) ?? 'AS0';
  if (!/^AS[0-9]{1,10}$/i.test(asn)) fail(`--probe-asn: expected AS followed by a number (e.g. AS12880), got "${asn}"`);
  const cc = (values['probe-cc'] as string | undefined) ?? 'ZZ';
  if (!/^[A-Za-z]{2}$/.test(cc)) fail(`--probe-cc: expected a two-letter country code (e.g. IR), got "${cc}"`);

  return {
    format: format as ExportFormat,
    events,
    filter,
    includeIp: values['include-ip'] === true,
    probeAsn: asn.toUpperCase(),
    probeCc: cc.toUpperCase(),
    // A damaged database still gives up what it can: unreadable rows are skipped and counted, and the exit code says so.
    salvage: true,
  };
}

function isoFlag(flag: string, value: string): string {
  return parseIsoInstant(value) ?? fail(`${flag}: not an ISO-8601 date or time: "${value}" (e.g. 2025-06-01 or 2025-06-01T12:00:00Z)`);
}

function listFlag(flag: string, value: string, known: readonly string[], what: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) fail(`${flag}: give at least one ${what} (${known.join(', ')})`);
  for (const item of items) if (!known.includes(item)) fail(`${flag}: unknown ${what} "${item}" (known: ${known.join(', ')})`);
  return items;
}

/** The --out path: in an existing directory, not a directory itself, and never the database. */
function checkOut(path: string, dbPath: string): string {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`--out ${path}: the directory ${dir} does not exist`);
  if (existsSync(path)) {
    // A device like /dev/null or a FIFO is written in place; a disk or a socket is refused (src/output-file.ts).
    try {
      resolveOutput(path);
    } catch (err) {
      if (err instanceof OutputRefusedError) fail(`--out ${path}: ${err.message}`);
      throw err;
    }
    if (existsSync(dbPath) && realpathSync(path) === realpathSync(dbPath)) fail(`--out ${path}: is the database itself`);
  }
  return path;
}

function openStore(given: string, path: string): Store {
  if (existsSync(path) && statSync(path).isDirectory()) fail(`--db ${given}: is a directory, not a database file`);
  let store: Store;
  try {
    store = Store.openReadOnly(path);
  } catch (err) {
    const reason = (err as Error).message.replace(`${path}: `, '').replace(`${given}: `, '');
    fail(`--db ${given}: ${/no such table/.test(reason) ? 'not a rasad database' : reason}`);
  }
  // A SQLite file that is not rasad's (or is empty) has no measurements table.
  const hasTables = store.db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('measurements', 'events', 'runs')`).get() as { n: number };
  if (hasTables.n < 3) {
    store.close();
    fail(`--db ${given}: not a rasad database`);
  }
  return store;
}

async function exportTo(store: Store, request: ExportRequest, total: number, outPath: string | null, io: CommandIo): Promise<number> {
  let sink: ExportSink;
  try {
    sink = outPath ? await createFileSink(outPath) : new StreamSink(io.stdout);
  } catch (err) {
    fail(`--out ${outPath}: cannot create a file there (${(err as Error).message})`);
  }
  // The bar goes to a terminal, and not to the one the data itself is going to.
  const progress: Progress = createProgress(io.stderr, 'rasad export', outPath !== null || !io.stdout.isTTY);
  let read = 0;
  // A file export yields to the event loop at every chunk, so a signal can stop it cleanly (no temporary file left).
  let interrupted = false;
  const onSignal = () => void (interrupted = true);
  if (outPath) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    const result = await writeExport(store, request, sink, (n) => {
      read = n;
      if (interrupted) throw new Error('interrupted');
      progress.update(n, total);
    });
    await sink.finish();
    progress.finish();
    if (result.skipped > 0) io.stderr.write(`rasad export: left out ${result.skipped} measurements of a probe kind the OONI export does not know\n`);
    if (outPath) io.stderr.write(`rasad export: ${result.written} records (${result.read} ${request.events ? 'events' : 'measurements'}) written to ${outPath}\n`);
    if (exportIncomplete(result)) {
      const parts = [result.unreadable > 0 ? `${result.unreadable} unreadable row${result.unreadable === 1 ? '' : 's'} skipped` : null, result.damaged ? `reading stopped early: ${result.damaged}` : null].filter(Boolean);
      io.stderr.write(`rasad export: incomplete, the database is damaged (${parts.join('; ')}); what could be read was written. Copy the database aside and run PRAGMA integrity_check on the copy.\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    progress.finish();
    await sink.abort();
    const e = err as NodeJS.ErrnoException;
    // A reader that went away (rasad export | head) is not an error.
    if (!outPath && e.code === 'EPIPE') return 0;
    const left = sink instanceof InPlaceFileSink ? `; ${outPath} is not a regular file and was written in place: what went before the failure is there` : `; ${outPath} was not written`;
    io.stderr.write(`rasad export: failed after ${read} rows: ${e.message}${outPath ? left : ''}\n`);
    return interrupted ? 130 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
