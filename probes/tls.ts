// The TLS probe: a handshake to each address with SNI = the host, and one
// with an innocuous SNI to the same IP. When the real SNI is reset or times
// out while the innocuous one completes, the censor reads the SNI (OONI's
// sni_blocking and webconnectivity TLS steps). The certificate is judged
// after the handshake, so a handshake with a bad certificate is still on
// the record with its version, ALPN and the certificate it showed.
//
// For an http:// input the probe checks DNS consistency, as OONI's current
// Web Connectivity does: one handshake on 443 with SNI = the host to each
// address, recorded with purpose 'dns_consistency'. A certificate for the
// name that validates on an address shows the address serves the name.
import type { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { FAILURE, classifyCertificateCode } from './failure.js';
import { connectTcp, elapsedMs, failureOf, handshakePeerCertificate, now, parseProbeUrl, ProbeClock, tlsHandshake, trustOptions, warmSharedTrust } from './net.js';
import { addressesFor, ipv6Availability, isNoRouteV6 } from './tcp.js';
import type { CertValidation, Failure, Probe, ProbeInput, ProbeOptions, ProbeResult, TlsDetails, TlsHandshakeResult } from './types.js';

export const ALPN_OFFER = ['h2', 'http/1.1'];
/** The port of the DNS-consistency handshakes for an http:// input. */
export const CONSISTENCY_PORT = 443;

type PeerSummary = NonNullable<TlsHandshakeResult['peer_certificate']>;

/** At most this many certificates of a peer's chain are kept (leaf first). */
export const PEER_CHAIN_MAX_CERTS = 4;
/** A certificate larger than this (DER bytes) ends the kept chain: no real one is, and the store stays small. */
export const PEER_CERT_MAX_BYTES = 8 * 1024;

/**
 * The chain as the peer sent it, leaf first, base64 DER, capped; [] when
 * there is none. Read from getPeerX509Certificate(), which holds what the
 * peer sent: getPeerCertificate(true) also appends the issuer it finds in
 * the local trust store, a certificate that never crossed the network (and
 * costs ten times as much to read).
 */
export function peerChain(socket: TLSSocket): string[] {
  const chain: string[] = [];
  let cert: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (cert && chain.length < PEER_CHAIN_MAX_CERTS) {
    const der = cert.raw;
    if (der.length > PEER_CERT_MAX_BYTES) break;
    const text = der.toString('base64');
    // A self-signed root is its own issuer: the walk stops at a repeat.
    if (chain.includes(text)) break;
    chain.push(text);
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** The negotiated cipher suite's IANA name (OpenSSL's name when Node knows no other), or null. */
export function cipherSuite(socket: TLSSocket): string | null {
  const cipher = socket.getCipher() as { name?: string; standardName?: string } | null;
  return cipher?.standardName || cipher?.name || null;
}

function firstString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return null;
}

/** Subject CN, SANs, issuer CN and expiry of the leaf, for the record. */
export function summarisePeer(cert: PeerCertificate | DetailedPeerCertificate | null | undefined): PeerSummary | null {
  if (!cert || Object.keys(cert).length === 0) return null;
  const san = typeof cert.subjectaltname === 'string' ? cert.subjectaltname.split(/,\s*/).filter((s) => s !== '') : [];
  let notAfter: string | null = null;
  const parsed = cert.valid_to ? new Date(cert.valid_to) : null;
  if (parsed && !Number.isNaN(parsed.getTime())) notAfter = parsed.toISOString();
  return { subject_cn: firstString(cert.subject?.CN), san, issuer_cn: firstString(cert.issuer?.CN), not_after: notAfter };
}

/** cert_validation and the failure a validating client would see, from the handshake's outcome. */
export function judgeCertificate(socket: TLSSocket, serverName: string, peer: PeerCertificate = socket.getPeerCertificate()): { validation: CertValidation; failure: Failure } {
  const authError = socket.authorizationError as unknown;
  const code = authError instanceof Error ? ((authError as { code?: string }).code ?? authError.message) : typeof authError === 'string' ? authError : null;
  if (!socket.authorized && code) return fromCode(code);
  // Node checks the name only when the chain verified; do it ourselves so
  // the judgement does not depend on that detail.
  const identityError = checkServerIdentity(serverName, peer);
  if (identityError) return { validation: 'wrong_host', failure: FAILURE.sslInvalidHostname };
  return { validation: 'valid', failure: null };
}

function fromCode(code: string): { validation: CertValidation; failure: Failure } {
  const failure = classifyCertificateCode(code) ?? FAILURE.sslInvalidCertificate;
  if (failure === FAILURE.sslInvalidHostname) return { validation: 'wrong_host', failure };
  if (failure === FAILURE.sslUnknownAuthority) return { validation: 'unknown_authority', failure };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { validation: 'expired', failure };
  return { validation: 'invalid', failure };
}

async function measureHandshake(
  ip: string,
  port: number,
  serverName: string,
  innocuous: boolean,
  clock: ProbeClock,
  options: ProbeOptions,
  signal: AbortSignal,
  purpose: TlsHandshakeResult['purpose'],
  keepChain = !innocuous,
): Promise<{ record: TlsHandshakeResult; operation: 'connect' | 'tls_handshake' }> {
  const record: TlsHandshakeResult = {
    ip,
    port,
    server_name: serverName,
    innocuous,
    t0: clock.seconds(),
    t: 0,
    failure: null,
    cert_validation: null,
    tls_version: null,
    alpn: null,
    handshake_ms: null,
    peer_certificate: null,
    ...(purpose ? { purpose } : {}),
  };
  let tcp: Socket;
  const connectStart = now();
  try {
    tcp = await connectTcp(ip, port, signal, options.timeoutMs);
  } catch (err) {
    record.t = clock.seconds();
    record.failure = failureOf(err, signal);
    record.connect_ms = null;
    return { record, operation: 'connect' };
  }
  record.connect_ms = elapsedMs(connectStart);
  const started = now();
  try {
    const trust = trustOptions(options.extraCaPem, 'tls');
    const socket = await tlsHandshake(tcp, { servername: serverName, ALPNProtocols: ALPN_OFFER, rejectUnauthorized: false, ...trust }, signal, options.timeoutMs);
    record.handshake_ms = elapsedMs(started);
    record.tls_version = socket.getProtocol() ?? null;
    record.alpn = typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null;
    // The leaf Node's name check read during the handshake (when the chain
    // verified) is reused. The chain is kept for the real-SNI handshake only:
    // the innocuous one's is the same server's.
    const peer = handshakePeerCertificate(socket) ?? socket.getPeerCertificate(false);
    record.peer_certificate = summarisePeer(peer);
    record.cipher_suite = cipherSuite(socket);
    if (keepChain) record.peer_certificates = peerChain(socket);
    const judged = judgeCertificate(socket, serverName, peer);
    record.cert_validation = judged.validation;
    record.failure = judged.failure;
    socket.on('error', () => {});
    socket.destroy();
  } catch (err) {
    record.failure = failureOf(err, signal);
  } finally {
    tcp.destroy();
  }
  record.t = clock.seconds();
  return { record, operation: 'tls_handshake' };
}

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<TlsDetails>> {
  const target = parseProbeUrl(input.url);
  const clock = new ProbeClock();
  const options = input.options;
  const details: TlsDetails = { handshakes: [] };
  const envelope = clock.envelope<TlsDetails>('tls');
  const result = (failure: Failure, operation: 'resolve' | 'connect' | 'tls_handshake' | null) => envelope(details, failure, operation);

  // An http:// input: DNS consistency only; an IP has no name to check.
  const consistency = target.scheme === 'http';
  if (consistency) details.purpose = 'dns_consistency';
  if (consistency && target.hostIsIp) return result(null, null);

  const { addresses, failure: resolveFailure } = await addressesFor(input, target.host, signal);
  if (addresses.length === 0) return result(resolveFailure ?? FAILURE.dnsNoAnswer, 'resolve');

  // An IP has no name to send: only the innocuous SNI is tried. A
  // consistency check needs the name only.
  const names: { name: string; innocuous: boolean }[] = consistency
    ? [{ name: target.host, innocuous: false }]
    : target.hostIsIp
      ? [{ name: options.innocuousSni, innocuous: true }]
      : [
          { name: target.host, innocuous: false },
          { name: options.innocuousSni, innocuous: true },
        ];
  const port = consistency ? CONSISTENCY_PORT : target.port;
  const purpose = consistency ? ('dns_consistency' as const) : undefined;
  // Addresses in parallel; for one address the innocuous handshake first, so
  // that a censor's residual block (triggered by the real SNI) cannot spoil
  // the comparison.
  const perAddress = await Promise.all(
    addresses.map(async (ip) => {
      const done: { record: TlsHandshakeResult; operation: 'connect' | 'tls_handshake' }[] = [];
      for (const { name, innocuous } of [...names].reverse()) {
        done.push(await measureHandshake(ip, port, name, innocuous, clock, options, signal, purpose));
      }
      return done;
    }),
  );
  const measured = perAddress.flat();
  details.handshakes = measured.map((m) => m.record);
  // The same chain from several addresses of one site is kept once (the first), to keep the record small.
  const chainsSeen = new Set<string>();
  for (const h of details.handshakes) {
    const leaf = h.peer_certificates?.[0];
    if (leaf === undefined) continue;
    if (chainsSeen.has(leaf)) h.peer_certificates = [];
    chainsSeen.add(leaf);
  }
  const ipv6 = ipv6Availability(details.handshakes);
  if (ipv6 !== undefined) details.ipv6_available = ipv6;

  // A consistency check is evidence for the DNS judgement, not a TLS outcome.
  if (consistency) return result(null, null);
  // The first real-SNI handshake decides (the innocuous one with an IP host),
  // skipping IPv6 addresses this probe has no route to.
  const telling = measured.filter((m) => !isNoRouteV6(m.record, ipv6));
  const decisive = telling.find((m) => !m.record.innocuous) ?? telling[0] ?? measured.find((m) => !m.record.innocuous) ?? measured[0];
  return result(decisive?.record.failure ?? null, decisive?.operation ?? 'tls_handshake');
}

/**
 * The real-SNI handshake alone to each address, without the chain: what the
 * control helper answers (server_name and failure per endpoint). The tls
 * probe's innocuous handshake and the chain would be thrown away there.
 */
export async function realSniHandshakes(addresses: string[], port: number, serverName: string, options: ProbeOptions, signal: AbortSignal): Promise<TlsHandshakeResult[]> {
  const clock = new ProbeClock();
  return Promise.all(addresses.map(async (ip) => (await measureHandshake(ip, port, serverName, false, clock, options, signal, undefined, false)).record));
}

export const tlsProbe: Probe<TlsDetails> = { kind: 'tls', run, warm: warmSharedTrust('tls') };
