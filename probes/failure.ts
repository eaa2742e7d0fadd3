// Maps the errors that Node, undici and OpenSSL raise to OONI failure strings
// (ooni/spec df-007-errors; modelled on probe-cli internal/netxlite's
// classifier). Anything not recognised becomes `unknown_failure: <message>`
// with every IP address scrubbed: a failure string is exported to
// researchers and must not carry the volunteer's or anyone's address.
import { isIPv4, isIPv6 } from 'node:net';

/** OONI's operation names (df-007-errors). */
export type Operation = 'resolve' | 'connect' | 'tls_handshake' | 'http_round_trip' | 'read' | 'write';

/**
 * An OONI failure string: `connection_reset`, `generic_timeout_error`,
 * `dns_nxdomain_error`, ..., or `unknown_failure: <message, IPs scrubbed>`.
 * null means success.
 */
export type Failure = string | null;

/** The OONI failure strings this module produces. */
export const FAILURE = {
  connectionReset: 'connection_reset',
  connectionRefused: 'connection_refused',
  connectionAborted: 'connection_aborted',
  timeout: 'generic_timeout_error',
  interrupted: 'interrupted',
  eof: 'eof_error',
  dnsNxdomain: 'dns_nxdomain_error',
  dnsNoAnswer: 'dns_no_answer',
  dnsServfail: 'dns_servfail_error',
  dnsRefused: 'dns_refused_error',
  /** getaddrinfo's EAI_AGAIN: the system resolver could not get an answer (timeout or SERVFAIL, it cannot say which). */
  dnsTemporary: 'dns_temporary_failure',
  sslInvalidHostname: 'ssl_invalid_hostname',
  sslUnknownAuthority: 'ssl_unknown_authority',
  sslInvalidCertificate: 'ssl_invalid_certificate',
  sslFailedHandshake: 'ssl_failed_handshake',
  hostUnreachable: 'host_unreachable',
  networkUnreachable: 'network_unreachable',
} as const;

export const UNKNOWN_FAILURE_PREFIX = 'unknown_failure: ';

/** Our own per-phase deadline fired. Classified as generic_timeout_error. */
export class DeadlineError extends Error {
  override name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(what = 'deadline') {
    super(`${what} timed out`);
  }
}

// OpenSSL verification codes (X509_V_ERR_* as Node names them) that mean
// "I do not know who signed this".
const UNKNOWN_AUTHORITY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

// Verification codes about the certificate itself (dates, signature,
// purpose, chain shape): the authority may be known, the certificate is bad.
const INVALID_CERTIFICATE_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CRL_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'CERT_CHAIN_TOO_LONG',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'UNABLE_TO_GET_CRL',
  'HOSTNAME_MISMATCH',
]);

/**
 * The failure string for a certificate verification code (tls
 * `authorizationError`, or the `code` of a rejected handshake), or null when
 * the code is not a certificate verdict.
 */
export function classifyCertificateCode(code: string): string | null {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') return FAILURE.sslInvalidHostname;
  if (UNKNOWN_AUTHORITY_CODES.has(code)) return FAILURE.sslUnknownAuthority;
  if (INVALID_CERTIFICATE_CODES.has(code)) return FAILURE.sslInvalidCertificate;
  return null;
}

// errno-style codes, from net/tls (libuv), c-ares (dns.Resolver) and
// getaddrinfo (dns.lookup).
const CODE_TO_FAILURE: Record<string, string> = {
  ECONNRESET: FAILURE.connectionReset,
  EPIPE: FAILURE.connectionReset,
  ECONNREFUSED: FAILURE.connectionRefused,
  ECONNABORTED: FAILURE.connectionAborted,
  ETIMEDOUT: FAILURE.timeout,
  ETIMEOUT: FAILURE.timeout, // c-ares
  EHOSTUNREACH: FAILURE.hostUnreachable,
  EHOSTDOWN: FAILURE.hostUnreachable,
  ENETUNREACH: FAILURE.networkUnreachable,
  ENETDOWN: FAILURE.networkUnreachable,
  ENOTFOUND: FAILURE.dnsNxdomain, // getaddrinfo EAI_NONAME/EAI_NODATA (Node folds both), c-ares NXDOMAIN
  ENODATA: FAILURE.dnsNoAnswer, // c-ares: the name exists, no record of that type
  ESERVFAIL: FAILURE.dnsServfail,
  EREFUSED: FAILURE.dnsRefused,
  EAI_AGAIN: FAILURE.dnsTemporary,
  // undici (lib/core/errors.js)
  UND_ERR_CONNECT_TIMEOUT: FAILURE.timeout,
  UND_ERR_HEADERS_TIMEOUT: FAILURE.timeout,
  UND_ERR_BODY_TIMEOUT: FAILURE.timeout,
  UND_ERR_SOCKET: FAILURE.eof, // "other side closed" / "closed": the peer ended the stream early
  UND_ERR_ABORTED: FAILURE.interrupted,
  UND_ERR_ABORT: FAILURE.interrupted,
  UND_ERR_DESTROYED: FAILURE.interrupted,
  UND_ERR_CLOSED: FAILURE.interrupted,
  ABORT_ERR: FAILURE.interrupted,
  ERR_TLS_HANDSHAKE_TIMEOUT: FAILURE.timeout,
  ERR_SOCKET_CONNECTION_TIMEOUT: FAILURE.timeout,
  ERR_STREAM_PREMATURE_CLOSE: FAILURE.eof,
};

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
  library?: unknown;
  reason?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function asErrorLike(err: unknown): ErrorLike | null {
  return typeof err === 'object' && err !== null ? (err as ErrorLike) : null;
}

