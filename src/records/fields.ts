// The field order of the flat measurement and event records: the export
// contract fields first, in the documented order. The store writes records in
// this order (stored-record.ts) and the export reads them in it; both import
// it from here, so the store never depends on the export.

/** JSONL/CSV field order for measurements: the contract fields (README: JSONL), then the others. */
export const MEASUREMENT_FIELDS = [
  'measurement_id',
  'run_id',
  'target',
  'url',
  'probe',
  'started_at',
  'runtime_ms',
  'failure',
  'verdict',
  'verdict_reason',
  'details',
  'failed_operation',
  'category',
  'tags',
  'control',
  'evidence',
] as const;

export const EVENT_FIELDS = ['event_id', 'kind', 'target', 'url', 'verdict', 'at', 'measurement_ids', 'details'] as const;
