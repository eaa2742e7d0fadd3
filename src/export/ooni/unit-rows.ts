// The OONI export's rows: in unit order (Store.iterateMeasurementsByUnit's),
// each with its export_ready flag. A row stored export-ready was scrubbed at
// storage (src/records/stored-record.ts), so a unit made only of such rows
// needs no second scrub (measurements.ts).
import type { Measurement } from '../../model.js';
import type { FlaggedMeasurement } from '../../store/measurements.js';
import type { MeasurementFilter, ReadOptions, Store } from '../../store/store.js';

/** A stored measurement and whether it was stored scrubbed and export-ready. */
export type UnitRow = FlaggedMeasurement;

/** Rows ordered by run, input URL, then time (a web unit's measurements adjacent), with their flags. */
export function iterateUnitRows(store: Store, filter: MeasurementFilter = {}, options: ReadOptions = {}): IterableIterator<UnitRow> {
  return store.iterateMeasurementsByUnitWithFlags(filter, options);
}

/** Measurements as rows of unknown provenance: scrubbed again on export. */
export function* unflaggedRows(rows: Iterable<Measurement>): IterableIterator<UnitRow> {
  for (const m of rows) yield { m, ready: false };
}
