// Keeps one HTTP/1.1 keep-alive connection busy (a request every intervalMs)
// and prints, as JSON, how it ended and when: the session-cut technique
// shows as a TLS session that dies at a fixed age while a plain one lives.
// usage: node --import tsx lab/tools/session.ts tls|plain <ip> <port> <host> <intervalMs> <horizonMs>
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const [kind, ip, portArg, host, intervalArg, horizonArg] = process.argv.slice(2);
const port = Number(portArg);
const intervalMs = Number(intervalArg);
const horizonMs = Number(horizonArg);
if ((kind !== 'tls' && kind !== 'plain') || !ip || !host || !(port > 0) || !(intervalMs > 0) || !(horizonMs > 0)) {
  process.stderr.write('usage: session.ts tls|plain <ip> <port> <host> <intervalMs> <horizonMs>\n');
  process.exit(2);
}

const started = performance.now();
let bytes = 0;
let requests = 0;
let done = false;
const sock: Socket =
  kind === 'tls' ? tlsConnect({ host: ip, port, servername: host }) : netConnect({ host: ip, port });

function finish(end: string, error?: string): void {
  if (done) return;
  done = true;
  const age = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ kind, end, died_after_s: end === 'horizon' ? null : Number(age.toFixed(2)), error: error ?? null, bytes, requests })}\n`);
  sock.destroy();
  process.exit(0);
}

const request = () => {
  requests++;
  sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
};
sock.once(kind === 'tls' ? 'secureConnect' : 'connect', () => {
  request();
  const timer = setInterval(request, intervalMs);
  sock.once('close', () => clearInterval(timer));
});
sock.on('data', (chunk: Buffer) => {
  bytes += chunk.length;
});
sock.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNRESET' ? 'reset' : 'error', err.code ?? err.message));
sock.on('end', () => finish('eof'));
setTimeout(() => finish('horizon'), horizonMs);
