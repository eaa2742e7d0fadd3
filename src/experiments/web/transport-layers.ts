// The TCP and TLS layers of a web unit. Only the input's own port decides
// (the probe also tries the other web port), and IPv6 addresses this machine
// cannot route to are not counted against the target.
import { FAILURE } from '../../../probes/failure.js';
import type { TlsHandshakeResult } from '../../../probes/types.js';
import { endpointKey } from './control.js';
import { handshakeCompleted, hasCertProblem, isValidHandshake } from './facts.js';
import { inconclusive, judgement, noControl, summarizeFailures, type Judgement, type LayerContext } from './judgement.js';

// Failures a censor produces on an established path: an RST, a silent drop,
// a FIN, or an alert in place of the ServerHello.
export const INTERFERENCE = new Set<string>([FAILURE.connectionReset, FAILURE.timeout, FAILURE.eof, FAILURE.sslFailedHandshake]);

export function tcpLayer(ctx: LayerContext): Judgement | null {
  const { connects, otherPort, ipv6Unroutable } = ctx.facts.tcp;
  if (connects.length === 0 || connects.some((c) => c.failure === null)) return null;
  const evidence: Record<string, unknown> = {
    tcp_failures: connects.map((c) => ({ endpoint: endpointKey(c.ip, c.port), failure: c.failure, connect_ms: c.connectMs })),
    other_port: otherPort.map((c) => ({ endpoint: endpointKey(c.ip, c.port), failure: c.failure })),
  };
  if (ipv6Unroutable.length > 0) evidence.ipv6_unroutable = ipv6Unroutable;
  if (connects.every((c) => c.failure === FAILURE.interrupted)) return inconclusive('Every TCP connect was interrupted before it finished.', evidence);
  const control = ctx.control;
  if (!control) return inconclusive(`No TCP connection could be made (${summarizeFailures(connects)}) and ${noControl(ctx)}.`, evidence);
  const endpoints = connects.map((c) => endpointKey(c.ip, c.port));
  const entries = endpoints.map((e) => control.tcp(e)).filter((e) => e !== null);
  const ev = { ...evidence, control_tcp: entries };
  if (entries.some((e) => e.status)) {
    return judgement('tcp.blocked', `The control connects to ${endpoints.join(', ')} and this network cannot (${summarizeFailures(connects)}).`, ev, false);
  }
  if (entries.length > 0) return judgement('down', `Neither this network nor the control can connect to ${endpoints.join(', ')}: the site is down.`, ev, false);
  if (control.fetchFailed) {
    return judgement('down', `No TCP connection could be made here, and the control could not fetch the page either (${control.fetchFailure}).`, ev, false);
  }
  return inconclusive(`No TCP connection could be made (${summarizeFailures(connects)}), and the control did not test these addresses.`, ev);
}

function summary(h: TlsHandshakeResult) {
  return { endpoint: endpointKey(h.ip, h.port), server_name: h.server_name, failure: h.failure, cert_validation: h.cert_validation, handshake_ms: h.handshake_ms };
}

/** https inputs only; for http inputs the handshakes serve DNS consistency. */
export function tlsLayer(ctx: LayerContext): Judgement | null {
  const { input, facts, control } = ctx;
  const named = facts.tls.named;
  if (facts.tls.namedAnyPort.some(isValidHandshake)) return null;
  if (input.scheme !== 'https' || named.length === 0) return null;

  const summaries = named.map(summary);
  const innocuous = facts.tls.innocuous.map(summary);
  const evidence = { tls: summaries, innocuous_tls: innocuous };
  if (named.every((h) => h.failure === FAILURE.interrupted)) return inconclusive('Every TLS handshake was interrupted before it finished.', { tls: summaries });

  const interfered = named.filter((h) => h.failure !== null && INTERFERENCE.has(h.failure));
  if (interfered.length === named.length) {
    const innocuousOk = interfered.find((h) => facts.tls.innocuous.some((x) => x.ip === h.ip && x.port === h.port && handshakeCompleted(x)));
    if (innocuousOk) {
      const other = facts.tls.innocuous.find((x) => x.ip === innocuousOk.ip && handshakeCompleted(x));
      return judgement('tls.reset', `The TLS handshake with SNI ${input.host} fails (${innocuousOk.failure}) on ${endpointKey(innocuousOk.ip, innocuousOk.port)}, while the same address completes one with the innocuous SNI ${other?.server_name ?? ''}.`, evidence, true);
    }
    if (control) {
      const controlTls = named.map((h) => control.tls(endpointKey(h.ip, h.port))).filter((e) => e !== null);
      const ev = { ...evidence, control_tls: controlTls };
      if (controlTls.some((e) => e.status) || (controlTls.length === 0 && control.fetched)) {
        return judgement('tls.reset', `The TLS handshake with SNI ${input.host} fails here (${summarizeFailures(named)}), while the control's succeeds.`, ev, false);
      }
      if (controlTls.length > 0 || control.fetchFailed) {
        return judgement('down', `The TLS handshake fails from the control too (${controlTls.map((e) => e.failure).join(', ') || control.fetchFailure}): the site is down.`, ev, false);
      }
    }
    return inconclusive(`The TLS handshake with SNI ${input.host} fails (${summarizeFailures(named)}), and neither the innocuous SNI nor ${control ? 'the control' : 'a control'} shows the address working.`, evidence);
  }

  const certProblems = named.filter(hasCertProblem);
  if (control) {
    if (control.fetchFailed) {
      return judgement('down', `The TLS handshake fails here (${summarizeFailures(named)}) and the control cannot fetch the page either (${control.fetchFailure}).`, evidence, false);
    }
    if (certProblems.length > 0) {
      return inconclusive(`The certificate for ${input.host} does not validate here (${summarizeFailures(certProblems)}) while the control fetches the page: possible interception, which no verdict of rasad names.`, evidence);
    }
  }
  return inconclusive(`The TLS handshake with SNI ${input.host} fails (${summarizeFailures(named)}) in a way that does not tell censorship from a broken site.`, evidence);
}
