// What an ok web measurement keeps of its pages. A blockpage's body is
// evidence and is kept whole (up to the probe's cap); a normal page's is not,
// so an ok measurement keeps each page's length, hash and title only, with one
// exception: a small plain-HTTP page that was read completely. OONI's
// pipeline takes an HTTP response's body length from the body bytes it is
// given, and compares it with the control's only for plain HTTP
// (oonipipeline analysis, make_http_outcome: body proportion < 0.7 reads as
// http.body-diff). So that page is kept whole, for its length to reach the
// pipeline; a partial page is never exported as if whole, since its length
// would read as a body difference. Larger pages export no body and the
// pipeline skips the comparison, as it does for OONI's own empty bodies.
import type { HttpHop } from '../../../probes/types.js';

/** The largest plain-HTTP page an ok measurement keeps whole (bytes as sent). */
export const OK_PAGE_KEEP_BYTES = 16 * 1024;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Whether `hop`'s sample is the whole page, byte for byte, as the pipeline would measure it. */
export function isWholePlainPage(hop: Pick<HttpHop, 'url' | 'status_code' | 'body_sample' | 'body_length' | 'body_truncated' | 'failure'>): boolean {
  if (typeof hop.body_sample !== 'string' || hop.failure !== null || hop.body_truncated) return false;
  if (!hop.url?.startsWith('http://') || hop.status_code === null || REDIRECT_STATUSES.has(hop.status_code)) return false;
  const length = hop.body_length ?? -1;
  // A sample decoded with replacement characters is not the bytes the server sent.
  return length > 0 && length <= OK_PAGE_KEEP_BYTES && Buffer.byteLength(hop.body_sample) === length;
}

/** The hops (indices) whose body sample an ok verdict drops: all but a whole small plain-HTTP page (the store nulls them: src/sweep/run.ts). */
export function okDroppedBodyHops(details: { hops?: HttpHop[] } | null | undefined): number[] {
  const hops = Array.isArray(details?.hops) ? details.hops : [];
  const dropped: number[] = [];
  hops.forEach((hop, i) => {
    if (hop === null || typeof hop !== 'object' || !isWholePlainPage(hop)) dropped.push(i);
  });
  return dropped;
}
