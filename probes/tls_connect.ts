// A TLS handshake over a connected socket, bounded by a deadline and a
// signal, whose identity check reads only the peer's leaf certificate.
import type { Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { DeadlineError } from './failure.js';

// Node's identity check (in tls.connect, once the chain verified) asks for
// the *detailed* chain, getPeerCertificate(true): about 0.2 to 0.6 ms
// against 0.02 to 0.04 ms for the leaf (Node copies every certificate and
// looks the last issuer up in the trust store), and reads only the leaf's
// names. During the handshake the socket answers it with the leaf, and
// keeps it for the caller. A caller that records the chain reads it as the
// peer sent it from getPeerX509Certificate() (probes/tls.ts peerChain).
const handshakeCertificates = new WeakMap<TLSSocket, PeerCertificate>();

/** The leaf Node's identity check read during `socket`'s handshake, or null when it did not ask (the chain did not verify). */
export function handshakePeerCertificate(socket: TLSSocket): PeerCertificate | null {
  return handshakeCertificates.get(socket) ?? null;
}

function shareLeafCertificate(socket: TLSSocket): void {
  const own = socket as TLSSocket & { getPeerCertificate: TLSSocket['getPeerCertificate'] };
  own.getPeerCertificate = (() => {
    const kept = handshakeCertificates.get(socket);
    if (kept) return kept;
    const cert = TLSSocket.prototype.getPeerCertificate.call(socket, false);
    handshakeCertificates.set(socket, cert);
    return cert;
  }) as TLSSocket['getPeerCertificate'];
}

/**
 * A TLS handshake over an already connected socket, bounded by `timeoutMs`
 * and `signal`. Resolves with the TLS socket once secure; on any failure
 * both sockets are destroyed and the error is rethrown. With
 * rejectUnauthorized false, judge the certificate afterwards
 * (handshakePeerCertificate gives the leaf the handshake already read).
 */
export function tlsHandshake(
  tcp: Socket,
  options: Omit<ConnectionOptions, 'socket'>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    if (signal.aborted) {
      tcp.destroy();
      reject(signal.reason);
      return;
    }
    const socket = tlsConnect({ ...options, socket: tcp });
    shareLeafCertificate(socket);
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

