// A loopback "censor" in front of a real server: it reads the client's
// first packet and, if it holds a blocked name (the SNI in a ClientHello,
// the Host in an HTTP request), resets the connection; otherwise it relays
// everything both ways to the upstream port.
import { connect, type Socket } from 'node:net';
import { tcpServer, type TestServer } from './tcp.js';

export function keywordResetter(upstreamPort: number, blocked: string): Promise<TestServer> {
  const needle = Buffer.from(blocked, 'latin1');
  return tcpServer((client: Socket) => {
    client.once('data', (first: Buffer) => {
      if (first.includes(needle)) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(upstreamPort, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
}
