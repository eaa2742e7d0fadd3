// Retry delays for webhook deliveries: exponential, capped, with "equal
// jitter" (half fixed, half random) so that a fleet of probes coming back
// online does not hit a receiver in lockstep, and no delay exceeds the cap.

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 10_000, capMs: 30 * 60_000 };

/** The delay before attempt `attempts + 1`, after `attempts` failures (>= 1). Always within [d/2, d], d = min(cap, base·2^(attempts-1)). */
export function retryDelayMs(attempts: number, random: () => number = Math.random, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const n = Math.max(1, Math.floor(attempts));
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(n - 1, 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}

/**
 * The latest next-attempt time a retry can honestly carry: now plus the
 * longest delay it is ever given, plus a minute. An outbox row set later
 * than that was set by a clock that has since gone back (a Pi that booted
 * ahead, then NTP), and is due now (src/store/outbox.ts due()).
 */
export function latestHonestRetryIso(nowMs: number, longestDelayMs: number): string {
  return new Date(nowMs + longestDelayMs + 60_000).toISOString();
}

/** A Retry-After header (seconds or an HTTP date) in milliseconds from now; null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}
