// How the store writes a measurement (issues 8 and 9): scrubbed (src/privacy.ts)
// and with its top-level keys in the export's order (src/export/records.ts), so that the
// JSONL line of the row is the stored text itself. A row is marked
// export-ready only when that holds: when JSON.stringify(measurementRecord(
// JSON.parse(text))) would give `text` again. Anything that would break it
// (a missing contract field, a started_at not as toISOString writes it, a key
// a plain object hides) leaves the row to the export's full path, with
// nothing of the measurement lost.
import type { Measurement } from '../model.js';
import { scrubbedCopy, type ScrubWalk } from '../privacy.js';
import { ECHOED_ADDRESS_SCRUB } from '../privacy/echoed.js';
import { probeAddresses, type OwnAddressSet } from '../privacy/own-addresses.js';
import { MEASUREMENT_FIELDS } from './fields.js';
import { toIsoUtc } from './time.js';

export interface StoredMeasurement {
  /** The JSON text to store. */
  record: string;
  /** The text is the measurement's JSONL export line (without its newline). */
  exportReady: boolean;
  /** The measurement's top-level failure and verdict reason, scrubbed, for their columns. */
  failure: unknown;
  verdictReason: unknown;
}

/**
 * The record to store for `m`, which is not modified: error strings and
 * addresses a server echoed scrubbed (src/privacy/echoed.ts), and no
 * spelling of the probe's own addresses anywhere in the text
 * (src/privacy/own-addresses.ts; `own` defaults to the process's set).
 */
export function storedMeasurement(m: Measurement, own: OwnAddressSet = probeAddresses): StoredMeasurement {
  const stored = scrubbedRecord(m);
  if (own.size === 0) return stored;
  const text = own.scrub(stored.record);
  if (text === stored.record) return stored;
  // Rare: the record held an own address (in any field, a key included).
  // What was written is read back and laid out again, so that the columns
  // and the export-ready flag are those of the scrubbed text.
  return scrubbedRecord(JSON.parse(text) as Measurement);
}

/** Scrubs both ways the same key at any depth: error strings (src/privacy.ts) and echoed addresses. */
function storageScrub<T>(value: T, walk?: ScrubWalk): T {
  return scrubbedCopy(value, walk, ECHOED_ADDRESS_SCRUB);
}

function scrubbedRecord(m: Measurement): StoredMeasurement {
  const walk: ScrubWalk = { notPlainJson: false };
  let src = storageScrub(m as unknown as Record<string, unknown>, walk);
  // A Date, a Buffer or a toJSON method would be written as something other
  // than what was scrubbed: scrub what JSON makes of it instead.
  if (walk.notPlainJson || src === null || typeof src !== 'object' || Array.isArray(src)) {
    src = storageScrub(JSON.parse(JSON.stringify(m ?? null)) as Record<string, unknown>);
  }
  if (src === null || typeof src !== 'object' || Array.isArray(src)) {
    // Not a record at all: stored as it is, for the full path to deal with.
    return { record: JSON.stringify(src), exportReady: false, failure: null, verdictReason: null };
  }

  const record: Record<string, unknown> = {};
  let exportReady = true;
  for (const field of MEASUREMENT_FIELDS) {
    const value = src[field];
    // The export writes null for a missing field: the stored text would lack it.
    if (value === undefined) exportReady = false;
    else record[field] = value;
  }
  for (const key of Object.keys(src)) {
    if (Object.hasOwn(record, key)) continue;
    // JSON writes no key whose value is undefined, so neither does the export.
    if (src[key] === undefined) continue;
    if (key in record) {
      // "__proto__", "constructor", "toString": the export's plain object
      // leaves such a key out; the store keeps it, and the row takes the full path.
      exportReady = false;
      Object.defineProperty(record, key, { value: src[key], enumerable: true, writable: true, configurable: true });
    } else {
      record[key] = src[key];
    }
  }
  // The export writes started_at as toISOString does; the sweep already does.
  if (toIsoUtc(record.started_at) !== record.started_at) exportReady = false;
  return { record: JSON.stringify(record), exportReady, failure: record.failure, verdictReason: record.verdict_reason };
}

