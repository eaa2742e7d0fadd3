// The TCP probe: connect to each address of the input on its port, and for
// web URLs on the other web port too (a censor that blocks :80 and not :443
// is the 2014 "HTTPS unblocking" case). Modelled on OONI's tcpconnect.
//
// IPv4 and IPv6 answers are both tried, interleaved, up to a cap. On a probe
// without an IPv6 route every IPv6 connect fails at once with
// network_unreachable: that says nothing about the site, so those connects
// are marked (ipv6_available: false) and never decide the probe's failure.
import { isIP } from 'node:net';
import { FAILURE } from './failure.js';
import { ProbeClock, failureOf, lookupSystem, parseProbeUrl, tryConnect } from './net.js';
import type { Failure, Probe, ProbeInput, ProbeOptions, ProbeResult, TcpConnectResult, TcpDetails } from './types.js';

/** Addresses connected to at most, by default: enough to see a pattern, few enough to stay polite. */
export const MAX_ADDRESSES = 4;

/** The cap on addresses for these options (ProbeOptions.maxAddresses, default MAX_ADDRESSES, at least 1). */
export function addressCap(options: Pick<ProbeOptions, 'maxAddresses'>): number {
  const cap = options.maxAddresses;
  return typeof cap === 'number' && Number.isInteger(cap) && cap >= 1 ? cap : MAX_ADDRESSES;
}

/** The ports to try for an input: its own, then the other web port for http(s). */
export function portsFor(scheme: 'http' | 'https' | 'tcp', port: number): number[] {
  if (scheme === 'tcp') return [port];
  const other = scheme === 'https' ? 80 : 443;
  return other === port ? [port] : [port, other];
}

/**
 * Distinct addresses, the two families interleaved (RFC 8305 §4) starting
 * with the first address's, then capped: four IPv6 answers listed first
 * cannot push every IPv4 answer past the cap.
 */
export function interleaveFamilies(addresses: string[], cap: number): string[] {
  const distinct = [...new Set(addresses.filter((a) => isIP(a) !== 0))];
  const first = distinct[0] === undefined ? 4 : isIP(distinct[0]);
  const same = distinct.filter((a) => isIP(a) === first);
  const other = distinct.filter((a) => isIP(a) !== first);
  const out: string[] = [];
  for (let i = 0; out.length < cap && (i < same.length || i < other.length); i++) {
    if (i < same.length) out.push(same[i]!);
    if (i < other.length && out.length < cap) out.push(other[i]!);
  }
  return out;
}

/** The input's addresses (valid IPs only, distinct, interleaved, capped), or the system resolver's when none were given. */
export async function addressesFor(input: ProbeInput, host: string, signal: AbortSignal): Promise<{ addresses: string[]; failure: Failure }> {
  const cap = addressCap(input.options);
  const given = interleaveFamilies(input.addresses, cap);
  if (given.length > 0) return { addresses: given, failure: null };
  try {
    const found = interleaveFamilies(await lookupSystem(host, signal, input.options.timeoutMs), cap);
    return found.length > 0 ? { addresses: found, failure: null } : { addresses: [], failure: FAILURE.dnsNoAnswer };
  } catch (err) {
    return { addresses: [], failure: failureOf(err, signal) };
  }
}

/**
 * Whether this probe has IPv6 at all, from connects made to IPv6 addresses:
 * false when every one failed with network_unreachable (no route), true
 * when one got further, undefined when none was tried.
 */
export function ipv6Availability(connects: { ip: string; failure: Failure }[]): boolean | undefined {
  const v6 = connects.filter((c) => isIP(c.ip) === 6);
  if (v6.length === 0) return undefined;
  return !v6.every((c) => c.failure === FAILURE.networkUnreachable);
}

/** True for a connect that only shows this probe has no IPv6 route. */
export function isNoRouteV6(c: { ip: string; failure: Failure }, ipv6Available: boolean | undefined): boolean {
  return ipv6Available === false && isIP(c.ip) === 6;
}

/**
 * The addresses reordered for the next probe (http after tcp): those whose
 * connect on `port` succeeded first, then the rest in their order. The sweep
 * passes this order on, so the http probe does not start with an address
 * this probe could not reach (an IPv6 answer on an IPv4-only network).
 */
export function preferConnected(addresses: string[], details: TcpDetails | null | undefined, port: number): string[] {
  if (!details || !Array.isArray(details.connects)) return addresses;
  const ok = new Set(details.connects.filter((c) => c.port === port && c.failure === null).map((c) => c.ip));
  return [...addresses.filter((a) => ok.has(a)), ...addresses.filter((a) => !ok.has(a))];
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<TcpDetails>> {
  const target = parseProbeUrl(input.url);
  const clock = new ProbeClock();
  const details: TcpDetails = { connects: [] };
  const envelope = clock.envelope<TcpDetails>('tcp');
  const result = (failure: Failure, operation: 'resolve' | 'connect' | null) => envelope(details, failure, operation);

  const { addresses, failure: resolveFailure } = await addressesFor(input, target.host, signal);
  if (addresses.length === 0) return result(resolveFailure ?? FAILURE.dnsNoAnswer, 'resolve');

  const ports = portsFor(target.scheme, target.port);
  const attempts = addresses.flatMap((ip) => ports.map((port) => ({ ip, port })));
  details.connects = await Promise.all(
    attempts.map(async ({ ip, port }): Promise<TcpConnectResult> => {
      const t0 = clock.seconds();
      const attempt = await tryConnect(ip, port, signal, input.options.timeoutMs);
      return { ip, port, t0, t: clock.seconds(), ...attempt };
    }),
  );
  const ipv6 = ipv6Availability(details.connects);
  if (ipv6 !== undefined) details.ipv6_available = ipv6;

  const own = details.connects.filter((c) => c.port === target.port);
  if (own.some((c) => c.failure === null)) return result(null, null);
  // The failure that decides: the first one that says something about the site.
  const telling = own.find((c) => !isNoRouteV6(c, ipv6)) ?? own[0];
  return result(telling?.failure ?? FAILURE.timeout, 'connect');
}

export const tcpProbe: Probe<TcpDetails> = { kind: 'tcp', run };
