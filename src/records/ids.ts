// Measurement and run ids: UUIDs of version 7 (RFC 9562), whose first 48 bits
// are the Unix time in milliseconds, so ids made later sort later. The
// store's unique index on measurement_id then grows at its end like the
// other time-ordered indexes, instead of taking a random page per row: with
// random (version 4) ids each of a sweep's small batches rewrites a page of
// that index per measurement, about a third of the bytes a measurement
// costs the disk (bench/store.ts, "disk writes"). The time in the id is the
// time the record already holds (started_at), so it tells nothing new.
import { randomUUID } from 'node:crypto';

const MAX_UNIX_MS = 2 ** 48 - 1;

/**
 * A version-7 UUID for `unixMs`, its 74 random bits taken from `randomV4`
 * (a version-4 UUID: fresh from the CSPRNG by default; a bench passes its
 * own, for rows that repeat).
 */
export function timeOrderedId(unixMs: number = Date.now(), randomV4: string = randomUUID()): string {
  const ms = Math.min(MAX_UNIX_MS, Math.max(0, Math.floor(Number.isFinite(unixMs) ? unixMs : 0)));
  const time = ms.toString(16).padStart(12, '0');
  // randomV4 is xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: its last 12 + 62 random bits and its variant are kept.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomV4.slice(15)}`;
}

