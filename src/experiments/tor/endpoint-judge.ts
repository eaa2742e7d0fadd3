// The verdict of one circumvention endpoint (tor, obfs4, OpenVPN, WireGuard),
// from the record endpoint_io.ts defines. Shared by the tor, openvpn and
// wireguard experiments. Pure.
//
//   the handshake was answered                              ok (http.blockpage: an HTML page on a Tor directory port)
//   TCP to the endpoint refused / an ICMP port unreachable   down: nothing listens there
//   TCP to the endpoint fails, TCP 443 of the host answers  tcp.blocked
//   TLS to the OR port reset or silent after TCP connected  tls.reset
//   the handshake gets no answer or is reset, while TCP (and TLS) to the same endpoint passed, or (UDP)
//   TCP 443 of the same host answers                        protocol.blocked, the protocol in the evidence
//   anything else (nothing answers at all, another server answered, WireGuard without a known-peer key)
//                                                           inconclusive
import type { EndpointDetails, EndpointProtocol } from '../../../probes/endpoint_io.js';
import type { ProbeResult } from '../../../probes/types.js';
import type { Verdict, VerdictResult } from '../../model.js';

/** A circumvention protocol's handshake gets no answer while plain TCP/TLS to the same endpoint passes. */
export const PROTOCOL_BLOCKED: Verdict = 'protocol.blocked';

export const PROTOCOL_NAMES: Record<EndpointProtocol, string> = {
  tor: 'the Tor link handshake (VERSIONS cell)',
  tor_dir: 'the Tor directory request',
  obfs4: 'the obfs4 handshake',
  openvpn: 'the OpenVPN hard reset',
  wireguard: 'the WireGuard handshake initiation',
};

const SILENT_OR_CUT = new Set(['generic_timeout_error', 'connection_reset', 'eof_error']);

export function judgeEndpoint(result: ProbeResult<EndpointDetails> | undefined): VerdictResult {
  const d = result?.details;
  if (!d || typeof d !== 'object' || typeof d.protocol !== 'string') {
    return { verdict: 'inconclusive', verdict_reason: 'No circumvention probe record was kept for this input.', evidence: { failure: result?.failure ?? null } };
  }
  const name = PROTOCOL_NAMES[d.protocol] ?? d.protocol;
  const where = d.ip === null ? d.endpoint : `${d.transport.toUpperCase()} port ${d.port}`;
  const evidence: Record<string, unknown> = {
    protocol: d.protocol,
    endpoint: d.endpoint,
    transport: d.transport,
    connect: d.connect,
    tls: d.tls,
    handshake: d.handshake,
    response: d.response,
    comparison: d.comparison,
    ...(d.known_peer !== undefined ? { known_peer: d.known_peer } : {}),
  };
  const result_ = (verdict: Verdict, verdict_reason: string): VerdictResult => ({ verdict, verdict_reason, evidence });
  const comparison = d.comparison;
  const hostAnswers = !!comparison && (comparison.tcp.failure === null || comparison.tcp.failure === 'connection_refused');
  const hostWords = comparison ? `TCP ${comparison.port} of the same host ${comparison.tcp.failure === null ? 'connects' : 'answers with a refusal'}` : '';

  if (d.ip === null) return result_('inconclusive', `The endpoint's name could not be resolved (${result?.failure ?? 'no address'}).`);
  const h = d.handshake;
  if (h?.answered) {
    if (d.protocol === 'tor_dir' && d.response?.looks_like === 'html') return result_('http.blockpage', `The Tor directory port answered with an HTML page (status ${String(d.response.status_code)}); Tor's directory never serves HTML.`);
    if (d.response?.fingerprint_matches === false) return result_('inconclusive', `A Tor relay answered on ${where}, but its identity is not the configured fingerprint: another relay, or one that changed its keys.`);
    const ms = h.response_ms !== null ? ` in ${Math.round(h.response_ms)} ms` : '';
    return result_('ok', `${capital(name)} on ${where} was answered${ms}.`);
  }
  if (d.connect && d.connect.failure !== null) {
    if (d.connect.failure === 'connection_refused') return result_('down', `Nothing listens on ${where}: the connection was refused.`);
    if (hostAnswers) return result_('tcp.blocked', `The TCP connection to ${where} failed (${d.connect.failure}) while ${hostWords}.`);
    return result_('inconclusive', `Neither ${where} nor ${comparison ? `TCP ${comparison.port}` : 'another port'} of the host answered: the endpoint is down or its address is blocked; this probe alone cannot tell which.`);
  }
  if (d.tls && d.tls.failure !== null) {
    if (SILENT_OR_CUT.has(d.tls.failure)) return result_('tls.reset', `The TLS handshake with ${where} failed (${d.tls.failure}) after TCP to it connected.`);
    return result_('inconclusive', `The TLS handshake with ${where} failed (${d.tls.failure}); that is no Tor relay's TLS.`);
  }
  if (!h || !h.sent) return result_('inconclusive', `${capital(name)} could not be sent (${result?.failure ?? 'no record'}).`);
  if (h.failure === 'connection_refused') return result_('down', `Nothing listens on ${where}: the host answered with a port unreachable.`);
  if (d.protocol === 'wireguard' && !d.known_peer) {
    return result_('inconclusive', `${capital(name)} on ${where} got no answer, but a WireGuard server answers only peers it knows: silence means blocking only with a known-peer key (clientkey=).`);
  }
  if (h.unexpected_reply) return result_('inconclusive', `${capital(name)} on ${where} got an answer that is not the protocol's: another server listens there, or something on the path answered.`);
  if (d.protocol === 'tor_dir' && (h.failure === 'connection_reset' || h.failure === 'eof_error')) {
    return result_('http.reset', `The Tor directory request on ${where} was cut (${h.failure}) after TCP to it connected.`);
  }
  const failure = h.failure ?? 'no answer';
  if (d.transport === 'tcp') {
    const passed = d.tls ? 'TCP and TLS to the same endpoint passed' : 'TCP to the same endpoint connected';
    return result_(PROTOCOL_BLOCKED, `${capital(name)} on ${where} got no answer (${failure}) while ${passed}.`);
  }
  if (hostAnswers) return result_(PROTOCOL_BLOCKED, `${capital(name)} on ${where} got no answer (${failure}) while ${hostWords}.`);
  return result_('inconclusive', `${capital(name)} on ${where} got no answer (${failure}), and TCP ${comparison?.port ?? 443} of the host did not answer either: the host is down or its address is blocked; this probe alone cannot tell which.`);
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
