// Stored times: ISO-8601 UTC text. Shared by the store (which writes records
// as the export would) and the export.

/** Milliseconds since the epoch of a stored time, or null when it does not parse. */
export function parseStoredTime(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** A stored time as ISO-8601 UTC; text that is not a time is passed on unchanged. */
export function toIsoUtc(text: unknown): unknown {
  const ms = parseStoredTime(text);
  return ms === null ? text : new Date(ms).toISOString();
}