/**
 * What a final verdict changes in a stored record, as JSON texts for SQLite's
 * json_set (which keeps the other keys in place and their text as it was):
 * verdict, verdict_reason and evidence, scrubbed as storedMeasurement scrubs
 * them, and the HTTP hops whose body sample an ok verdict dropped. Null when
 * only a full rewrite can give storedMeasurement's bytes (a field missing, or
 * something JSON would not write as it is).
 */
export interface VerdictPatch {
  verdict: string;
  verdictReason: string;
  evidence: string;
  /** The scrubbed verdict reason, for its column. */
  verdictReasonColumn: unknown;
  /** JSON paths ("$.details.hops[2].body_sample") to set to null. */
  nulledBodySamples: string[];
}

export function verdictPatch(m: Measurement, own: OwnAddressSet = probeAddresses): VerdictPatch | null {
  if (m === null || typeof m !== 'object') return null;
  const nulledBodyHops: number[] = [];
  const hops = (m.details as { hops?: unknown } | null | undefined)?.hops;
  if (Array.isArray(hops)) {
    hops.forEach((hop, i) => {
      if (hop !== null && typeof hop === 'object' && (hop as { body_sample?: unknown }).body_sample === null) nulledBodyHops.push(i);
    });
  }
  return verdictPatchOf(m, nulledBodyHops, own);
}

/**
 * A measurement's final verdict as a sweep keeps it once the measurement is
 * stored (src/sweep/run.ts): what the store writes over the provisional one.
 */
export interface VerdictUpdate {
  measurement_id: string;
  verdict: Measurement['verdict'];
  verdict_reason: string;
  evidence: Record<string, unknown>;
  /** The HTTP hops (indices) whose body sample the verdict drops: an ok page, src/experiments/web/kept-body.ts. */
  nulledBodyHops: readonly number[];
}

/** The patch of verdict fields plus the hops whose body sample is set to null (verdictPatch for a kept update). */
export function verdictPatchOf(
  fields: Pick<Measurement, 'verdict' | 'verdict_reason' | 'evidence'>,
  nulledBodyHops: readonly number[],
  own: OwnAddressSet = probeAddresses,
): VerdictPatch | null {
  if (fields.verdict === undefined || fields.verdict_reason === undefined || fields.evidence === undefined) return null;
  const walk: ScrubWalk = { notPlainJson: false };
  // The same keys at the same depth as in the whole record: the same scrub.
  const part = storageScrub({ verdict: fields.verdict, verdict_reason: fields.verdict_reason, evidence: fields.evidence } as Record<string, unknown>, walk);
  if (walk.notPlainJson || typeof part.verdict !== 'string') return null;
  // An own address in the new verdict's text: only a full rewrite gives storedMeasurement's bytes.
  if (own.size > 0 && own.foundIn(JSON.stringify(part))) return null;
  return {
    verdict: JSON.stringify(part.verdict),
    verdictReason: JSON.stringify(part.verdict_reason),
    evidence: JSON.stringify(part.evidence),
    verdictReasonColumn: part.verdict_reason,
    nulledBodySamples: nulledBodyHops.map((i) => `$.details.hops[${i}].body_sample`),
  };
}

/**
 * The measurement a stored record becomes under `update`, for a row the
 * patch cannot reach (not export-ready, or an own address in the new
 * verdict's text): storing it again gives the bytes a full rewrite of the
 * measurement in memory would, since the stored text was scrubbed already
 * and scrubbing it again changes nothing.
 */
export function withVerdict(storedText: string, update: VerdictUpdate): Measurement | null {
  let m: unknown;
  try {
    m = JSON.parse(storedText);
  } catch {
    return null;
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return null;
  const record = m as Measurement;
  record.verdict = update.verdict;
  record.verdict_reason = update.verdict_reason;
  record.evidence = update.evidence;
  const hops = (record.details as { hops?: unknown } | null | undefined)?.hops;
  if (Array.isArray(hops)) {
    for (const i of update.nulledBodyHops) {
      const hop = hops[i] as { body_sample?: unknown } | null | undefined;
      if (hop !== null && typeof hop === 'object') hop.body_sample = null;
    }
  }
  return record;
}
