// Sends a few separate packets on one TCP flow to the echo endpoint, waiting
// for each one's echo, and prints which came back (JSON). A protocol filter
// that drops the client's later packets shows as echoes that stop.
// usage: node --import tsx lab/tools/echo-flow.ts <ip> <port> junk|http|tls [packets=4] [waitMs=600]
import { connect } from 'node:net';

const [ip, portArg, mode, packetsArg, waitArg] = process.argv.slice(2);
const port = Number(portArg);
const packets = Number(packetsArg ?? 4);
const waitMs = Number(waitArg ?? 600);
if (!ip || !(port > 0) || !['junk', 'http', 'tls'].includes(mode ?? '') || !(packets > 0)) {
  process.stderr.write('usage: echo-flow.ts <ip> <port> junk|http|tls [packets] [waitMs]\n');
  process.exit(2);
}

/** A record that passes as a TLS ClientHello header: 0x16 0x03 0x01, lengths that match. */
function fakeClientHello(): Buffer {
  const body = Buffer.alloc(60, 0x42);
  const hs = Buffer.concat([Buffer.from([0x01, 0x00, 0x00, body.length]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, hs.length]), hs]);
}

function payload(i: number): Buffer {
  if (i === 0 && mode === 'http') return Buffer.from('GET / HTTP/1.1\r\nHost: echo.world.test\r\n\r\n');
  if (i === 0 && mode === 'tls') return fakeClientHello();
  return Buffer.from(`junk-${i}-${'x'.repeat(20)}`);
}

const sock = connect({ host: ip, port });
const echoed: boolean[] = [];
let received = Buffer.alloc(0);
sock.on('data', (c: Buffer) => {
  received = Buffer.concat([received, c]);
});
sock.on('error', (err) => {
  process.stdout.write(`${JSON.stringify({ echoed, error: err.message })}\n`);
  process.exit(0);
});
sock.once('connect', async () => {
  let expected = 0;
  for (let i = 0; i < packets; i++) {
    const p = payload(i);
    expected += p.length;
    sock.write(p);
    const deadline = Date.now() + waitMs;
    while (received.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    echoed.push(received.length >= expected);
    // Keep later packets separate on the wire even when an echo never came.
    if (received.length < expected) expected = received.length;
  }
  process.stdout.write(`${JSON.stringify({ echoed })}\n`);
  sock.destroy();
  process.exit(0);
});
