// The circumvention endpoints' URLs, as the probes read them: tor://,
// tor+dir://, obfs4://, openvpn+udp://, openvpn+tcp:// and wireguard://, each
// host:port with a few named parameters. The targets parser (src/targets)
// validates and normalises what a user writes with the same rules; here the
// probe takes its input apart again and throws ProbeInputError when it cannot.
//
// Query values are read literally: base64's "+" stays "+" (URLSearchParams
// would turn it into a space), and %XX escapes are decoded.
import { isIP } from 'node:net';
import { ProbeInputError } from './net.js';

export const ENDPOINT_SCHEMES = ['tor', 'tor+dir', 'obfs4', 'openvpn+udp', 'openvpn+tcp', 'wireguard'] as const;
export type EndpointScheme = (typeof ENDPOINT_SCHEMES)[number];

/** The parameters each scheme takes, in the order the normalised URL lists them; the required ones first. */
export const SCHEME_PARAMETERS: Record<EndpointScheme, { required: readonly string[]; optional: readonly string[] }> = {
  tor: { required: [], optional: ['fingerprint'] },
  'tor+dir': { required: [], optional: [] },
  obfs4: { required: ['cert'], optional: ['iat-mode'] },
  'openvpn+udp': { required: [], optional: [] },
  'openvpn+tcp': { required: [], optional: [] },
  wireguard: { required: ['pubkey'], optional: ['clientkey'] },
};

export interface EndpointUrl {
  scheme: EndpointScheme;
  /** Lower-cased host name, or the IP without brackets. */
  host: string;
  port: number;
  params: Map<string, string>;
}

export function isEndpointScheme(scheme: string): scheme is EndpointScheme {
  return (ENDPOINT_SCHEMES as readonly string[]).includes(scheme);
}

/** The query's name=value pairs, values percent-decoded but "+" kept; null when a pair cannot be decoded. */
export function splitQuery(query: string): [string, string][] | null {
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const raw = eq === -1 ? '' : part.slice(eq + 1);
    try {
      pairs.push([decodeURIComponent(name).toLowerCase(), decodeURIComponent(raw)]);
    } catch {
      return null;
    }
  }
  return pairs;
}

/** A 32-byte key in base64 (standard or URL alphabet, padded or not), or null. */
export function decodeKey32(value: string): Buffer | null {
  const b64 = value.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(b64)) return null;
  const key = Buffer.from(b64, 'base64');
  // The 43rd character carries 2 spare bits; a canonical key has them zero.
  return key.length === 32 && key.toString('base64').slice(0, 43) === b64.slice(0, 43) ? key : null;
}

/** An obfs4 bridge's cert= value: base64 (unpadded) of its node ID (20 bytes) and its ntor public key (32 bytes). */
export function decodeObfs4Cert(value: string): { nodeId: Buffer; publicKey: Buffer } | null {
  const b64 = value.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]{70}(==)?$/.test(b64)) return null;
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 52) return null;
  return { nodeId: raw.subarray(0, 20), publicKey: raw.subarray(20) };
}

/** Parses a normalised endpoint URL. Throws ProbeInputError when it is not one. */
export function parseEndpointUrl(input: string, expected: readonly EndpointScheme[]): EndpointUrl {
  const shown = JSON.stringify(String(input).slice(0, 200));
  const match = /^([a-z0-9+]+):\/\/(\[[0-9a-fA-F:.]+\]|[^/:?#[\]]+):([0-9]{1,5})\/?(?:\?([^#]*))?$/.exec(input);
  if (!match) throw new ProbeInputError(`not a host:port endpoint URL: ${shown}`);
  const scheme = match[1]!;
  if (!isEndpointScheme(scheme) || !expected.includes(scheme)) {
    throw new ProbeInputError(`unsupported scheme ${JSON.stringify(scheme)} in ${shown} (expected ${expected.join(', ')})`);
  }
  const host = match[2]!.replace(/^\[|\]$/g, '').toLowerCase();
  if (host.includes(':') && isIP(host) !== 6) throw new ProbeInputError(`bad IPv6 address in ${shown}`);
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw new ProbeInputError(`bad port in ${shown}`);
  const pairs = splitQuery(match[4] ?? '');
  if (pairs === null) throw new ProbeInputError(`undecodable query in ${shown}`);
  const params = new Map(pairs);
  const allowed = SCHEME_PARAMETERS[scheme];
  for (const name of allowed.required) if (!params.has(name)) throw new ProbeInputError(`${scheme}:// needs ${name}= in ${shown}`);
  for (const name of params.keys()) {
    if (!allowed.required.includes(name) && !allowed.optional.includes(name)) throw new ProbeInputError(`unknown parameter ${name} in ${shown}`);
  }
  return { scheme, host, port, params };
}
