// The flat export record of a measurement and of a change event: the
// contract fields first, in the documented order, then the rest. Shared by
// the JSONL and CSV writers, so that both carry exactly the same values.
import type { Measurement, StoredEvent } from '../model.js';
import { scrubErrorStrings } from './privacy.js';
import { EVENT_FIELDS, MEASUREMENT_FIELDS } from '../records/fields.js';
import { toIsoUtc } from './time.js';

export { EVENT_FIELDS, MEASUREMENT_FIELDS } from '../records/fields.js';

export interface RecordOptions {
  /** Keep IP addresses inside error strings (the researcher asked for them with --include-ip). */
  includeIp: boolean;
}

/**
 * The export record of one stored measurement. Missing contract fields
 * become null, never undefined, so that every line has every key; fields the
 * contract does not name (a newer probe's) follow, so that nothing is lost.
 */
export function measurementRecord(m: Measurement, options: RecordOptions): Record<string, unknown> {
  const src = (m ?? {}) as unknown as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  for (const field of MEASUREMENT_FIELDS) record[field] = src[field] ?? null;
  for (const key of Object.keys(src)) if (!(key in record)) record[key] = src[key];
  record.started_at = toIsoUtc(record.started_at);
  // failure, verdict_reason, and every failure/error/message under details, evidence and control.
  if (!options.includeIp) scrubErrorStrings(record);
  return record;
}

/** The export record of one change event. */
export function eventRecord(e: StoredEvent, options: RecordOptions): Record<string, unknown> {
  const src = (e ?? {}) as unknown as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) record[field] = src[field] ?? null;
  for (const key of Object.keys(src)) if (!(key in record)) record[key] = src[key];
  record.at = toIsoUtc(record.at);
  if (!options.includeIp) scrubErrorStrings(record);
  return record;
}
