// Times in and out of the export: the --since/--until flags (ISO-8601, read
// strictly: JavaScript's Date accepts "2025-02-30" and turns it into March),
// and OONI's "YYYY-MM-DD hh:mm:ss" UTC.

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Reads an ISO-8601 date or date-time and returns it as `toISOString()`
 * (UTC, milliseconds), or null when it is not a real calendar time. A time
 * without a zone is UTC (the store keeps UTC), not local time.
 */
export function parseIsoInstant(text: string): string | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  const zoneText = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  if (zoneText !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(-2)) > 59)) return null;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${zoneText}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export { parseStoredTime, toIsoUtc } from '../records/time.js';

/** OONI's measurement_start_time / test_start_time format: "2006-01-02 15:04:05", UTC. */
export function ooniTime(ms: number): string {
  // A unit's start and its run's start repeat from call to call, and one day's
  // date part serves many: toISOString per measurement was a fiftieth of an export.
  if (!(ms >= 0 && ms < YEAR_10000_MS)) return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const second = Math.floor(ms / 1000);
  const day = Math.floor(second / 86400);
  if (day !== cachedDay) {
    cachedDayText = new Date(day * 86_400_000).toISOString().slice(0, 10);
    cachedDay = day;
  }
  const inDay = second - day * 86400;
  return `${cachedDayText} ${TWO_DIGITS[Math.floor(inDay / 3600)]}:${TWO_DIGITS[Math.floor(inDay / 60) % 60]}:${TWO_DIGITS[inDay % 60]}`;
}

// toISOString writes four-digit years up to 9999; beyond, and for an invalid time (which throws), ooniTime asks it.
const YEAR_10000_MS = 253_402_300_800_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
let cachedDay = NaN;
let cachedDayText = '';

/** OONI's compact report-id timestamp: "20060102T150405Z". */
export function ooniCompactTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
}