function messageOf(err: unknown): string {
  const e = asErrorLike(err);
  if (e && typeof e.message === 'string' && e.message !== '') return e.message;
  if (e && typeof e.code === 'string') return e.code;
  try {
    return String(err);
  } catch {
    return 'unprintable error';
  }
}

/** Returns the failure string for one error object, or null to look further (cause, inner errors). */
function classifyOne(e: ErrorLike): string | null {
  const code = typeof e.code === 'string' ? e.code : '';
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';

  // AbortSignal.timeout() and our own DeadlineError: a deadline, not a cancel.
  if (name === 'TimeoutError') return FAILURE.timeout;
  if (name === 'AbortError' && code !== 'UND_ERR_ABORTED') {
    return e.cause !== undefined ? (classifyErrorOrNull(e.cause) ?? FAILURE.interrupted) : FAILURE.interrupted;
  }

  if (code === 'ECONNRESET' && e.syscall === undefined) {
    // Node raises ECONNRESET without a syscall when the peer closed cleanly
    // at a bad moment ("socket hang up", "Client network socket disconnected
    // before secure TLS connection was established"): that is an EOF, a real
    // RST always comes with syscall read/write.
    return FAILURE.eof;
  }

  const cert = code ? classifyCertificateCode(code) : null;
  if (cert) return cert;

  if (code.startsWith('ERR_SSL_')) {
    // OpenSSL 3 reports a peer that closed mid-handshake as an unexpected EOF.
    if (code.includes('UNEXPECTED_EOF')) return FAILURE.eof;
    return FAILURE.sslFailedHandshake;
  }
  if (e.library === 'SSL routines' || (code === 'EPROTO' && /SSL|TLS/i.test(message))) {
    return /unexpected eof/i.test(message) ? FAILURE.eof : FAILURE.sslFailedHandshake;
  }

  if (code && CODE_TO_FAILURE[code] !== undefined) return CODE_TO_FAILURE[code]!;
  // Anything else (llhttp HPE_* parse errors, headers overflow, ...) becomes unknown_failure with its message.
  return null;
}

function classifyErrorOrNull(err: unknown, depth = 0): string | null {
  const e = asErrorLike(err);
  if (!e || depth > 5) return null;
  const direct = classifyOne(e);
  if (direct) return direct;
  // fetch() wraps the real error in TypeError("fetch failed", { cause }).
  if (e.cause !== undefined && e.cause !== err) {
    const fromCause = classifyErrorOrNull(e.cause, depth + 1);
    if (fromCause) return fromCause;
  }
  // Happy Eyeballs (net autoSelectFamily) throws an AggregateError of each attempt.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const fromInner = classifyErrorOrNull(inner, depth + 1);
      if (fromInner) return fromInner;
    }
  }
  return null;
}

/** Maps any thrown value to an OONI failure string. Never throws. */
export function classifyError(err: unknown): string {
  try {
    return classifyErrorOrNull(err) ?? unknownFailure(messageOf(err));
  } catch {
    return unknownFailure('unclassifiable error');
  }
}

/** `unknown_failure: <message>`, with IPs scrubbed and the message kept to one short line. */
export function unknownFailure(message: string): string {
  const oneLine = scrubIps(message).replace(/\s+/g, ' ').trim().slice(0, 200);
  return UNKNOWN_FAILURE_PREFIX + (oneLine || 'no message');
}

/**
 * The failure to record when an AbortSignal stopped us: a deadline
 * (AbortSignal.timeout, or a reason named TimeoutError) is
 * generic_timeout_error, anything else is `interrupted` (as OONI records a
 * cancelled context).
 */
export function abortFailure(signal: AbortSignal): string {
  const reason = asErrorLike(signal.reason);
  if (reason && (reason.name === 'TimeoutError' || reason.code === 'ETIMEDOUT')) return FAILURE.timeout;
  return FAILURE.interrupted;
}

const SCRUBBED = '[scrubbed]';
// Runs of characters an address can be made of, with at least one separator.
const CANDIDATE = /[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*/g;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![0-9])${OCTET}(?:\\.${OCTET}){3}(?![0-9])`, 'g');

function scrubIpv6Prefix(run: string): string | null {
  // Node prints "ECONNREFUSED ::1:443" (no brackets): try the run as a
  // whole, then without trailing punctuation, then without a ":port" tail.
  const trimmed = run.replace(/[.:]+$/, '');
  const variants = [run, trimmed, trimmed.replace(/:\d{1,5}$/, '')];
  for (const v of variants) {
    if (v.split(':').length >= 3 && isIPv6(v)) return SCRUBBED + run.slice(v.length);
  }
  return null;
}

/** Replaces every IPv4 and IPv6 address in `text` with `[scrubbed]`. */
export function scrubIps(text: string): string {
  return text.replace(CANDIDATE, (run) => {
    if (run.includes(':')) {
      const v6 = scrubIpv6Prefix(run);
      if (v6 !== null) return v6;
    }
    return run.replace(IPV4, (ip) => (isIPv4(ip) ? SCRUBBED : ip));
  });
}
