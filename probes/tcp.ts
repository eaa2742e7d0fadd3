// The TCP probe: connect to each address of the input on its port, and for
// web URLs on the other web port too (a censor that blocks :80 and not :443
// is the 2014 "HTTPS unblocking" case). Modelled on OONI's tcpconnect.
import { isIP } from 'node:net';
import { FAILURE } from './failure.js';
import { ProbeClock, failureOf, lookupSystem, parseProbeUrl, tryConnect } from './net.js';
import type { Failure, Probe, ProbeInput, ProbeResult, TcpConnectResult, TcpDetails } from './types.js';

/** Addresses connected to at most: enough to see a pattern, few enough to stay polite. */
export const MAX_ADDRESSES = 4;

/** The ports to try for an input: its own, then the other web port for http(s). */
export function portsFor(scheme: 'http' | 'https' | 'tcp', port: number): number[] {
  if (scheme === 'tcp') return [port];
  const other = scheme === 'https' ? 80 : 443;
  return other === port ? [port] : [port, other];
}

/** The input's addresses (valid IPs only, distinct, capped), or the system resolver's when none were given. */
export async function addressesFor(input: ProbeInput, host: string, signal: AbortSignal): Promise<{ addresses: string[]; failure: Failure }> {
  const given = [...new Set(input.addresses.filter((a) => isIP(a) !== 0))];
  if (given.length > 0) return { addresses: given.slice(0, MAX_ADDRESSES), failure: null };
  try {
    const found = await lookupSystem(host, signal, input.options.timeoutMs);
    return found.length > 0 ? { addresses: found.slice(0, MAX_ADDRESSES), failure: null } : { addresses: [], failure: FAILURE.dnsNoAnswer };
  } catch (err) {
    return { addresses: [], failure: failureOf(err, signal) };
  }
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

  const own = details.connects.filter((c) => c.port === target.port);
  if (own.some((c) => c.failure === null)) return result(null, null);
  return result(own[0]?.failure ?? FAILURE.timeout, 'connect');
}

export const tcpProbe: Probe<TcpDetails> = { kind: 'tcp', run };
