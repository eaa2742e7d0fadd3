// Loopback HTTP(S) servers written on raw sockets, so that they can do what
// a real server library would refuse to: inject a blockpage, reset after the
// request, send endless headers or bodies, drip one byte a minute.
import { createServer as createNetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Pem } from '../certs.js';
import { trackServer, type TestServer } from './tcp.js';

export interface RawRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
}

export type RequestHandler = (req: RawRequest, socket: Socket) => void;

/** Iran's injected blockpage (../shared/FACTS.md, OONI fingerprints ooni.ir_0..3). */
export const IRAN_BLOCKPAGE_BODY =
  '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256"></head>' +
  '<body><iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy" style="width: 100%; height: 100%" scrolling="no" marginwidth="0" marginheight="0" frameborder="0" vspace="0" hspace="0"></iframe></body></html>';

function parseHead(head: string): RawRequest | null {
  const [requestLine, ...lines] = head.split('\r\n');
  const m = requestLine?.match(/^(\S+) (\S+) HTTP\/1\.[01]$/);
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { method: m[1]!, path: m[2]!, headers };
}

function onEachRequest(handler: RequestHandler) {
  return (socket: Socket) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > 65536) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.resume();
      const req = parseHead(buffered.slice(0, end));
      if (!req) {
        socket.destroy();
        return;
      }
      handler(req, socket);
    };
    socket.on('data', onData);
  };
}

/** A plain HTTP server calling `handler` once per connection with the parsed request head. */
export function rawHttpServer(handler: RequestHandler): Promise<TestServer> {
  return trackServer(createNetServer({ noDelay: true }, onEachRequest(handler)));
}

/** The same over TLS, with the given certificate. */
export function rawHttpsServer(pem: Pem, handler: RequestHandler): Promise<TestServer> {
  const server = createTlsServer({ key: pem.key, cert: pem.cert, ALPNProtocols: ['http/1.1'] }, onEachRequest(handler));
  server.on('tlsClientError', () => {});
  return trackServer(server);
}

/** Writes a complete response and closes the connection. */
export function respond(socket: Socket, status: number, headers: Record<string, string>, body: string | Buffer = ''): void {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Status'}`, `Content-Length: ${payload.length}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]));
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 301: 'Moved Permanently', 302: 'Found', 403: 'Forbidden', 404: 'Not Found' };

/** Writes `chunk` over and over, respecting backpressure, until the socket closes or `total` bytes went out. */
export function pump(socket: Socket, chunk: Buffer, total = Infinity): void {
  let sent = 0;
  const write = () => {
    while (!socket.destroyed && sent < total) {
      const piece = total - sent < chunk.length ? chunk.subarray(0, total - sent) : chunk;
      sent += piece.length;
      if (!socket.write(piece)) {
        socket.once('drain', write);
        return;
      }
    }
    if (sent >= total) socket.end();
  };
  write();
}

/** Sends `text` one byte every `intervalMs`, until it is all out or the socket closes. */
export function drip(socket: Socket, text: string, intervalMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[i++]!);
  }, intervalMs);
  socket.once('close', () => clearInterval(timer));
  if (text.length > 0) socket.write(text[i++]!);
}
