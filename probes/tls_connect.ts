// A TLS handshake over a connected socket, bounded by a deadline and a
// signal, that reads the peer's certificate only at the detail its caller
// needs.
import type { Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { DeadlineError } from './failure.js';

/**
 * How much of the peer's certificate a handshake's reader needs. Node's own
 * identity check (in tls.connect, once the chain verified) asks for the
 * detailed chain, which costs about 0.2 to 0.6 ms against 0.02 to 0.04 ms for
 * the leaf (Node copies every certificate of the chain and looks the last
 * issuer up in the trust store), and reads only the leaf's names:
 * - 'chain': the detailed chain is computed once and kept for the reader
 *   (the tls probe records it);
 * - 'leaf': the identity check is given the leaf alone, which is all it
 *   reads (the HTTP fetch, the innocuous-SNI handshake).
 */
export type PeerCertificateNeed = 'chain' | 'leaf';

/** What the handshake's identity check computed of the peer's certificate, for the reader to reuse. */
export interface HandshakePeerCertificate {
  cert: PeerCertificate | DetailedPeerCertificate;
  detailed: boolean;
}

const handshakeCertificates = new WeakMap<TLSSocket, HandshakePeerCertificate>();

/** The peer certificate Node's identity check asked for during `socket`'s handshake, or null when it did not ask (the chain did not verify). */
export function handshakePeerCertificate(socket: TLSSocket): HandshakePeerCertificate | null {
  return handshakeCertificates.get(socket) ?? null;
}

// During the handshake only: Node calls this.getPeerCertificate(true) for its
// identity check; answer at the detail the reader needs, and remember it.
function sharePeerCertificate(socket: TLSSocket, need: PeerCertificateNeed): void {
  const own = socket as TLSSocket & { getPeerCertificate: TLSSocket['getPeerCertificate'] };
  own.getPeerCertificate = ((detailed?: boolean) => {
    const asked = detailed === true && need === 'chain';
    const kept = handshakeCertificates.get(socket);
    if (kept && kept.detailed === asked) return kept.cert;
    const cert = TLSSocket.prototype.getPeerCertificate.call(socket, asked);
    handshakeCertificates.set(socket, { cert, detailed: asked });
    return cert;
  }) as TLSSocket['getPeerCertificate'];
}

/**
 * A TLS handshake over an already connected socket, bounded by `timeoutMs`
 * and `signal`. Resolves with the TLS socket once secure; on any failure
 * both sockets are destroyed and the error is rethrown. With
 * rejectUnauthorized false, judge the certificate afterwards
 * (handshakePeerCertificate gives what the handshake already read of it).
 */
export function tlsHandshake(
  tcp: Socket,
  options: Omit<ConnectionOptions, 'socket'>,
  signal: AbortSignal,
  timeoutMs: number,
  peerCertificate: PeerCertificateNeed = 'chain',
): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    if (signal.aborted) {
      tcp.destroy();
      reject(signal.reason);
      return;
    }
    const socket = tlsConnect({ ...options, socket: tcp });
    sharePeerCertificate(socket, peerCertificate);
    const timer = setTimeout(() => done(new DeadlineError('TLS handshake')), Math.max(0, timeoutMs));
    const onAbort = () => done(signal.reason);
    const onError = (err: Error) => done(err);
    const onSecure = () => done(null);
    // A peer that closes without a word: Node reports it as ECONNRESET
    // without a syscall, which classifyError reads as eof_error.
    const onClose = () => done(Object.assign(new Error('connection closed during the TLS handshake'), { code: 'ECONNRESET' }));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('secureConnect', onSecure);
    socket.once('close', onClose);
    let settled = false;
    function done(err: unknown) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('secureConnect', onSecure);
      socket.off('close', onClose);
      // Later callers get the prototype's method, at the detail they ask for.
      delete (socket as Partial<Pick<TLSSocket, 'getPeerCertificate'>>).getPeerCertificate;
      if (err) {
        socket.on('error', () => {});
        socket.destroy();
        tcp.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    }
  });
}

