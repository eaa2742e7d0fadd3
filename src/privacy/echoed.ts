// Addresses a server echoes back (issue 16 #10). Many sites put the
// client's address in a response header (X-Client-IP, X-Forwarded-For,
// Set-Cookie, CDN debug headers) or in the page ("Your IP is 5.6.7.8"); the
// probe cannot always know its public address behind a NAT, so the store
// scrubs addresses from these places whatever they are:
//
// - every header value (`headers` objects, OONI's `headers_list` pairs),
//   except `Location`: a redirect's target is the next hop's URL, which the
//   record holds anyway as part of the measurement;
// - every title and body sample (`title`, `x_title`, `body_sample`, `body`),
//   except addresses that are evidence and identify no volunteer: the
//   fingerprinted injection addresses (Iran's blockpage frames
//   http://10.10.34.36/, fingerprints/default.json) and private or reserved
//   addresses (bogons), which is where blockpages point.
//
// When a body sample is scrubbed, its sibling body_sha256 becomes the hash
// of the stored sample: a hash of the original next to a sample with one
// gap would let anyone recover an IPv4 address by trying all 2^32.
//
// The probe's own addresses (own-addresses.ts) are scrubbed everywhere,
// Location and evidence included, by the store's text pass.
import { createHash } from 'node:crypto';
import { isBogon, isKnownInjectionAddress } from '../../probes/bogons.js';
import { scrubIps, type ExtraScrub } from '../privacy.js';

/** An address that stays in a title or a body sample: a fingerprinted injection address, or a private or reserved one. */
export function isEvidenceAddress(ip: string): boolean {
  return isKnownInjectionAddress(ip) || isBogon(ip);
}

/** A title or body sample with every address scrubbed but evidence addresses. */
export function scrubPageText(text: string): string {
  return scrubIps(text, isEvidenceAddress);
}

const PAGE_TEXT_KEY = /(?:^|_)(?:title|body_sample|body)$/;
const BODY_SAMPLE_KEYS = ['body_sample', 'body'] as const;
const LOCATION = 'location';

// Keys repeat from record to record: their verdict is remembered, up to a bound.
const pageTextKeys = new Map<string, boolean>();
const KEYS_REMEMBERED = 4096;

function isPageTextKey(key: string): boolean {
  let yes = pageTextKeys.get(key);
  if (yes === undefined) {
    yes = PAGE_TEXT_KEY.test(key);
    if (pageTextKeys.size < KEYS_REMEMBERED) pageTextKeys.set(key, yes);
  }
  return yes;
}

/** A header value (a string, or the strings of a repeated header) scrubbed; undefined when it is neither. */
function scrubHeaderValue(value: unknown): unknown {
  if (typeof value === 'string') return scrubIps(value);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return undefined;
  let copy: string[] | null = null;
  value.forEach((v: string, i) => {
    const s = scrubIps(v);
    if (s !== v) (copy ??= value.slice() as string[])[i] = s;
  });
  return copy ?? value;
}

/** `{name: value}` headers scrubbed, Location kept; undefined when it is not such an object (walked as usual). */
function scrubHeaderObject(headers: object): unknown {
  const proto = Object.getPrototypeOf(headers) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const obj = headers as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  for (const name of Object.keys(obj)) {
    if (name.toLowerCase() === LOCATION) continue;
    const scrubbed = scrubHeaderValue(obj[name]);
    if (scrubbed === undefined) return undefined;
    if (scrubbed !== obj[name]) Object.defineProperty((copy ??= { ...obj }), name, { value: scrubbed, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? headers;
}

/** OONI's `headers_list`: `[[name, value], ...]`; undefined when it is not that shape. */
function scrubHeaderList(list: unknown[]): unknown {
  let copy: unknown[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const pair = list[i];
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return undefined;
    if (pair[0].toLowerCase() === LOCATION) continue;
    const value = scrubIps(pair[1]);
    if (value !== pair[1]) (copy ??= list.slice())[i] = [pair[0], value];
  }
  return copy ?? list;
}

/** The store's rules on top of the error-string scrub (src/privacy.ts scrubbedCopy). */
export const ECHOED_ADDRESS_SCRUB: ExtraScrub = {
  text: (key) => (isPageTextKey(key) ? scrubPageText : null),
  object(key, value) {
    if (key === 'headers') return Array.isArray(value) ? scrubHeaderList(value) : scrubHeaderObject(value);
    if (key === 'headers_list' && Array.isArray(value)) return scrubHeaderList(value);
    return undefined;
  },
  after(original, copy) {
    for (const key of BODY_SAMPLE_KEYS) {
      const sample = copy[key];
      if (typeof sample === 'string' && sample !== original[key] && typeof copy.body_sha256 === 'string') {
        copy.body_sha256 = createHash('sha256').update(sample, 'utf8').digest('hex');
      }
    }
  },
};
