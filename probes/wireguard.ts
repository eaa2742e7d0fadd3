// wireguard: does a WireGuard server answer a handshake initiation? The
// probe sends a valid initiation (wireguard_noise.ts) to the configured
// peer's endpoint and public key and waits for the handshake response, which
// it checks (receiver index, mac1, the empty payload's tag).
//
// A real server answers only a peer whose static public key it knows: the
// probe's own static key is fresh per run (an anonymous initiator), so a
// real server stays silent to it. `clientkey=` in the input names a private
// key the server knows (labs, tests, a volunteer's own server); only with one
// is a server's silence evidence of blocking.
import { exchangeUdp, newEndpointDetails, resolveAndCompare, udpHandshake, type EndpointDetails } from './endpoint_io.js';
import { decodeKey32, parseEndpointUrl } from './endpoint_url.js';
import { ProbeClock, ProbeInputError } from './net.js';
import type { Probe, ProbeInput, ProbeResult } from './types.js';
import { buildInitiation, checkResponse, generatePair, publicKeyOf, type ResponseCheck } from './wireguard_noise.js';

declare module './types.js' {
  interface DetailsByKind {
    wireguard: EndpointDetails;
  }
}

/** The input without its private key (every `clientkey` member of its query): what the record may carry. */
export function withoutSecrets(url: string): string {
  // The sweep calls this for every unit's URL: most have no key at all.
  if (!/clientkey=/i.test(url)) return url;
  const hash = url.indexOf('#');
  const beforeFragment = hash >= 0 ? url.slice(0, hash) : url;
  const fragment = hash >= 0 ? url.slice(hash) : '';
  const q = beforeFragment.indexOf('?');
  if (q < 0) return url;
  // The query's members are filtered, never the path: an '&' there is the URL's own.
  const kept = beforeFragment.slice(q + 1).split('&').filter((member) => !/^clientkey=/i.test(member));
  return beforeFragment.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '') + fragment;
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<EndpointDetails>> {
  const clock = new ProbeClock();
  const endpoint = parseEndpointUrl(input.url, ['wireguard']);
  const { timeoutMs } = input.options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ProbeInputError('wireguard: timeoutMs must be positive');
  const serverKey = decodeKey32(endpoint.params.get('pubkey') ?? '');
  if (!serverKey) throw new ProbeInputError('wireguard: pubkey= is not a 32-byte base64 key');
  const clientParam = endpoint.params.get('clientkey');
  const clientKey = clientParam === undefined ? null : decodeKey32(clientParam);
  if (clientParam !== undefined && !clientKey) throw new ProbeInputError('wireguard: clientkey= is not a 32-byte base64 key');

  const envelope = clock.envelope<EndpointDetails>('wireguard');
  const details: EndpointDetails = { ...newEndpointDetails('wireguard', 'udp', withoutSecrets(input.url), endpoint.port), known_peer: clientKey !== null };
  const unresolved = await resolveAndCompare(details, input, endpoint.host, timeoutMs, signal);
  if (unresolved) return envelope(details, unresolved, 'resolve');

  const initiatorStatic = clientKey ? { privateKey: clientKey, publicKey: publicKeyOf(clientKey) } : generatePair();
  const { message, state } = buildInitiation(serverKey, initiatorStatic);
  let check: ResponseCheck | null = null;
  const accept = (datagram: Buffer) => {
    const seen = checkResponse(datagram, state);
    if (!seen || !seen.receiver_matches) return false;
    check = seen;
    return true;
  };
  // One initiation only: WireGuard refuses a replayed timestamp, and a resend would be one.
  const exchange = await exchangeUdp(details.ip!, endpoint.port, message, accept, timeoutMs, signal, timeoutMs + 1);
  const handshake = (details.handshake = udpHandshake(exchange));
  if (check) details.response = { ...(check as ResponseCheck), message_type: (check as ResponseCheck).type === 3 ? 'cookie_reply' : 'handshake_response' };
  return envelope(details, handshake.failure, 'read');
}

export const wireguardProbe: Probe<EndpointDetails> = { kind: 'wireguard', run };
